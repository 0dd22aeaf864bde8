from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.post_grade_entry import PostGradeEntry


T = TypeVar("T", bound="GradesDocument")


@_attrs_define
class GradesDocument:
    """
    Attributes:
        course_id (UUID):
        earned (float):
        percent (float):
        possible (int):
        posts (list[PostGradeEntry]):
        user_id (UUID):
    """

    course_id: UUID
    earned: float
    percent: float
    possible: int
    posts: list[PostGradeEntry]
    user_id: UUID
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        course_id = str(self.course_id)

        earned = self.earned

        percent = self.percent

        possible = self.possible

        posts = []
        for posts_item_data in self.posts:
            posts_item = posts_item_data.to_dict()
            posts.append(posts_item)

        user_id = str(self.user_id)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "course_id": course_id,
                "earned": earned,
                "percent": percent,
                "possible": possible,
                "posts": posts,
                "user_id": user_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.post_grade_entry import PostGradeEntry  # noqa: PLC0415

        d = dict(src_dict)
        course_id = UUID(d.pop("course_id"))

        earned = d.pop("earned")

        percent = d.pop("percent")

        possible = d.pop("possible")

        posts = []
        _posts = d.pop("posts")
        for posts_item_data in _posts:
            posts_item = PostGradeEntry.from_dict(posts_item_data)

            posts.append(posts_item)

        user_id = UUID(d.pop("user_id"))

        grades_document = cls(
            course_id=course_id,
            earned=earned,
            percent=percent,
            possible=possible,
            posts=posts,
            user_id=user_id,
        )

        grades_document.additional_properties = d
        return grades_document

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties

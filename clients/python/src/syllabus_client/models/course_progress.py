from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.enrollment_status import EnrollmentStatus

if TYPE_CHECKING:
    from ..models.module_progress import ModuleProgress


T = TypeVar("T", bound="CourseProgress")


@_attrs_define
class CourseProgress:
    """The progress document: one student in one course, in course and module order.

    Attributes:
        completed_posts (int):
        course_id (UUID):
        modules (list[ModuleProgress]):
        next_post_id (None | UUID):
        percent (float):
        status (EnrollmentStatus):
        total_posts (int):
        user_id (UUID):
    """

    completed_posts: int
    course_id: UUID
    modules: list[ModuleProgress]
    next_post_id: None | UUID
    percent: float
    status: EnrollmentStatus
    total_posts: int
    user_id: UUID
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        completed_posts = self.completed_posts

        course_id = str(self.course_id)

        modules = []
        for modules_item_data in self.modules:
            modules_item = modules_item_data.to_dict()
            modules.append(modules_item)

        next_post_id: None | str
        if isinstance(self.next_post_id, UUID):
            next_post_id = str(self.next_post_id)
        else:
            next_post_id = self.next_post_id

        percent = self.percent

        status = self.status.value

        total_posts = self.total_posts

        user_id = str(self.user_id)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "completed_posts": completed_posts,
                "course_id": course_id,
                "modules": modules,
                "next_post_id": next_post_id,
                "percent": percent,
                "status": status,
                "total_posts": total_posts,
                "user_id": user_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.module_progress import ModuleProgress  # noqa: PLC0415

        d = dict(src_dict)
        completed_posts = d.pop("completed_posts")

        course_id = UUID(d.pop("course_id"))

        modules = []
        _modules = d.pop("modules")
        for modules_item_data in _modules:
            modules_item = ModuleProgress.from_dict(modules_item_data)

            modules.append(modules_item)

        def _parse_next_post_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_post_id_type_0 = UUID(data)

                return next_post_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        next_post_id = _parse_next_post_id(d.pop("next_post_id"))

        percent = d.pop("percent")

        status = EnrollmentStatus(d.pop("status"))

        total_posts = d.pop("total_posts")

        user_id = UUID(d.pop("user_id"))

        course_progress = cls(
            completed_posts=completed_posts,
            course_id=course_id,
            modules=modules,
            next_post_id=next_post_id,
            percent=percent,
            status=status,
            total_posts=total_posts,
            user_id=user_id,
        )

        course_progress.additional_properties = d
        return course_progress

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

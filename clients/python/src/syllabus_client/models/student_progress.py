from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.enrollment_status import EnrollmentStatus

T = TypeVar("T", bound="StudentProgress")


@_attrs_define
class StudentProgress:
    """One row of a course's roster (``GET /courses/{course_id}/progress``). The names are
    identity's, kept from its events: null while the user's registration has not reached
    progress yet.

        Attributes:
            completed_posts (int):
            display_name (None | str):
            percent (float):
            status (EnrollmentStatus):
            total_posts (int):
            user_id (UUID):
            username (None | str):
    """

    completed_posts: int
    display_name: None | str
    percent: float
    status: EnrollmentStatus
    total_posts: int
    user_id: UUID
    username: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        completed_posts = self.completed_posts

        display_name: None | str
        display_name = self.display_name

        percent = self.percent

        status = self.status.value

        total_posts = self.total_posts

        user_id = str(self.user_id)

        username: None | str
        username = self.username

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "completed_posts": completed_posts,
                "display_name": display_name,
                "percent": percent,
                "status": status,
                "total_posts": total_posts,
                "user_id": user_id,
                "username": username,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        completed_posts = d.pop("completed_posts")

        def _parse_display_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        display_name = _parse_display_name(d.pop("display_name"))

        percent = d.pop("percent")

        status = EnrollmentStatus(d.pop("status"))

        total_posts = d.pop("total_posts")

        user_id = UUID(d.pop("user_id"))

        def _parse_username(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        username = _parse_username(d.pop("username"))

        student_progress = cls(
            completed_posts=completed_posts,
            display_name=display_name,
            percent=percent,
            status=status,
            total_posts=total_posts,
            user_id=user_id,
            username=username,
        )

        student_progress.additional_properties = d
        return student_progress

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

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.enrollment_status import EnrollmentStatus

T = TypeVar("T", bound="StudentProgress")


@_attrs_define
class StudentProgress:
    """One row of a course's roster (``GET /courses/{course_id}/progress``).

    Attributes:
        completed_posts (int):
        percent (float):
        status (EnrollmentStatus):
        total_posts (int):
        user_id (UUID):
    """

    completed_posts: int
    percent: float
    status: EnrollmentStatus
    total_posts: int
    user_id: UUID
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        completed_posts = self.completed_posts

        percent = self.percent

        status = self.status.value

        total_posts = self.total_posts

        user_id = str(self.user_id)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "completed_posts": completed_posts,
                "percent": percent,
                "status": status,
                "total_posts": total_posts,
                "user_id": user_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        completed_posts = d.pop("completed_posts")

        percent = d.pop("percent")

        status = EnrollmentStatus(d.pop("status"))

        total_posts = d.pop("total_posts")

        user_id = UUID(d.pop("user_id"))

        student_progress = cls(
            completed_posts=completed_posts,
            percent=percent,
            status=status,
            total_posts=total_posts,
            user_id=user_id,
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

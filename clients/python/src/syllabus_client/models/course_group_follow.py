from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="CourseGroupFollow")


@_attrs_define
class CourseGroupFollow:
    """A course following a group: ``members`` of the group now, of whom ``enrolled`` are
    enrolled in the course (by any source).

        Attributes:
            course_id (UUID):
            enrolled (int):
            followed_at (datetime.datetime):
            group_id (UUID):
            members (int):
    """

    course_id: UUID
    enrolled: int
    followed_at: datetime.datetime
    group_id: UUID
    members: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        course_id = str(self.course_id)

        enrolled = self.enrolled

        followed_at = self.followed_at.isoformat()

        group_id = str(self.group_id)

        members = self.members

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "course_id": course_id,
                "enrolled": enrolled,
                "followed_at": followed_at,
                "group_id": group_id,
                "members": members,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        course_id = UUID(d.pop("course_id"))

        enrolled = d.pop("enrolled")

        followed_at = datetime.datetime.fromisoformat(d.pop("followed_at"))

        group_id = UUID(d.pop("group_id"))

        members = d.pop("members")

        course_group_follow = cls(
            course_id=course_id,
            enrolled=enrolled,
            followed_at=followed_at,
            group_id=group_id,
            members=members,
        )

        course_group_follow.additional_properties = d
        return course_group_follow

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

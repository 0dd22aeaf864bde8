from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="CourseGroupSummary")


@_attrs_define
class CourseGroupSummary:
    """A group the course follows, with how its members stand in the course: ``enrolled``
    (active or completed, any source), ``completed`` (the course) and the average
    ``percent`` of the enrolled (null when none is).

        Attributes:
            average_percent (float | None):
            completed (int):
            enrolled (int):
            followed_at (datetime.datetime):
            group_id (UUID):
            members (int):
            name (str):
    """

    average_percent: float | None
    completed: int
    enrolled: int
    followed_at: datetime.datetime
    group_id: UUID
    members: int
    name: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        average_percent: float | None
        average_percent = self.average_percent

        completed = self.completed

        enrolled = self.enrolled

        followed_at = self.followed_at.isoformat()

        group_id = str(self.group_id)

        members = self.members

        name = self.name

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "average_percent": average_percent,
                "completed": completed,
                "enrolled": enrolled,
                "followed_at": followed_at,
                "group_id": group_id,
                "members": members,
                "name": name,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_average_percent(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        average_percent = _parse_average_percent(d.pop("average_percent"))

        completed = d.pop("completed")

        enrolled = d.pop("enrolled")

        followed_at = datetime.datetime.fromisoformat(d.pop("followed_at"))

        group_id = UUID(d.pop("group_id"))

        members = d.pop("members")

        name = d.pop("name")

        course_group_summary = cls(
            average_percent=average_percent,
            completed=completed,
            enrolled=enrolled,
            followed_at=followed_at,
            group_id=group_id,
            members=members,
            name=name,
        )

        course_group_summary.additional_properties = d
        return course_group_summary

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

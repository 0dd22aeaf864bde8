from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.grade_status import GradeStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="PostGradeEntry")


@_attrs_define
class PostGradeEntry:
    """
    Attributes:
        attempts_used (int):
        kept_score (float | None):
        kind (str):
        late (bool):
        max_points (int):
        module_id (UUID):
        post_id (UUID):
        status (GradeStatus):
        title (str):
        due_at (datetime.datetime | None | Unset): the student's own due date for the post now (their own override, else
            their groups' latest, else the post's; null: none)
    """

    attempts_used: int
    kept_score: float | None
    kind: str
    late: bool
    max_points: int
    module_id: UUID
    post_id: UUID
    status: GradeStatus
    title: str
    due_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        attempts_used = self.attempts_used

        kept_score: float | None
        kept_score = self.kept_score

        kind = self.kind

        late = self.late

        max_points = self.max_points

        module_id = str(self.module_id)

        post_id = str(self.post_id)

        status = self.status.value

        title = self.title

        due_at: None | str | Unset
        if isinstance(self.due_at, Unset):
            due_at = UNSET
        elif isinstance(self.due_at, datetime.datetime):
            due_at = self.due_at.isoformat()
        else:
            due_at = self.due_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "attempts_used": attempts_used,
                "kept_score": kept_score,
                "kind": kind,
                "late": late,
                "max_points": max_points,
                "module_id": module_id,
                "post_id": post_id,
                "status": status,
                "title": title,
            }
        )
        if due_at is not UNSET:
            field_dict["due_at"] = due_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        attempts_used = d.pop("attempts_used")

        def _parse_kept_score(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        kept_score = _parse_kept_score(d.pop("kept_score"))

        kind = d.pop("kind")

        late = d.pop("late")

        max_points = d.pop("max_points")

        module_id = UUID(d.pop("module_id"))

        post_id = UUID(d.pop("post_id"))

        status = GradeStatus(d.pop("status"))

        title = d.pop("title")

        def _parse_due_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                due_at_type_0 = datetime.datetime.fromisoformat(data)

                return due_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        due_at = _parse_due_at(d.pop("due_at", UNSET))

        post_grade_entry = cls(
            attempts_used=attempts_used,
            kept_score=kept_score,
            kind=kind,
            late=late,
            max_points=max_points,
            module_id=module_id,
            post_id=post_id,
            status=status,
            title=title,
            due_at=due_at,
        )

        post_grade_entry.additional_properties = d
        return post_grade_entry

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

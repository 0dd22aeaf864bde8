from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.progress_post_status import ProgressPostStatus

T = TypeVar("T", bound="PostProgress")


@_attrs_define
class PostProgress:
    """
    Attributes:
        completed (bool):
        completed_at (datetime.datetime | None):
        kind (str):
        locked (bool):
        min_score (float | None):
        position (int):
        post_id (UUID):
        rule (str):
        score (float | None):
        status (ProgressPostStatus):
        title (str):
    """

    completed: bool
    completed_at: datetime.datetime | None
    kind: str
    locked: bool
    min_score: float | None
    position: int
    post_id: UUID
    rule: str
    score: float | None
    status: ProgressPostStatus
    title: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        completed = self.completed

        completed_at: None | str
        if isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        kind = self.kind

        locked = self.locked

        min_score: float | None
        min_score = self.min_score

        position = self.position

        post_id = str(self.post_id)

        rule = self.rule

        score: float | None
        score = self.score

        status = self.status.value

        title = self.title

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "completed": completed,
                "completed_at": completed_at,
                "kind": kind,
                "locked": locked,
                "min_score": min_score,
                "position": position,
                "post_id": post_id,
                "rule": rule,
                "score": score,
                "status": status,
                "title": title,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        completed = d.pop("completed")

        def _parse_completed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        completed_at = _parse_completed_at(d.pop("completed_at"))

        kind = d.pop("kind")

        locked = d.pop("locked")

        def _parse_min_score(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        min_score = _parse_min_score(d.pop("min_score"))

        position = d.pop("position")

        post_id = UUID(d.pop("post_id"))

        rule = d.pop("rule")

        def _parse_score(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        score = _parse_score(d.pop("score"))

        status = ProgressPostStatus(d.pop("status"))

        title = d.pop("title")

        post_progress = cls(
            completed=completed,
            completed_at=completed_at,
            kind=kind,
            locked=locked,
            min_score=min_score,
            position=position,
            post_id=post_id,
            rule=rule,
            score=score,
            status=status,
            title=title,
        )

        post_progress.additional_properties = d
        return post_progress

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

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="DueOverrideBody")


@_attrs_define
class DueOverrideBody:
    """``PUT /posts/{post_id}/overrides/{kind}/{id}``: when the post is due for those
    students.

        Attributes:
            due_at (datetime.datetime):
    """

    due_at: datetime.datetime

    def to_dict(self) -> dict[str, Any]:
        due_at = self.due_at.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "due_at": due_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        due_at = datetime.datetime.fromisoformat(d.pop("due_at"))

        due_override_body = cls(
            due_at=due_at,
        )

        return due_override_body

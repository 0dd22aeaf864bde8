from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="UnlockOverrideBody")


@_attrs_define
class UnlockOverrideBody:
    """``PUT .../overrides/{kind}/{id}``: when the module opens for those students.

    Attributes:
        unlock_at (datetime.datetime):
    """

    unlock_at: datetime.datetime

    def to_dict(self) -> dict[str, Any]:
        unlock_at = self.unlock_at.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "unlock_at": unlock_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        unlock_at = datetime.datetime.fromisoformat(d.pop("unlock_at"))

        unlock_override_body = cls(
            unlock_at=unlock_at,
        )

        return unlock_override_body

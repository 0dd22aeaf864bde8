from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="MoveModule")


@_attrs_define
class MoveModule:
    """A change to an attached module: its position, its gating, or both (absent: kept).

    Attributes:
        position (int | None | Unset):
        prerequisites (list[UUID] | None | Unset):
        unlock_at (datetime.datetime | None | Unset):
    """

    position: int | None | Unset = UNSET
    prerequisites: list[UUID] | None | Unset = UNSET
    unlock_at: datetime.datetime | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        position: int | None | Unset
        if isinstance(self.position, Unset):
            position = UNSET
        else:
            position = self.position

        prerequisites: list[str] | None | Unset
        if isinstance(self.prerequisites, Unset):
            prerequisites = UNSET
        elif isinstance(self.prerequisites, list):
            prerequisites = []
            for prerequisites_type_0_item_data in self.prerequisites:
                prerequisites_type_0_item = str(prerequisites_type_0_item_data)
                prerequisites.append(prerequisites_type_0_item)

        else:
            prerequisites = self.prerequisites

        unlock_at: None | str | Unset
        if isinstance(self.unlock_at, Unset):
            unlock_at = UNSET
        elif isinstance(self.unlock_at, datetime.datetime):
            unlock_at = self.unlock_at.isoformat()
        else:
            unlock_at = self.unlock_at

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if position is not UNSET:
            field_dict["position"] = position
        if prerequisites is not UNSET:
            field_dict["prerequisites"] = prerequisites
        if unlock_at is not UNSET:
            field_dict["unlock_at"] = unlock_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_position(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        position = _parse_position(d.pop("position", UNSET))

        def _parse_prerequisites(data: object) -> list[UUID] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                prerequisites_type_0 = []
                _prerequisites_type_0 = data
                for prerequisites_type_0_item_data in _prerequisites_type_0:
                    prerequisites_type_0_item = UUID(prerequisites_type_0_item_data)

                    prerequisites_type_0.append(prerequisites_type_0_item)

                return prerequisites_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[UUID] | None | Unset, data)

        prerequisites = _parse_prerequisites(d.pop("prerequisites", UNSET))

        def _parse_unlock_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                unlock_at_type_0 = datetime.datetime.fromisoformat(data)

                return unlock_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        unlock_at = _parse_unlock_at(d.pop("unlock_at", UNSET))

        move_module = cls(
            position=position,
            prerequisites=prerequisites,
            unlock_at=unlock_at,
        )

        return move_module

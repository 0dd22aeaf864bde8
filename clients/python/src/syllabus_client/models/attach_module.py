from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="AttachModule")


@_attrs_define
class AttachModule:
    """
    Attributes:
        module_id (UUID):
        position (int | None | Unset):
    """

    module_id: UUID
    position: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        module_id = str(self.module_id)

        position: int | None | Unset
        if isinstance(self.position, Unset):
            position = UNSET
        else:
            position = self.position

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "module_id": module_id,
            }
        )
        if position is not UNSET:
            field_dict["position"] = position

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        module_id = UUID(d.pop("module_id"))

        def _parse_position(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        position = _parse_position(d.pop("position", UNSET))

        attach_module = cls(
            module_id=module_id,
            position=position,
        )

        return attach_module

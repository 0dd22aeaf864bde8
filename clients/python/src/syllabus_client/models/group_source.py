from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="GroupSource")


@_attrs_define
class GroupSource:
    """The student is a member of a group the course follows.

    Attributes:
        group_id (UUID):
        kind (Literal['group'] | Unset):  Default: 'group'.
    """

    group_id: UUID
    kind: Literal["group"] | Unset = "group"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        group_id = str(self.group_id)

        kind = self.kind

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "group_id": group_id,
            }
        )
        if kind is not UNSET:
            field_dict["kind"] = kind

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        group_id = UUID(d.pop("group_id"))

        kind = cast(Literal["group"] | Unset, d.pop("kind", UNSET))
        if kind != "group" and not isinstance(kind, Unset):
            raise ValueError(f"kind must match const 'group', got '{kind}'")

        group_source = cls(
            group_id=group_id,
            kind=kind,
        )

        group_source.additional_properties = d
        return group_source

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

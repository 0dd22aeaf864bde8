from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="OutlineEntry")


@_attrs_define
class OutlineEntry:
    """A module's place in a course, and its gating there.

    Attributes:
        module_id (UUID):
        position (int):
        prerequisites (list[UUID]):
        title (str):
        unlock_at (datetime.datetime | None):
    """

    module_id: UUID
    position: int
    prerequisites: list[UUID]
    title: str
    unlock_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        module_id = str(self.module_id)

        position = self.position

        prerequisites = []
        for prerequisites_item_data in self.prerequisites:
            prerequisites_item = str(prerequisites_item_data)
            prerequisites.append(prerequisites_item)

        title = self.title

        unlock_at: None | str
        if isinstance(self.unlock_at, datetime.datetime):
            unlock_at = self.unlock_at.isoformat()
        else:
            unlock_at = self.unlock_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "module_id": module_id,
                "position": position,
                "prerequisites": prerequisites,
                "title": title,
                "unlock_at": unlock_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        module_id = UUID(d.pop("module_id"))

        position = d.pop("position")

        prerequisites = []
        _prerequisites = d.pop("prerequisites")
        for prerequisites_item_data in _prerequisites:
            prerequisites_item = UUID(prerequisites_item_data)

            prerequisites.append(prerequisites_item)

        title = d.pop("title")

        def _parse_unlock_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                unlock_at_type_0 = datetime.datetime.fromisoformat(data)

                return unlock_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        unlock_at = _parse_unlock_at(d.pop("unlock_at"))

        outline_entry = cls(
            module_id=module_id,
            position=position,
            prerequisites=prerequisites,
            title=title,
            unlock_at=unlock_at,
        )

        outline_entry.additional_properties = d
        return outline_entry

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

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="GroupPublic")


@_attrs_define
class GroupPublic:
    """
    Attributes:
        created_at (datetime.datetime):
        creator_id (None | UUID):
        description (None | str):
        id (UUID):
        member_count (int):
        name (str):
        updated_at (datetime.datetime):
        version (int):
    """

    created_at: datetime.datetime
    creator_id: None | UUID
    description: None | str
    id: UUID
    member_count: int
    name: str
    updated_at: datetime.datetime
    version: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        creator_id: None | str
        if isinstance(self.creator_id, UUID):
            creator_id = str(self.creator_id)
        else:
            creator_id = self.creator_id

        description: None | str
        description = self.description

        id = str(self.id)

        member_count = self.member_count

        name = self.name

        updated_at = self.updated_at.isoformat()

        version = self.version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "creator_id": creator_id,
                "description": description,
                "id": id,
                "member_count": member_count,
                "name": name,
                "updated_at": updated_at,
                "version": version,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_creator_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                creator_id_type_0 = UUID(data)

                return creator_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        creator_id = _parse_creator_id(d.pop("creator_id"))

        def _parse_description(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        description = _parse_description(d.pop("description"))

        id = UUID(d.pop("id"))

        member_count = d.pop("member_count")

        name = d.pop("name")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        version = d.pop("version")

        group_public = cls(
            created_at=created_at,
            creator_id=creator_id,
            description=description,
            id=id,
            member_count=member_count,
            name=name,
            updated_at=updated_at,
            version=version,
        )

        group_public.additional_properties = d
        return group_public

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

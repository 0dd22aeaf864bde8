from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="GroupMembersAdded")


@_attrs_define
class GroupMembersAdded:
    """What a bulk add did, each a list of user ids in the order they were sent (once
    each): ``added`` now members, ``already_members`` members before, ``unknown_user_ids``
    no such account (nothing done for them).

        Attributes:
            added (list[UUID]):
            already_members (list[UUID]):
            unknown_user_ids (list[UUID]):
    """

    added: list[UUID]
    already_members: list[UUID]
    unknown_user_ids: list[UUID]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        added = []
        for added_item_data in self.added:
            added_item = str(added_item_data)
            added.append(added_item)

        already_members = []
        for already_members_item_data in self.already_members:
            already_members_item = str(already_members_item_data)
            already_members.append(already_members_item)

        unknown_user_ids = []
        for unknown_user_ids_item_data in self.unknown_user_ids:
            unknown_user_ids_item = str(unknown_user_ids_item_data)
            unknown_user_ids.append(unknown_user_ids_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "added": added,
                "already_members": already_members,
                "unknown_user_ids": unknown_user_ids,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        added = []
        _added = d.pop("added")
        for added_item_data in _added:
            added_item = UUID(added_item_data)

            added.append(added_item)

        already_members = []
        _already_members = d.pop("already_members")
        for already_members_item_data in _already_members:
            already_members_item = UUID(already_members_item_data)

            already_members.append(already_members_item)

        unknown_user_ids = []
        _unknown_user_ids = d.pop("unknown_user_ids")
        for unknown_user_ids_item_data in _unknown_user_ids:
            unknown_user_ids_item = UUID(unknown_user_ids_item_data)

            unknown_user_ids.append(unknown_user_ids_item)

        group_members_added = cls(
            added=added,
            already_members=already_members,
            unknown_user_ids=unknown_user_ids,
        )

        group_members_added.additional_properties = d
        return group_members_added

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

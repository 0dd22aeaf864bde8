from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Lock")


@_attrs_define
class Lock:
    """Why a module or post is locked: ``prerequisite`` (``module_id`` not completed yet),
    ``unlock_at`` (not before ``at``) or ``sequential`` (``post_id`` before it not
    completed yet).

        Attributes:
            reason (str):
            at (datetime.datetime | None | Unset):
            module_id (None | Unset | UUID):
            post_id (None | Unset | UUID):
    """

    reason: str
    at: datetime.datetime | None | Unset = UNSET
    module_id: None | Unset | UUID = UNSET
    post_id: None | Unset | UUID = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        reason = self.reason

        at: None | str | Unset
        if isinstance(self.at, Unset):
            at = UNSET
        elif isinstance(self.at, datetime.datetime):
            at = self.at.isoformat()
        else:
            at = self.at

        module_id: None | str | Unset
        if isinstance(self.module_id, Unset):
            module_id = UNSET
        elif isinstance(self.module_id, UUID):
            module_id = str(self.module_id)
        else:
            module_id = self.module_id

        post_id: None | str | Unset
        if isinstance(self.post_id, Unset):
            post_id = UNSET
        elif isinstance(self.post_id, UUID):
            post_id = str(self.post_id)
        else:
            post_id = self.post_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "reason": reason,
            }
        )
        if at is not UNSET:
            field_dict["at"] = at
        if module_id is not UNSET:
            field_dict["module_id"] = module_id
        if post_id is not UNSET:
            field_dict["post_id"] = post_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        reason = d.pop("reason")

        def _parse_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                at_type_0 = datetime.datetime.fromisoformat(data)

                return at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        at = _parse_at(d.pop("at", UNSET))

        def _parse_module_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                module_id_type_0 = UUID(data)

                return module_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        module_id = _parse_module_id(d.pop("module_id", UNSET))

        def _parse_post_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                post_id_type_0 = UUID(data)

                return post_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        post_id = _parse_post_id(d.pop("post_id", UNSET))

        lock = cls(
            reason=reason,
            at=at,
            module_id=module_id,
            post_id=post_id,
        )

        lock.additional_properties = d
        return lock

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

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.due_override_public_kind import DueOverridePublicKind

T = TypeVar("T", bound="DueOverridePublic")


@_attrs_define
class DueOverridePublic:
    """A gradable post's due time for one group's members (``kind`` group) or one student
    (``kind`` user), instead of the post's ``due_at`` (docs/dates.md).

        Attributes:
            created_at (datetime.datetime):
            due_at (datetime.datetime):
            id (UUID):
            kind (DueOverridePublicKind):
            post_id (UUID):
            target_id (UUID):
            updated_at (datetime.datetime):
            version (int):
    """

    created_at: datetime.datetime
    due_at: datetime.datetime
    id: UUID
    kind: DueOverridePublicKind
    post_id: UUID
    target_id: UUID
    updated_at: datetime.datetime
    version: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        due_at = self.due_at.isoformat()

        id = str(self.id)

        kind = self.kind.value

        post_id = str(self.post_id)

        target_id = str(self.target_id)

        updated_at = self.updated_at.isoformat()

        version = self.version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "due_at": due_at,
                "id": id,
                "kind": kind,
                "post_id": post_id,
                "target_id": target_id,
                "updated_at": updated_at,
                "version": version,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        due_at = datetime.datetime.fromisoformat(d.pop("due_at"))

        id = UUID(d.pop("id"))

        kind = DueOverridePublicKind(d.pop("kind"))

        post_id = UUID(d.pop("post_id"))

        target_id = UUID(d.pop("target_id"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        version = d.pop("version")

        due_override_public = cls(
            created_at=created_at,
            due_at=due_at,
            id=id,
            kind=kind,
            post_id=post_id,
            target_id=target_id,
            updated_at=updated_at,
            version=version,
        )

        due_override_public.additional_properties = d
        return due_override_public

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

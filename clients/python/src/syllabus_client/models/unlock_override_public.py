from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.unlock_override_public_kind import UnlockOverridePublicKind

T = TypeVar("T", bound="UnlockOverridePublic")


@_attrs_define
class UnlockOverridePublic:
    """A module's unlock time in a course for one group's members (``kind`` group) or one
    student (``kind`` user), instead of the course's ``unlock_at`` (docs/dates.md).

        Attributes:
            course_id (UUID):
            created_at (datetime.datetime):
            id (UUID):
            kind (UnlockOverridePublicKind):
            module_id (UUID):
            target_id (UUID):
            unlock_at (datetime.datetime):
            updated_at (datetime.datetime):
            version (int):
    """

    course_id: UUID
    created_at: datetime.datetime
    id: UUID
    kind: UnlockOverridePublicKind
    module_id: UUID
    target_id: UUID
    unlock_at: datetime.datetime
    updated_at: datetime.datetime
    version: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        course_id = str(self.course_id)

        created_at = self.created_at.isoformat()

        id = str(self.id)

        kind = self.kind.value

        module_id = str(self.module_id)

        target_id = str(self.target_id)

        unlock_at = self.unlock_at.isoformat()

        updated_at = self.updated_at.isoformat()

        version = self.version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "course_id": course_id,
                "created_at": created_at,
                "id": id,
                "kind": kind,
                "module_id": module_id,
                "target_id": target_id,
                "unlock_at": unlock_at,
                "updated_at": updated_at,
                "version": version,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        course_id = UUID(d.pop("course_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        id = UUID(d.pop("id"))

        kind = UnlockOverridePublicKind(d.pop("kind"))

        module_id = UUID(d.pop("module_id"))

        target_id = UUID(d.pop("target_id"))

        unlock_at = datetime.datetime.fromisoformat(d.pop("unlock_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        version = d.pop("version")

        unlock_override_public = cls(
            course_id=course_id,
            created_at=created_at,
            id=id,
            kind=kind,
            module_id=module_id,
            target_id=target_id,
            unlock_at=unlock_at,
            updated_at=updated_at,
            version=version,
        )

        unlock_override_public.additional_properties = d
        return unlock_override_public

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

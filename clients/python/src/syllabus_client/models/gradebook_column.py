from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="GradebookColumn")


@_attrs_define
class GradebookColumn:
    """A gradable post of the course, a column of its gradebook.

    Attributes:
        kind (str):
        max_points (int):
        module_id (UUID):
        post_id (UUID):
        title (str):
    """

    kind: str
    max_points: int
    module_id: UUID
    post_id: UUID
    title: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind

        max_points = self.max_points

        module_id = str(self.module_id)

        post_id = str(self.post_id)

        title = self.title

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "kind": kind,
                "max_points": max_points,
                "module_id": module_id,
                "post_id": post_id,
                "title": title,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        kind = d.pop("kind")

        max_points = d.pop("max_points")

        module_id = UUID(d.pop("module_id"))

        post_id = UUID(d.pop("post_id"))

        title = d.pop("title")

        gradebook_column = cls(
            kind=kind,
            max_points=max_points,
            module_id=module_id,
            post_id=post_id,
            title=title,
        )

        gradebook_column.additional_properties = d
        return gradebook_column

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

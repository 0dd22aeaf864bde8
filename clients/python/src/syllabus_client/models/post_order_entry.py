from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.content_post_status import ContentPostStatus

T = TypeVar("T", bound="PostOrderEntry")


@_attrs_define
class PostOrderEntry:
    """A post's place in its module.

    Attributes:
        kind (str):
        position (int):
        post_id (UUID):
        status (ContentPostStatus):
        title (str):
    """

    kind: str
    position: int
    post_id: UUID
    status: ContentPostStatus
    title: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind

        position = self.position

        post_id = str(self.post_id)

        status = self.status.value

        title = self.title

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "kind": kind,
                "position": position,
                "post_id": post_id,
                "status": status,
                "title": title,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        kind = d.pop("kind")

        position = d.pop("position")

        post_id = UUID(d.pop("post_id"))

        status = ContentPostStatus(d.pop("status"))

        title = d.pop("title")

        post_order_entry = cls(
            kind=kind,
            position=position,
            post_id=post_id,
            status=status,
            title=title,
        )

        post_order_entry.additional_properties = d
        return post_order_entry

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

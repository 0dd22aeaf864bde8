from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="LinkContent")


@_attrs_define
class LinkContent:
    """
    Attributes:
        kind (Literal['link']):
        url (str):
    """

    kind: Literal["link"]
    url: str

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind

        url = self.url

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
                "url": url,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        kind = cast(Literal["link"], d.pop("kind"))
        if kind != "link":
            raise ValueError(f"kind must match const 'link', got '{kind}'")

        url = d.pop("url")

        link_content = cls(
            kind=kind,
            url=url,
        )

        return link_content

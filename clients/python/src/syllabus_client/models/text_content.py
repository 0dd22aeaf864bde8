from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="TextContent")


@_attrs_define
class TextContent:
    """
    Attributes:
        body (str): Markdown
        kind (Literal['text']):
    """

    body: str
    kind: Literal["text"]

    def to_dict(self) -> dict[str, Any]:
        body = self.body

        kind = self.kind

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "body": body,
                "kind": kind,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        body = d.pop("body")

        kind = cast(Literal["text"], d.pop("kind"))
        if kind != "text":
            raise ValueError(f"kind must match const 'text', got '{kind}'")

        text_content = cls(
            body=body,
            kind=kind,
        )

        return text_content

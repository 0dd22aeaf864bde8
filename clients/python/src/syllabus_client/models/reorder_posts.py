from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define

T = TypeVar("T", bound="ReorderPosts")


@_attrs_define
class ReorderPosts:
    """
    Attributes:
        post_ids (list[UUID]):
    """

    post_ids: list[UUID]

    def to_dict(self) -> dict[str, Any]:
        post_ids = []
        for post_ids_item_data in self.post_ids:
            post_ids_item = str(post_ids_item_data)
            post_ids.append(post_ids_item)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "post_ids": post_ids,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        post_ids = []
        _post_ids = d.pop("post_ids")
        for post_ids_item_data in _post_ids:
            post_ids_item = UUID(post_ids_item_data)

            post_ids.append(post_ids_item)

        reorder_posts = cls(
            post_ids=post_ids,
        )

        return reorder_posts

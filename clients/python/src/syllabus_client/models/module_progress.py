from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.module_state import ModuleState

if TYPE_CHECKING:
    from ..models.lock import Lock
    from ..models.post_progress import PostProgress


T = TypeVar("T", bound="ModuleProgress")


@_attrs_define
class ModuleProgress:
    """
    Attributes:
        completed_posts (int):
        locks (list[Lock]):
        module_id (UUID):
        percent (float):
        position (int):
        posts (list[PostProgress]):
        state (ModuleState):
        title (str):
        total_posts (int):
    """

    completed_posts: int
    locks: list[Lock]
    module_id: UUID
    percent: float
    position: int
    posts: list[PostProgress]
    state: ModuleState
    title: str
    total_posts: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        completed_posts = self.completed_posts

        locks = []
        for locks_item_data in self.locks:
            locks_item = locks_item_data.to_dict()
            locks.append(locks_item)

        module_id = str(self.module_id)

        percent = self.percent

        position = self.position

        posts = []
        for posts_item_data in self.posts:
            posts_item = posts_item_data.to_dict()
            posts.append(posts_item)

        state = self.state.value

        title = self.title

        total_posts = self.total_posts

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "completed_posts": completed_posts,
                "locks": locks,
                "module_id": module_id,
                "percent": percent,
                "position": position,
                "posts": posts,
                "state": state,
                "title": title,
                "total_posts": total_posts,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.lock import Lock  # noqa: PLC0415
        from ..models.post_progress import PostProgress  # noqa: PLC0415

        d = dict(src_dict)
        completed_posts = d.pop("completed_posts")

        locks = []
        _locks = d.pop("locks")
        for locks_item_data in _locks:
            locks_item = Lock.from_dict(locks_item_data)

            locks.append(locks_item)

        module_id = UUID(d.pop("module_id"))

        percent = d.pop("percent")

        position = d.pop("position")

        posts = []
        _posts = d.pop("posts")
        for posts_item_data in _posts:
            posts_item = PostProgress.from_dict(posts_item_data)

            posts.append(posts_item)

        state = ModuleState(d.pop("state"))

        title = d.pop("title")

        total_posts = d.pop("total_posts")

        module_progress = cls(
            completed_posts=completed_posts,
            locks=locks,
            module_id=module_id,
            percent=percent,
            position=position,
            posts=posts,
            state=state,
            title=title,
            total_posts=total_posts,
        )

        module_progress.additional_properties = d
        return module_progress

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

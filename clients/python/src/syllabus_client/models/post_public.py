from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.content_post_status import ContentPostStatus

if TYPE_CHECKING:
    from ..models.assignment_view import AssignmentView
    from ..models.completion_rule_view import CompletionRuleView
    from ..models.link_view import LinkView
    from ..models.quiz_view import QuizView
    from ..models.text_view import TextView
    from ..models.video_view import VideoView


T = TypeVar("T", bound="PostPublic")


@_attrs_define
class PostPublic:
    """
    Attributes:
        completion (CompletionRuleView): A post's effective completion rule (the kind's default when none was set).
        completion_count (int):
        content (AssignmentView | LinkView | QuizView | TextView | VideoView):
        created_at (datetime.datetime):
        creator_id (None | UUID):
        id (UUID):
        module_id (UUID):
        position (int):
        status (ContentPostStatus):
        submission_count (int):
        title (str):
        updated_at (datetime.datetime):
        version (int):
    """

    completion: CompletionRuleView
    completion_count: int
    content: AssignmentView | LinkView | QuizView | TextView | VideoView
    created_at: datetime.datetime
    creator_id: None | UUID
    id: UUID
    module_id: UUID
    position: int
    status: ContentPostStatus
    submission_count: int
    title: str
    updated_at: datetime.datetime
    version: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.assignment_view import AssignmentView  # noqa: PLC0415
        from ..models.link_view import LinkView  # noqa: PLC0415
        from ..models.text_view import TextView  # noqa: PLC0415
        from ..models.video_view import VideoView  # noqa: PLC0415

        completion = self.completion.to_dict()

        completion_count = self.completion_count

        content: dict[str, Any]
        if isinstance(self.content, TextView):
            content = self.content.to_dict()
        elif isinstance(self.content, VideoView):
            content = self.content.to_dict()
        elif isinstance(self.content, LinkView):
            content = self.content.to_dict()
        elif isinstance(self.content, AssignmentView):
            content = self.content.to_dict()
        else:
            content = self.content.to_dict()

        created_at = self.created_at.isoformat()

        creator_id: None | str
        if isinstance(self.creator_id, UUID):
            creator_id = str(self.creator_id)
        else:
            creator_id = self.creator_id

        id = str(self.id)

        module_id = str(self.module_id)

        position = self.position

        status = self.status.value

        submission_count = self.submission_count

        title = self.title

        updated_at = self.updated_at.isoformat()

        version = self.version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "completion": completion,
                "completion_count": completion_count,
                "content": content,
                "created_at": created_at,
                "creator_id": creator_id,
                "id": id,
                "module_id": module_id,
                "position": position,
                "status": status,
                "submission_count": submission_count,
                "title": title,
                "updated_at": updated_at,
                "version": version,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.assignment_view import AssignmentView  # noqa: PLC0415
        from ..models.completion_rule_view import CompletionRuleView  # noqa: PLC0415
        from ..models.link_view import LinkView  # noqa: PLC0415
        from ..models.quiz_view import QuizView  # noqa: PLC0415
        from ..models.text_view import TextView  # noqa: PLC0415
        from ..models.video_view import VideoView  # noqa: PLC0415

        d = dict(src_dict)
        completion = CompletionRuleView.from_dict(d.pop("completion"))

        completion_count = d.pop("completion_count")

        def _parse_content(
            data: object,
        ) -> AssignmentView | LinkView | QuizView | TextView | VideoView:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                content_type_0 = TextView.from_dict(data)

                return content_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                content_type_1 = VideoView.from_dict(data)

                return content_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                content_type_2 = LinkView.from_dict(data)

                return content_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                content_type_3 = AssignmentView.from_dict(data)

                return content_type_3
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            content_type_4 = QuizView.from_dict(data)

            return content_type_4

        content = _parse_content(d.pop("content"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_creator_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                creator_id_type_0 = UUID(data)

                return creator_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        creator_id = _parse_creator_id(d.pop("creator_id"))

        id = UUID(d.pop("id"))

        module_id = UUID(d.pop("module_id"))

        position = d.pop("position")

        status = ContentPostStatus(d.pop("status"))

        submission_count = d.pop("submission_count")

        title = d.pop("title")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        version = d.pop("version")

        post_public = cls(
            completion=completion,
            completion_count=completion_count,
            content=content,
            created_at=created_at,
            creator_id=creator_id,
            id=id,
            module_id=module_id,
            position=position,
            status=status,
            submission_count=submission_count,
            title=title,
            updated_at=updated_at,
            version=version,
        )

        post_public.additional_properties = d
        return post_public

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

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.content_post_status import ContentPostStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.assignment_content import AssignmentContent
    from ..models.completion_rule_in import CompletionRuleIn
    from ..models.link_content import LinkContent
    from ..models.quiz_content import QuizContent
    from ..models.text_content import TextContent
    from ..models.video_content import VideoContent


T = TypeVar("T", bound="PostUpdate")


@_attrs_define
class PostUpdate:
    """Every field optional; ``content`` replaces the whole content and keeps its ``kind``.

    Attributes:
        completion (CompletionRuleIn | None | Unset):
        content (AssignmentContent | LinkContent | None | QuizContent | TextContent | Unset | VideoContent):
        position (int | None | Unset):
        status (ContentPostStatus | None | Unset):
        title (None | str | Unset):
    """

    completion: CompletionRuleIn | None | Unset = UNSET
    content: (
        AssignmentContent | LinkContent | None | QuizContent | TextContent | Unset | VideoContent
    ) = UNSET
    position: int | None | Unset = UNSET
    status: ContentPostStatus | None | Unset = UNSET
    title: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.assignment_content import AssignmentContent  # noqa: PLC0415
        from ..models.completion_rule_in import CompletionRuleIn  # noqa: PLC0415
        from ..models.link_content import LinkContent  # noqa: PLC0415
        from ..models.quiz_content import QuizContent  # noqa: PLC0415
        from ..models.text_content import TextContent  # noqa: PLC0415
        from ..models.video_content import VideoContent  # noqa: PLC0415

        completion: dict[str, Any] | None | Unset
        if isinstance(self.completion, Unset):
            completion = UNSET
        elif isinstance(self.completion, CompletionRuleIn):
            completion = self.completion.to_dict()
        else:
            completion = self.completion

        content: dict[str, Any] | None | Unset
        if isinstance(self.content, Unset):
            content = UNSET
        elif isinstance(self.content, TextContent):
            content = self.content.to_dict()
        elif isinstance(self.content, VideoContent):
            content = self.content.to_dict()
        elif isinstance(self.content, LinkContent):
            content = self.content.to_dict()
        elif isinstance(self.content, AssignmentContent):
            content = self.content.to_dict()
        elif isinstance(self.content, QuizContent):
            content = self.content.to_dict()
        else:
            content = self.content

        position: int | None | Unset
        if isinstance(self.position, Unset):
            position = UNSET
        else:
            position = self.position

        status: None | str | Unset
        if isinstance(self.status, Unset):
            status = UNSET
        elif isinstance(self.status, ContentPostStatus):
            status = self.status.value
        else:
            status = self.status

        title: None | str | Unset
        if isinstance(self.title, Unset):
            title = UNSET
        else:
            title = self.title

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if completion is not UNSET:
            field_dict["completion"] = completion
        if content is not UNSET:
            field_dict["content"] = content
        if position is not UNSET:
            field_dict["position"] = position
        if status is not UNSET:
            field_dict["status"] = status
        if title is not UNSET:
            field_dict["title"] = title

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.assignment_content import AssignmentContent  # noqa: PLC0415
        from ..models.completion_rule_in import CompletionRuleIn  # noqa: PLC0415
        from ..models.link_content import LinkContent  # noqa: PLC0415
        from ..models.quiz_content import QuizContent  # noqa: PLC0415
        from ..models.text_content import TextContent  # noqa: PLC0415
        from ..models.video_content import VideoContent  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_completion(data: object) -> CompletionRuleIn | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                completion_type_0 = CompletionRuleIn.from_dict(data)

                return completion_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CompletionRuleIn | None | Unset, data)

        completion = _parse_completion(d.pop("completion", UNSET))

        def _parse_content(
            data: object,
        ) -> (
            AssignmentContent
            | LinkContent
            | None
            | QuizContent
            | TextContent
            | Unset
            | VideoContent
        ):
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                content_type_0_type_0 = TextContent.from_dict(data)

                return content_type_0_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                content_type_0_type_1 = VideoContent.from_dict(data)

                return content_type_0_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                content_type_0_type_2 = LinkContent.from_dict(data)

                return content_type_0_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                content_type_0_type_3 = AssignmentContent.from_dict(data)

                return content_type_0_type_3
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                content_type_0_type_4 = QuizContent.from_dict(data)

                return content_type_0_type_4
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(
                AssignmentContent
                | LinkContent
                | None
                | QuizContent
                | TextContent
                | Unset
                | VideoContent,
                data,
            )

        content = _parse_content(d.pop("content", UNSET))

        def _parse_position(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        position = _parse_position(d.pop("position", UNSET))

        def _parse_status(data: object) -> ContentPostStatus | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                status_type_0 = ContentPostStatus(data)

                return status_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ContentPostStatus | None | Unset, data)

        status = _parse_status(d.pop("status", UNSET))

        def _parse_title(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        title = _parse_title(d.pop("title", UNSET))

        post_update = cls(
            completion=completion,
            content=content,
            position=position,
            status=status,
            title=title,
        )

        return post_update

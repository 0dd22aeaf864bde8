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


T = TypeVar("T", bound="PostCreate")


@_attrs_define
class PostCreate:
    """
    Attributes:
        content (AssignmentContent | LinkContent | QuizContent | TextContent | VideoContent):
        title (str):
        completion (CompletionRuleIn | None | Unset): default: mark_done for text, video, link; submit for assignment,
            quiz
        position (int | None | Unset): default: at the end
        status (ContentPostStatus | Unset):
    """

    content: AssignmentContent | LinkContent | QuizContent | TextContent | VideoContent
    title: str
    completion: CompletionRuleIn | None | Unset = UNSET
    position: int | None | Unset = UNSET
    status: ContentPostStatus | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.assignment_content import AssignmentContent  # noqa: PLC0415
        from ..models.completion_rule_in import CompletionRuleIn  # noqa: PLC0415
        from ..models.link_content import LinkContent  # noqa: PLC0415
        from ..models.text_content import TextContent  # noqa: PLC0415
        from ..models.video_content import VideoContent  # noqa: PLC0415

        content: dict[str, Any]
        if isinstance(self.content, TextContent):
            content = self.content.to_dict()
        elif isinstance(self.content, VideoContent):
            content = self.content.to_dict()
        elif isinstance(self.content, LinkContent):
            content = self.content.to_dict()
        elif isinstance(self.content, AssignmentContent):
            content = self.content.to_dict()
        else:
            content = self.content.to_dict()

        title = self.title

        completion: dict[str, Any] | None | Unset
        if isinstance(self.completion, Unset):
            completion = UNSET
        elif isinstance(self.completion, CompletionRuleIn):
            completion = self.completion.to_dict()
        else:
            completion = self.completion

        position: int | None | Unset
        if isinstance(self.position, Unset):
            position = UNSET
        else:
            position = self.position

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "content": content,
                "title": title,
            }
        )
        if completion is not UNSET:
            field_dict["completion"] = completion
        if position is not UNSET:
            field_dict["position"] = position
        if status is not UNSET:
            field_dict["status"] = status

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

        def _parse_content(
            data: object,
        ) -> AssignmentContent | LinkContent | QuizContent | TextContent | VideoContent:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                content_type_0 = TextContent.from_dict(data)

                return content_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                content_type_1 = VideoContent.from_dict(data)

                return content_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                content_type_2 = LinkContent.from_dict(data)

                return content_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                content_type_3 = AssignmentContent.from_dict(data)

                return content_type_3
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            content_type_4 = QuizContent.from_dict(data)

            return content_type_4

        content = _parse_content(d.pop("content"))

        title = d.pop("title")

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

        def _parse_position(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        position = _parse_position(d.pop("position", UNSET))

        _status = d.pop("status", UNSET)
        status: ContentPostStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = ContentPostStatus(_status)

        post_create = cls(
            content=content,
            title=title,
            completion=completion,
            position=position,
            status=status,
        )

        return post_create

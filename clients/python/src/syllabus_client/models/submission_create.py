from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="SubmissionCreate")


@_attrs_define
class SubmissionCreate:
    """A quiz: ``answers``; an assignment: ``body`` and optional ``links``.

    Attributes:
        answers (list[int | None] | None | Unset): quiz: one entry per question, the chosen choice's index or null
        body (None | str | Unset): assignment: Markdown, ≤ 100,000 characters
        links (list[str] | None | Unset): assignment: ≤ 10 http(s) URLs
    """

    answers: list[int | None] | None | Unset = UNSET
    body: None | str | Unset = UNSET
    links: list[str] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        answers: list[int | None] | None | Unset
        if isinstance(self.answers, Unset):
            answers = UNSET
        elif isinstance(self.answers, list):
            answers = []
            for answers_type_0_item_data in self.answers:
                answers_type_0_item: int | None
                answers_type_0_item = answers_type_0_item_data
                answers.append(answers_type_0_item)

        else:
            answers = self.answers

        body: None | str | Unset
        if isinstance(self.body, Unset):
            body = UNSET
        else:
            body = self.body

        links: list[str] | None | Unset
        if isinstance(self.links, Unset):
            links = UNSET
        elif isinstance(self.links, list):
            links = self.links

        else:
            links = self.links

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if answers is not UNSET:
            field_dict["answers"] = answers
        if body is not UNSET:
            field_dict["body"] = body
        if links is not UNSET:
            field_dict["links"] = links

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_answers(data: object) -> list[int | None] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                answers_type_0 = []
                _answers_type_0 = data
                for answers_type_0_item_data in _answers_type_0:

                    def _parse_answers_type_0_item(data: object) -> int | None:
                        if data is None:
                            return data
                        return cast(int | None, data)

                    answers_type_0_item = _parse_answers_type_0_item(answers_type_0_item_data)

                    answers_type_0.append(answers_type_0_item)

                return answers_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[int | None] | None | Unset, data)

        answers = _parse_answers(d.pop("answers", UNSET))

        def _parse_body(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        body = _parse_body(d.pop("body", UNSET))

        def _parse_links(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                links_type_0 = cast(list[str], data)

                return links_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        links = _parse_links(d.pop("links", UNSET))

        submission_create = cls(
            answers=answers,
            body=body,
            links=links,
        )

        return submission_create

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="QuizQuestion")


@_attrs_define
class QuizQuestion:
    """
    Attributes:
        answer_index (int): 0-based index into choices
        choices (list[str]):
        prompt (str):
    """

    answer_index: int
    choices: list[str]
    prompt: str

    def to_dict(self) -> dict[str, Any]:
        answer_index = self.answer_index

        choices = self.choices

        prompt = self.prompt

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "answer_index": answer_index,
                "choices": choices,
                "prompt": prompt,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        answer_index = d.pop("answer_index")

        choices = cast(list[str], d.pop("choices"))

        prompt = d.pop("prompt")

        quiz_question = cls(
            answer_index=answer_index,
            choices=choices,
            prompt=prompt,
        )

        return quiz_question

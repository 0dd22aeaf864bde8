from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="QuizQuestionView")


@_attrs_define
class QuizQuestionView:
    """
    Attributes:
        choices (list[str]):
        prompt (str):
        answer_index (int | None | Unset): only shown to the module's owner and admins
    """

    choices: list[str]
    prompt: str
    answer_index: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        choices = self.choices

        prompt = self.prompt

        answer_index: int | None | Unset
        if isinstance(self.answer_index, Unset):
            answer_index = UNSET
        else:
            answer_index = self.answer_index

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "choices": choices,
                "prompt": prompt,
            }
        )
        if answer_index is not UNSET:
            field_dict["answer_index"] = answer_index

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        choices = cast(list[str], d.pop("choices"))

        prompt = d.pop("prompt")

        def _parse_answer_index(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        answer_index = _parse_answer_index(d.pop("answer_index", UNSET))

        quiz_question_view = cls(
            choices=choices,
            prompt=prompt,
            answer_index=answer_index,
        )

        quiz_question_view.additional_properties = d
        return quiz_question_view

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

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.quiz_question import QuizQuestion


T = TypeVar("T", bound="QuizContent")


@_attrs_define
class QuizContent:
    """
    Attributes:
        kind (Literal['quiz']):
        max_points (int):
        questions (list[QuizQuestion]):
        attempts (int | Unset):  Default: 1.
        due_at (datetime.datetime | None | Unset):
    """

    kind: Literal["quiz"]
    max_points: int
    questions: list[QuizQuestion]
    attempts: int | Unset = 1
    due_at: datetime.datetime | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind

        max_points = self.max_points

        questions = []
        for questions_item_data in self.questions:
            questions_item = questions_item_data.to_dict()
            questions.append(questions_item)

        attempts = self.attempts

        due_at: None | str | Unset
        if isinstance(self.due_at, Unset):
            due_at = UNSET
        elif isinstance(self.due_at, datetime.datetime):
            due_at = self.due_at.isoformat()
        else:
            due_at = self.due_at

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
                "max_points": max_points,
                "questions": questions,
            }
        )
        if attempts is not UNSET:
            field_dict["attempts"] = attempts
        if due_at is not UNSET:
            field_dict["due_at"] = due_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.quiz_question import QuizQuestion  # noqa: PLC0415

        d = dict(src_dict)
        kind = cast(Literal["quiz"], d.pop("kind"))
        if kind != "quiz":
            raise ValueError(f"kind must match const 'quiz', got '{kind}'")

        max_points = d.pop("max_points")

        questions = []
        _questions = d.pop("questions")
        for questions_item_data in _questions:
            questions_item = QuizQuestion.from_dict(questions_item_data)

            questions.append(questions_item)

        attempts = d.pop("attempts", UNSET)

        def _parse_due_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                due_at_type_0 = datetime.datetime.fromisoformat(data)

                return due_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        due_at = _parse_due_at(d.pop("due_at", UNSET))

        quiz_content = cls(
            kind=kind,
            max_points=max_points,
            questions=questions,
            attempts=attempts,
            due_at=due_at,
        )

        return quiz_content

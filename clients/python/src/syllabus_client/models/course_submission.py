from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.submission_status import SubmissionStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.quiz_result import QuizResult


T = TypeVar("T", bound="CourseSubmission")


@_attrs_define
class CourseSubmission:
    """A submission in a course's grading queue (``GET /courses/{course_id}/submissions``,
    an extension: docs/api-notes.md), with the title of the post it answers.

        Attributes:
            attempt (int):
            display_name (None | str):
            feedback (None | str):
            graded_at (datetime.datetime | None):
            grader_id (None | UUID):
            id (UUID):
            kind (str):
            late (bool):
            max_points (int):
            post_id (UUID):
            post_title (str):
            score (float | None):
            status (SubmissionStatus):
            submitted_at (datetime.datetime):
            user_id (UUID):
            username (None | str):
            version (int):
            answers (list[int | None] | None | Unset):
            body (None | str | Unset):
            due_at (datetime.datetime | None | Unset): the student's due date when it was submitted (their own, their
                groups' or the post's; null: none applied, or submitted before it was kept); ``late`` is ``submitted_at >
                due_at`` and neither changes afterwards
            links (list[str] | None | Unset):
            results (list[QuizResult] | None | Unset):
    """

    attempt: int
    display_name: None | str
    feedback: None | str
    graded_at: datetime.datetime | None
    grader_id: None | UUID
    id: UUID
    kind: str
    late: bool
    max_points: int
    post_id: UUID
    post_title: str
    score: float | None
    status: SubmissionStatus
    submitted_at: datetime.datetime
    user_id: UUID
    username: None | str
    version: int
    answers: list[int | None] | None | Unset = UNSET
    body: None | str | Unset = UNSET
    due_at: datetime.datetime | None | Unset = UNSET
    links: list[str] | None | Unset = UNSET
    results: list[QuizResult] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        attempt = self.attempt

        display_name: None | str
        display_name = self.display_name

        feedback: None | str
        feedback = self.feedback

        graded_at: None | str
        if isinstance(self.graded_at, datetime.datetime):
            graded_at = self.graded_at.isoformat()
        else:
            graded_at = self.graded_at

        grader_id: None | str
        if isinstance(self.grader_id, UUID):
            grader_id = str(self.grader_id)
        else:
            grader_id = self.grader_id

        id = str(self.id)

        kind = self.kind

        late = self.late

        max_points = self.max_points

        post_id = str(self.post_id)

        post_title = self.post_title

        score: float | None
        score = self.score

        status = self.status.value

        submitted_at = self.submitted_at.isoformat()

        user_id = str(self.user_id)

        username: None | str
        username = self.username

        version = self.version

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

        due_at: None | str | Unset
        if isinstance(self.due_at, Unset):
            due_at = UNSET
        elif isinstance(self.due_at, datetime.datetime):
            due_at = self.due_at.isoformat()
        else:
            due_at = self.due_at

        links: list[str] | None | Unset
        if isinstance(self.links, Unset):
            links = UNSET
        elif isinstance(self.links, list):
            links = self.links

        else:
            links = self.links

        results: list[dict[str, Any]] | None | Unset
        if isinstance(self.results, Unset):
            results = UNSET
        elif isinstance(self.results, list):
            results = []
            for results_type_0_item_data in self.results:
                results_type_0_item = results_type_0_item_data.to_dict()
                results.append(results_type_0_item)

        else:
            results = self.results

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "attempt": attempt,
                "display_name": display_name,
                "feedback": feedback,
                "graded_at": graded_at,
                "grader_id": grader_id,
                "id": id,
                "kind": kind,
                "late": late,
                "max_points": max_points,
                "post_id": post_id,
                "post_title": post_title,
                "score": score,
                "status": status,
                "submitted_at": submitted_at,
                "user_id": user_id,
                "username": username,
                "version": version,
            }
        )
        if answers is not UNSET:
            field_dict["answers"] = answers
        if body is not UNSET:
            field_dict["body"] = body
        if due_at is not UNSET:
            field_dict["due_at"] = due_at
        if links is not UNSET:
            field_dict["links"] = links
        if results is not UNSET:
            field_dict["results"] = results

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.quiz_result import QuizResult  # noqa: PLC0415

        d = dict(src_dict)
        attempt = d.pop("attempt")

        def _parse_display_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        display_name = _parse_display_name(d.pop("display_name"))

        def _parse_feedback(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        feedback = _parse_feedback(d.pop("feedback"))

        def _parse_graded_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                graded_at_type_0 = datetime.datetime.fromisoformat(data)

                return graded_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        graded_at = _parse_graded_at(d.pop("graded_at"))

        def _parse_grader_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                grader_id_type_0 = UUID(data)

                return grader_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        grader_id = _parse_grader_id(d.pop("grader_id"))

        id = UUID(d.pop("id"))

        kind = d.pop("kind")

        late = d.pop("late")

        max_points = d.pop("max_points")

        post_id = UUID(d.pop("post_id"))

        post_title = d.pop("post_title")

        def _parse_score(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        score = _parse_score(d.pop("score"))

        status = SubmissionStatus(d.pop("status"))

        submitted_at = datetime.datetime.fromisoformat(d.pop("submitted_at"))

        user_id = UUID(d.pop("user_id"))

        def _parse_username(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        username = _parse_username(d.pop("username"))

        version = d.pop("version")

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

        def _parse_results(data: object) -> list[QuizResult] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                results_type_0 = []
                _results_type_0 = data
                for results_type_0_item_data in _results_type_0:
                    results_type_0_item = QuizResult.from_dict(results_type_0_item_data)

                    results_type_0.append(results_type_0_item)

                return results_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[QuizResult] | None | Unset, data)

        results = _parse_results(d.pop("results", UNSET))

        course_submission = cls(
            attempt=attempt,
            display_name=display_name,
            feedback=feedback,
            graded_at=graded_at,
            grader_id=grader_id,
            id=id,
            kind=kind,
            late=late,
            max_points=max_points,
            post_id=post_id,
            post_title=post_title,
            score=score,
            status=status,
            submitted_at=submitted_at,
            user_id=user_id,
            username=username,
            version=version,
            answers=answers,
            body=body,
            due_at=due_at,
            links=links,
            results=results,
        )

        course_submission.additional_properties = d
        return course_submission

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

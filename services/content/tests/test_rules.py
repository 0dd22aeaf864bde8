"""Content's rules that need no database (fast: no app, no PostgreSQL, no NATS)."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import Any

import pytest
from pydantic import ValidationError
from syllabus_content import rules, schemas
from syllabus_content.models import Post
from syllabus_shared.auth import Principal, Role
from syllabus_shared.contracts import content as ev
from syllabus_shared.pagination import PageParams
from syllabus_shared.problems import Problem, require_present

TEXT = {"kind": "text", "body": "Hello"}
QUIZ: dict[str, Any] = {
    "kind": "quiz",
    "questions": [
        {"prompt": "2 + 2?", "choices": ["3", "4", "5"], "answer_index": 1},
        {"prompt": "Capital of France?", "choices": ["Paris", "Rome"], "answer_index": 0},
    ],
    "max_points": 10,
}
ASSIGNMENT = {"kind": "assignment", "instructions": "Write.", "max_points": 50}


def _post(content: dict[str, Any] | None = None, **fields: Any) -> Post:
    content = copy.deepcopy(content or TEXT)
    values: dict[str, Any] = {
        "module_id": uuid.uuid4(),
        "title": "A post",
        "position": 3,
        "status": "draft",
        "kind": content["kind"],
        "content": content,
        "creator_id": uuid.uuid4(),
        "completion_count": 0,
        "submission_count": 0,
        **fields,
    }
    return Post(**values)


def _update(**fields: Any) -> schemas.PostUpdate:
    return schemas.PostUpdate.model_validate(fields)


def _problem(exc: pytest.ExceptionInfo[Problem]) -> tuple[int, str | None]:
    return exc.value.status, exc.value.kind


# ---------------------------------------------------------------- who may edit


def test_owner_and_admins_edit_others_do_not() -> None:
    owner = uuid.uuid4()
    assert rules.may_edit(Principal(owner, Role.instructor), owner)
    assert rules.may_edit(Principal(uuid.uuid4(), Role.admin), owner)
    assert not rules.may_edit(Principal(uuid.uuid4(), Role.instructor), owner)
    assert not rules.may_edit(Principal(owner, Role.student), uuid.uuid4())
    assert not rules.may_edit(None, owner)
    # A tombstoned module has no owner: only admins.
    assert not rules.may_edit(Principal(owner, Role.instructor), None)
    assert rules.may_edit(Principal(owner, Role.admin), None)


# ---------------------------------------------------------------- views


def test_quiz_answers_only_for_those_who_may_see_them() -> None:
    post = _post(QUIZ)
    hidden = rules.post_view(post, answers=False).model_dump(mode="json")
    assert all("answer_index" not in q for q in hidden["content"]["questions"])
    assert [q["prompt"] for q in hidden["content"]["questions"]] == ["2 + 2?", "Capital of France?"]
    shown = rules.post_view(post, answers=True).model_dump(mode="json")
    assert [q["answer_index"] for q in shown["content"]["questions"]] == [1, 0]
    # The stored post is untouched by hiding.
    assert post.content["questions"][0]["answer_index"] == 1


def test_other_kinds_are_shown_whole() -> None:
    for content in (TEXT, ASSIGNMENT):
        assert rules.post_view(_post(content), answers=False).content.model_dump() == (
            rules.post_view(_post(content), answers=True).content.model_dump()
        )


def test_derived_tag_follows_place_and_counts() -> None:
    assert rules.derived_tag(_post(position=2, completion_count=7)) == "2-7-0"
    assert rules.derived_tag(_post(position=2, completion_count=7, submission_count=4)) == "2-7-4"


@pytest.mark.parametrize(
    ("after", "expected"),
    [(None, None), ({"position": 4}, 4), ({"position": 0}, 0)],
)
def test_cursor_position(after: dict[str, Any] | None, expected: int | None) -> None:
    assert rules.cursor_position(PageParams(limit=10, after=after)) == expected


@pytest.mark.parametrize("after", [{"position": "4"}, {"position": True}, {"id": 1}, {}])
def test_a_cursor_that_is_not_a_position_is_400(after: dict[str, Any]) -> None:
    with pytest.raises(Problem) as exc:
        rules.cursor_position(PageParams(limit=10, after=after))
    assert _problem(exc) == (400, "validation-error")


# ---------------------------------------------------------------- order


def test_only_moved_rows_are_written() -> None:
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    assert rules.moved_rows([a, b, c], [a, b, c]) == []
    assert rules.moved_rows([a, b, c], [b, a, c]) == [
        {"id": b, "position": 1},
        {"id": a, "position": 2},
    ]
    # A removed post: those after it move up.
    assert rules.moved_rows([a, b, c], [a, c]) == [{"id": c, "position": 2}]
    # An inserted post is not a move; those after it move down.
    assert rules.moved_rows([a, b, c], [a, d, b, c]) == [
        {"id": b, "position": 3},
        {"id": c, "position": 4},
    ]


def test_the_reorder_event_carries_the_whole_order() -> None:
    module_id, a, b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    event = rules.posts_reordered(module_id, [b, a])
    assert event.module_id == module_id
    assert [(p.post_id, p.position) for p in event.posts] == [(b, 1), (a, 2)]
    assert rules.posts_reordered(module_id, []).posts == []


# ---------------------------------------------------------------- events


def test_post_state_has_max_points_for_graded_kinds_only() -> None:
    assert rules.post_state(_post(TEXT), ev.PostCreated).max_points is None
    assert rules.post_state(_post(QUIZ), ev.PostCreated).max_points == 10
    state = rules.post_state(_post(ASSIGNMENT, position=5, status="published"), ev.PostUpdated)
    assert isinstance(state, ev.PostUpdated)
    assert (state.max_points, state.position, state.status, state.kind) == (
        50,
        5,
        "published",
        "assignment",
    )


def test_quiz_events_carry_the_answer_key_and_the_effective_attempts() -> None:
    state = rules.post_state(_post(QUIZ), ev.PostCreated)
    assert state.answer_key == [1, 0]
    assert (state.question_count, state.choice_counts) == (2, [3, 2])
    # Stored before attempts existed (no field): the quiz default, 1.
    assert (state.attempts, state.due_at) == (1, None)
    stored = {**QUIZ, "attempts": 3, "due_at": "2030-01-31T23:59:00+01:00"}
    state = rules.post_state(_post(stored), ev.PostUpdated)
    assert state.attempts == 3
    assert state.due_at == dt.datetime(2030, 1, 31, 22, 59, tzinfo=dt.UTC)
    assert state.due_at is not None and state.due_at.utcoffset() == dt.timedelta(hours=1)


def test_assignment_events_carry_due_at_and_attempts_and_no_key() -> None:
    state = rules.post_state(_post(ASSIGNMENT), ev.PostCreated)
    assert (state.attempts, state.due_at, state.max_points) == (None, None, 50)  # unlimited
    assert (state.answer_key, state.question_count, state.choice_counts) == (None, None, None)
    stored = {**ASSIGNMENT, "attempts": 2, "due_at": "2030-01-01T00:00:00Z"}
    state = rules.post_state(_post(stored), ev.PostCreated)
    assert (state.attempts, state.due_at) == (2, dt.datetime(2030, 1, 1, tzinfo=dt.UTC))


def test_other_kinds_carry_no_grading_fields() -> None:
    data = rules.post_state(_post(TEXT), ev.PostCreated).model_dump()
    for name in ("max_points", "due_at", "attempts", "answer_key", "question_count"):
        assert data[name] is None


def test_the_answer_key_is_not_in_a_students_view_but_attempts_are() -> None:
    view = rules.post_view(_post({**QUIZ, "attempts": 2}), answers=False)
    dumped = view.model_dump(mode="json")
    assert dumped["content"]["attempts"] == 2
    assert "answer_index" not in str(dumped)


def test_stored_content_reads_with_the_defaults() -> None:
    assert rules.with_defaults("quiz", {"kind": "quiz"}) == {
        "kind": "quiz",
        "due_at": None,
        "attempts": 1,
    }
    assert rules.with_defaults("assignment", {"kind": "assignment", "attempts": 3}) == {
        "kind": "assignment",
        "due_at": None,
        "attempts": 3,
    }
    assert rules.with_defaults("text", TEXT) == TEXT
    # A quiz stored before attempts existed renders the default.
    assert rules.post_view(_post(QUIZ), answers=True).model_dump()["content"]["attempts"] == 1


# ---------------------------------------------------------------- validation


def _content(value: dict[str, Any]) -> Any:
    return schemas.PostCreate.model_validate({"title": "T", "content": value}).content


def _error_fields(value: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        _content(value)
    return [".".join(str(p) for p in e["loc"]) for e in exc.value.errors()]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({**ASSIGNMENT, "due_at": "2030-01-01T10:00:00"}, "content.due_at"),
        ({**QUIZ, "due_at": "not a date"}, "content.due_at"),
        ({**QUIZ, "due_at": 1893456000}, "content.due_at"),
        ({**ASSIGNMENT, "attempts": 0}, "content.attempts"),
        ({**ASSIGNMENT, "attempts": -1}, "content.attempts"),
        ({**ASSIGNMENT, "attempts": "x"}, "content.attempts"),
        ({**ASSIGNMENT, "attempts": "2"}, "content.attempts"),
        ({**ASSIGNMENT, "attempts": 1.5}, "content.attempts"),
        ({**QUIZ, "attempts": True}, "content.attempts"),
        ({**QUIZ, "attempts": None}, "content.attempts"),
        ({**QUIZ, "attempts": 1001}, "content.attempts"),
        ({**TEXT, "attempts": 1}, "content.attempts"),
        ({**TEXT, "due_at": "2030-01-01T10:00:00Z"}, "content.due_at"),
    ],
)
def test_gradable_fields_are_validated(bad: dict[str, Any], field: str) -> None:
    assert _error_fields(bad) == [field]


def test_gradable_defaults_are_explicit_in_what_is_stored() -> None:
    quiz = _content(QUIZ).model_dump(mode="json")
    assert (quiz["attempts"], quiz["due_at"]) == (1, None)
    assignment = _content(ASSIGNMENT).model_dump(mode="json")
    assert (assignment["attempts"], assignment["due_at"]) == (None, None)
    due = _content({**ASSIGNMENT, "attempts": 5, "due_at": "2030-01-01T10:00:00+02:00"})
    assert due.model_dump(mode="json")["due_at"] == "2030-01-01T10:00:00+02:00"


# ---------------------------------------------------------------- editing


@pytest.mark.parametrize("name", ["title", "content", "status", "position"])
def test_fields_cannot_be_nulled(name: str) -> None:
    with pytest.raises(Problem) as exc:
        require_present({name: None}, "title", "content", "status", "position")
    assert _problem(exc) == (422, "validation-error")


def test_absent_fields_are_not_nulls() -> None:
    require_present({}, "title", "content", "status", "position")


def test_a_post_keeps_its_kind() -> None:
    post = _post(TEXT)
    with pytest.raises(Problem) as exc:
        rules.apply_edit(post, _update(content=ASSIGNMENT))
    assert _problem(exc) == (422, "validation-error")
    assert "keeps its kind" in exc.value.detail


def test_an_edit_to_the_same_values_changes_nothing() -> None:
    post = _post(TEXT, title="Same")
    edit = rules.apply_edit(post, _update(title="Same", content=TEXT, status="draft"))
    assert not edit.changed
    assert rules.edit_event(post, edit) is None


def test_a_title_or_content_edit_is_post_updated() -> None:
    post = _post(TEXT)
    edit = rules.apply_edit(post, _update(title="New title"))
    assert (edit.edited, edit.status_changed) == (True, False)
    assert post.title == "New title"
    assert isinstance(rules.edit_event(post, edit), ev.PostUpdated)
    edit = rules.apply_edit(post, _update(content={"kind": "text", "body": "Changed"}))
    assert edit.edited and post.content["body"] == "Changed"


def test_a_status_change_wins_over_an_edit() -> None:
    post = _post(TEXT)
    edit = rules.apply_edit(post, _update(title="New", status="published"))
    assert (edit.edited, edit.status_changed) == (True, True)
    event = rules.edit_event(post, edit)
    assert isinstance(event, ev.PostPublished)
    assert event.title == "New"
    edit = rules.apply_edit(post, _update(status="draft"))
    assert isinstance(rules.edit_event(post, edit), ev.PostUnpublished)


def test_restating_a_quizs_defaults_is_no_edit() -> None:
    post = _post(QUIZ)  # stored before due_at / attempts existed
    edit = rules.apply_edit(post, _update(content={**QUIZ, "attempts": 1}))
    assert not edit.changed
    edit = rules.apply_edit(post, _update(content={**QUIZ, "attempts": 2}))
    assert edit.edited and post.content["attempts"] == 2


def test_a_move_alone_is_not_an_edit_of_the_post() -> None:
    post = _post(TEXT)
    edit = rules.apply_edit(post, _update(position=1))
    assert not edit.changed
    assert post.position == 3  # the order is written by the service, not here


# ---------------------------------------------------------------- completion rules


def _rule(**fields: Any) -> schemas.CompletionRuleIn:
    return schemas.CompletionRuleIn.model_validate(fields)


@pytest.mark.parametrize(
    ("kind", "rule"),
    [
        ("text", "mark_done"),
        ("video", "mark_done"),
        ("link", "mark_done"),
        ("assignment", "submit"),
        ("quiz", "submit"),
    ],
)
def test_each_kind_has_a_default_rule(kind: str, rule: str) -> None:
    assert rules.default_completion(kind).model_dump() == {"rule": rule}
    assert rules.checked_completion(kind, {}, None).rule == rule


def test_a_post_without_a_stored_rule_reads_as_its_kinds_default() -> None:
    quiz = _post(QUIZ)
    assert quiz.completion_rule is None
    assert rules.completion_of(quiz).rule == "submit"
    state = rules.post_state(quiz, ev.PostCreated)
    assert state.completion == ev.CompletionRule(rule="submit", min_score=None)


@pytest.mark.parametrize(
    ("kind", "content", "rule", "field"),
    [
        ("text", TEXT, {"rule": "submit"}, "completion.rule"),
        ("video", {"kind": "video"}, {"rule": "min_score", "min_score": 1}, "completion.rule"),
        ("quiz", QUIZ, {"rule": "min_score", "min_score": 10.01}, "completion.min_score"),
        ("assignment", ASSIGNMENT, {"rule": "min_score", "min_score": 51}, "completion.min_score"),
    ],
)
def test_rules_that_do_not_fit_the_post_are_422(
    kind: str, content: dict[str, Any], rule: dict[str, Any], field: str
) -> None:
    with pytest.raises(Problem) as exc:
        rules.checked_completion(kind, content, _rule(**rule))
    assert _problem(exc) == (422, "validation-error")
    assert exc.value.extra["errors"][0]["field"] == field


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"rule": "min_score"}, "min_score"),
        ({"rule": "view", "min_score": 2}, "min_score"),
        ({"rule": "min_score", "min_score": 0}, "min_score"),
        ({"rule": "min_score", "min_score": "3"}, "min_score"),
        ({"rule": "min_score", "min_score": False}, "min_score"),
        ({"rule": "done"}, "rule"),
        ({"rule": "view", "extra": 1}, "extra"),
    ],
)
def test_the_rules_shape_is_the_schemas(rule: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        _rule(**rule)
    assert [e["loc"] for e in exc.value.errors()] == [(field,)]


def test_min_score_up_to_max_points_is_kept_and_shown_with_its_number() -> None:
    kept = rules.checked_completion("quiz", QUIZ, _rule(rule="min_score", min_score=10))
    assert kept.model_dump(exclude_none=True) == {"rule": "min_score", "min_score": 10}
    post = _post(QUIZ)
    rules.set_completion(post, kept)
    assert rules.post_view(post, answers=False).model_dump(mode="json")["completion"] == {
        "rule": "min_score",
        "min_score": 10.0,
    }
    shown = rules.post_view(_post(TEXT), answers=False).model_dump(mode="json")
    assert shown["completion"] == {"rule": "mark_done"}  # no min_score key


def test_a_rule_change_is_an_edit_and_its_event_carries_the_rule() -> None:
    post = _post(QUIZ)
    edit = rules.apply_edit(post, _update(completion={"rule": "min_score", "min_score": 6}))
    assert edit == rules.Edit(edited=True, status_changed=False)
    state = rules.edit_event(post, edit)
    assert isinstance(state, ev.PostUpdated)
    assert state.completion == ev.CompletionRule(rule="min_score", min_score=6)
    # The same rule again: no change.
    assert not rules.apply_edit(
        post, _update(completion={"rule": "min_score", "min_score": 6})
    ).changed
    assert (post.completion_rule, post.completion_min_score) == ("min_score", 6)


def test_lowering_max_points_under_a_kept_min_score_is_422_on_the_points() -> None:
    post = _post(QUIZ)
    rules.apply_edit(post, _update(completion={"rule": "min_score", "min_score": 8}))
    with pytest.raises(Problem) as exc:
        rules.apply_edit(post, _update(title="New", content={**QUIZ, "max_points": 7}))
    assert exc.value.extra["errors"][0]["field"] == "content.max_points"
    assert (post.title, post.content["max_points"]) == ("A post", 10)  # nothing applied
    # With a rule that fits in the same request, it is fine.
    edit = rules.apply_edit(
        post,
        _update(
            content={**QUIZ, "max_points": 7}, completion={"rule": "min_score", "min_score": 7}
        ),
    )
    assert edit.edited and post.completion_min_score == 7
    # Another rule frees the points entirely.
    rules.apply_edit(post, _update(completion={"rule": "view"}))
    assert rules.apply_edit(post, _update(content={**QUIZ, "max_points": 1})).edited
    assert post.completion_min_score is None

"""Assessment's rules, without a database."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from syllabus_assessment import rules
from syllabus_assessment.rules import PostFacts
from syllabus_shared.auth import Principal, Role
from syllabus_shared.problems import Problem


def _fields(exc: pytest.ExceptionInfo[Problem]) -> list[str]:
    return [e["field"] for e in exc.value.extra["errors"]]


# ---------------------------------------------------------------- quiz grading


@pytest.mark.parametrize(
    ("max_points", "answers", "key", "score"),
    [
        (10, [1, 0, 2], [1, 0, 2], Decimal("10.00")),
        (10, [1, 0, 0], [1, 0, 2], Decimal("6.67")),  # 6.666… rounds up
        (10, [1, 1, 1], [1, 0, 2], Decimal("3.33")),  # 3.333… rounds down
        (10, [None, None, None], [1, 0, 2], Decimal("0.00")),
        (1, [0, 0, 0, 0, 0, 1, 1, 1], [0] * 8, Decimal("0.63")),  # 0.625: half-up, not even
        (5, [2], [2], Decimal("5.00")),
    ],
)
def test_quiz_score_is_max_points_times_correct_over_questions(
    max_points: int, answers: list[int | None], key: list[int], score: Decimal
) -> None:
    assert rules.grade_quiz(answers, key, max_points).score == score


def test_quiz_results_say_only_whether_each_answer_was_right() -> None:
    graded = rules.grade_quiz([1, None, 0], [1, 0, 2], 9)
    assert graded.results == [{"correct": True}, {"correct": False}, {"correct": False}]
    assert graded.correct == 1
    # The key is nowhere in what a student gets back.
    assert all(set(r) == {"correct"} for r in graded.results)


def test_answers_need_one_entry_per_question() -> None:
    for answers in ([0, 1], [0, 1, 2, 0], []):
        with pytest.raises(Problem) as exc:
            rules.check_answers(answers, 3, [3, 3, 3])
        assert exc.value.status == 422
        assert _fields(exc) == ["answers"]


def test_each_answer_is_a_choice_index_or_null() -> None:
    rules.check_answers([0, None, 2], 3, [3, 3, 3])
    rules.check_answers([None, None, None], 3, [3, 3, 3])
    with pytest.raises(Problem) as exc:
        rules.check_answers([0, 1, 3], 3, [3, 3, 3])
    assert exc.value.status == 422
    assert _fields(exc) == ["answers.2"]
    assert "answers[2]" in exc.value.detail
    with pytest.raises(Problem) as exc:
        rules.check_answers([-1, 5, 0], 3, [3, 4, 3])
    assert _fields(exc) == ["answers.0", "answers.1"]


def test_without_choice_counts_any_non_negative_index_passes() -> None:
    rules.check_answers([7, 0], 2, None)
    with pytest.raises(Problem) as exc:
        rules.check_answers([0, -2], 2, None)
    assert _fields(exc) == ["answers.1"]


# ---------------------------------------------------------------- grading


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (Decimal(0), Decimal("0.00")),
        (Decimal(20), Decimal("20.00")),
        (Decimal("7.005"), Decimal("7.01")),
        (Decimal("19.994"), Decimal("19.99")),
    ],
)
def test_a_score_within_zero_and_max_points_is_kept_to_two_decimals(
    score: Decimal, expected: Decimal
) -> None:
    assert rules.check_score(score, 20) == expected


@pytest.mark.parametrize("score", [Decimal(-1), Decimal("-0.01"), Decimal("20.01"), Decimal("NaN")])
def test_a_score_outside_zero_and_max_points_is_refused(score: Decimal) -> None:
    with pytest.raises(Problem) as exc:
        rules.check_score(score, 20)
    assert exc.value.status == 422
    assert _fields(exc) == ["score"]


def test_graders_are_admins_module_owners_and_owners_of_the_students_courses() -> None:
    me = uuid.uuid4()
    instructor = Principal(user_id=me, role=Role.instructor)
    admin = Principal(user_id=uuid.uuid4(), role=Role.admin)
    assert rules.is_grader(admin, None, [])
    assert rules.is_grader(instructor, me, [])
    assert rules.is_grader(instructor, uuid.uuid4(), [uuid.uuid4(), me])
    assert not rules.is_grader(instructor, uuid.uuid4(), [uuid.uuid4(), None])
    assert not rules.is_grader(instructor, None, [])


def test_the_kept_score_is_the_highest_graded_one() -> None:
    assert rules.kept_score([]) is None
    assert rules.kept_score([None, None]) is None
    assert rules.kept_score([Decimal(3), None, Decimal("7.5"), Decimal(5)]) == Decimal("7.5")
    assert rules.kept_score([Decimal(0)]) == Decimal(0)


def test_percent_is_earned_over_possible_to_two_decimals() -> None:
    assert rules.percent(Decimal(0), 0) == 0.0
    assert rules.percent(Decimal(5), 0) == 0.0
    assert rules.percent(Decimal(1), 3) == 33.33
    assert rules.percent(Decimal(2), 3) == 66.67
    assert rules.percent(Decimal("0.125"), 1) == 12.5
    assert rules.percent(Decimal(1), 8) == 12.5
    assert rules.percent(Decimal(30), 30) == 100.0


# ---------------------------------------------------------------- submitting


def test_late_means_after_the_due_date() -> None:
    due = dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
    assert not rules.is_late(due, due)
    assert not rules.is_late(due - dt.timedelta(seconds=1), due)
    assert rules.is_late(due + dt.timedelta(microseconds=1), due)
    assert not rules.is_late(due, None)


def test_attempts_default_to_one_for_a_quiz_and_unlimited_for_an_assignment() -> None:
    assert rules.attempts_allowed("quiz", None) == 1
    assert rules.attempts_allowed("assignment", None) is None
    assert rules.attempts_allowed("quiz", 3) == 3
    assert rules.attempts_allowed("assignment", 2) == 2
    assert rules.attempts_left("quiz", None, 0) == 1
    assert rules.attempts_left("quiz", None, 1) == 0
    assert rules.attempts_left("assignment", None, 50) is None
    assert rules.attempts_left("assignment", 2, 5) == 0
    rules.check_attempts_left("assignment", None, 1000)
    rules.check_attempts_left("quiz", 2, 1)
    with pytest.raises(Problem) as exc:
        rules.check_attempts_left("quiz", None, 1)
    assert exc.value.status == 409


def test_who_may_submit() -> None:
    published_quiz = PostFacts(deleted=False, status="published", kind="quiz")
    rules.check_submittable(published_quiz, enrolled=True)
    cases: list[tuple[PostFacts | None, bool, int]] = [
        (None, True, 404),
        (PostFacts(deleted=True, status="draft", kind=""), True, 404),
        (PostFacts(deleted=False, status="draft", kind="quiz"), True, 403),
        (published_quiz, False, 403),
        (PostFacts(deleted=False, status="published", kind="text"), True, 409),
    ]
    for post, enrolled, status in cases:
        with pytest.raises(Problem) as exc:
            rules.check_submittable(post, enrolled)
        assert exc.value.status == status, (post, enrolled)


def test_a_submission_has_the_fields_of_its_kind() -> None:
    rules.check_submission_shape("quiz", answers=[0], body=None, links=None)
    rules.check_submission_shape("assignment", answers=None, body="done", links=None)
    rules.check_submission_shape("assignment", answers=None, body="", links=["https://x.org"])
    wrong = [
        ("quiz", {"answers": None, "body": None, "links": None}, "answers"),
        ("quiz", {"answers": [0], "body": "text", "links": None}, "body"),
        ("quiz", {"answers": [0], "body": None, "links": []}, "links"),
        ("assignment", {"answers": None, "body": None, "links": None}, "body"),
        ("assignment", {"answers": [1], "body": "x", "links": None}, "answers"),
    ]
    for kind, fields, name in wrong:
        with pytest.raises(Problem) as exc:
            rules.check_submission_shape(kind, **fields)  # type: ignore[arg-type]
        assert exc.value.status == 422
        assert _fields(exc) == [name]


# ---------------------------------------------------------------- documents and access


def test_a_posts_status_is_its_latest_attempts() -> None:
    assert rules.post_status(0, None) == "not_submitted"
    assert rules.post_status(0, "submitted") == "not_submitted"
    assert rules.post_status(1, "submitted") == "submitted"
    assert rules.post_status(2, "graded") == "graded"


def test_gradebook_access() -> None:
    owner = uuid.uuid4()
    rules.check_gradebook_access(
        Principal(user_id=owner, role=Role.instructor), True, False, owner, True
    )
    rules.check_gradebook_access(
        Principal(user_id=uuid.uuid4(), role=Role.admin), True, False, owner, False
    )
    other = Principal(user_id=uuid.uuid4(), role=Role.instructor)
    for known, deleted, visible, status in [
        (False, False, False, 404),
        (True, True, False, 404),
        (True, False, False, 404),
        (True, False, True, 403),
    ]:
        with pytest.raises(Problem) as exc:
            rules.check_gradebook_access(other, known, deleted, owner, visible)
        assert exc.value.status == status


def test_read_your_writes_waits_only_while_events_could_help() -> None:
    # unknown post: wait only when its id was minted a moment ago
    assert not rules.submit_settled(False, False, "", "", enrolled=False, recently_minted=True)
    assert rules.submit_settled(False, False, "", "", enrolled=False, recently_minted=False)
    # deleted or not gradable: nothing will change
    assert rules.submit_settled(True, True, "draft", "", enrolled=False, recently_minted=False)
    assert rules.submit_settled(
        True, False, "published", "text", enrolled=False, recently_minted=False
    )
    # a draft may be being published; a missing enrollment may be on its way
    assert not rules.submit_settled(
        True, False, "draft", "quiz", enrolled=True, recently_minted=False
    )
    assert not rules.submit_settled(
        True, False, "published", "quiz", enrolled=False, recently_minted=False
    )
    assert rules.submit_settled(
        True, False, "published", "quiz", enrolled=True, recently_minted=False
    )
    assert rules.course_settled(True, recently_minted=True)
    assert not rules.course_settled(False, recently_minted=True)
    assert rules.course_settled(False, recently_minted=False)

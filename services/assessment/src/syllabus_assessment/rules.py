"""Assessment's rules that need no database: plain functions, tested without one.

Quiz grading, answer and score validation, lateness, attempts, kept scores and percents,
who grades, who may submit, and when a read-your-writes wait is over. The SQL in
``service`` and ``views`` says the same things about rows (see each function's note).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from syllabus_shared.auth import Principal
from syllabus_shared.problems import Problem, conflict, forbidden, invalid, not_found

GRADABLE = ("assignment", "quiz")
# Enrollments that count as enrolled (a completed course may still hand in work).
ENROLLED = ("active", "completed")
PUBLISHED = "published"
CENT = Decimal("0.01")


# ---------------------------------------------------------------- numbers


def round2(value: Decimal) -> Decimal:
    """Half-up to 2 decimals (5.005 → 5.01), as API.md rounds scores and percents."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def percent(earned: Decimal, possible: Decimal | int) -> float:
    """earned / possible * 100, half-up to 2 decimals; 0 when nothing is gradable."""
    if possible <= 0:
        return 0.0
    return float(round2(Decimal(earned) * 100 / Decimal(possible)))


def kept_score(scores: Iterable[Decimal | None]) -> Decimal | None:
    """The kept score: the highest among the graded submissions' scores (None if none)."""
    graded = [s for s in scores if s is not None]
    return max(graded) if graded else None


def as_number(value: Decimal | None) -> float | None:
    """A score as a JSON number (scores have 2 decimals, exactly representable enough)."""
    return None if value is None else float(value)


# ---------------------------------------------------------------- quizzes


def _answers_field(index: int | None = None) -> str:
    """How the problem's ``errors`` name an answer: as request validation names list items
    (``answers.2``), so one client-side mapping serves both kinds of error."""
    return "answers" if index is None else f"answers.{index}"


def _answers_text(index: int | None = None) -> str:
    return "answers" if index is None else f"answers[{index}]"


def check_answers(
    answers: Sequence[int | None],
    question_count: int,
    choice_counts: Sequence[int] | None,
) -> None:
    """422 unless ``answers`` has one entry per question, each null or an index into that
    question's choices (``choice_counts``; when content did not say, any index ≥ 0).
    Every offending entry is named (``answers``, ``answers.2``; the detail says
    ``answers[2]``)."""
    if len(answers) != question_count:
        raise _invalid_answers(
            [
                (
                    None,
                    f"expected {question_count} answers (one per question, null to skip), "
                    f"got {len(answers)}",
                )
            ]
        )
    errors: list[tuple[int | None, str]] = []
    for i, answer in enumerate(answers):
        if answer is None:
            continue
        choices = choice_counts[i] if choice_counts and i < len(choice_counts) else None
        if answer < 0 or (choices is not None and answer >= choices):
            span = f"0-{choices - 1}" if choices is not None else "≥ 0"
            errors.append((i, f"must be the index of a choice ({span}) or null"))
    if errors:
        raise _invalid_answers(errors)


def _invalid_answers(errors: list[tuple[int | None, str]]) -> Problem:
    return Problem(
        422,
        "; ".join(f"{_answers_text(i)}: {msg}" for i, msg in errors),
        kind="validation-error",
        title="Validation failed",
        errors=[
            {
                "loc": ["body", "answers"] + ([] if i is None else [i]),
                "field": _answers_field(i),
                "msg": msg,
            }
            for i, msg in errors
        ],
    )


@dataclass(frozen=True)
class QuizGrade:
    score: Decimal
    results: list[dict[str, bool]]
    correct: int


def grade_quiz(
    answers: Sequence[int | None], answer_key: Sequence[int], max_points: int
) -> QuizGrade:
    """score = max_points * correct / questions, half-up to 2 decimals; one
    ``{"correct": bool}`` per question (an unanswered one is not correct)."""
    results = [
        {"correct": answer is not None and answer == key}
        for answer, key in zip(answers, answer_key, strict=True)
    ]
    correct = sum(r["correct"] for r in results)
    questions = len(answer_key)
    score = round2(Decimal(max_points) * correct / questions) if questions else Decimal(0)
    return QuizGrade(score=score, results=results, correct=correct)


# ---------------------------------------------------------------- grading


def check_score(score: Decimal, max_points: int) -> Decimal:
    """The score rounded to 2 decimals; 422 naming ``score`` unless 0 ≤ score ≤ max_points."""
    if not score.is_finite() or score < 0 or score > max_points:
        raise invalid(["body", "score"], f"must be between 0 and {max_points} (max_points)")
    return round2(score)


def is_grader(
    who: Principal,
    module_owner: uuid.UUID | None,
    course_owners: Iterable[uuid.UUID | None],
) -> bool:
    """Graders of a submission: admins, the owner of the post's module, and the owner of
    any course that contains the post and in which the student is enrolled
    (``course_owners``: the owners of exactly those courses)."""
    if who.is_admin:
        return True
    if module_owner is not None and module_owner == who.user_id:
        return True
    return any(owner == who.user_id for owner in course_owners)


# ---------------------------------------------------------------- submitting


def is_late(submitted_at: dt.datetime, due_at: dt.datetime | None) -> bool:
    """Late when it arrived after ``due_at`` (late work is accepted and flagged)."""
    return due_at is not None and submitted_at > due_at


def attempts_allowed(kind: str, attempts: int | None) -> int | None:
    """How many attempts a post allows: its own ``attempts``, else the kind's default
    (a quiz 1, an assignment unlimited: None)."""
    if attempts is not None:
        return attempts
    return 1 if kind == "quiz" else None


def attempts_left(kind: str, attempts: int | None, used: int) -> int | None:
    """Attempts still open (None: unlimited)."""
    allowed = attempts_allowed(kind, attempts)
    return None if allowed is None else max(allowed - used, 0)


def check_attempts_left(kind: str, attempts: int | None, used: int) -> None:
    if attempts_left(kind, attempts, used) == 0:
        allowed = attempts_allowed(kind, attempts)
        raise conflict(f"all {allowed} attempt(s) at this post are used", kind="attempts-used-up")


@dataclass(frozen=True)
class PostFacts:
    """What the projection says about a post, for the submit decision."""

    deleted: bool
    status: str
    kind: str


def check_submittable(post: PostFacts | None, enrolled: bool) -> None:
    """404 unknown post; 403 unless it is published and the caller is actively enrolled in
    a published course containing it (``enrolled``); 409 when it is not gradable."""
    if post is None or post.deleted:
        raise not_found("post")
    if post.status != PUBLISHED:
        raise forbidden("the post is not published")
    if not enrolled:
        raise forbidden("you are not enrolled in a published course that contains this post")
    if post.kind not in GRADABLE:
        raise conflict(
            f"a {post.kind} post takes no submissions (only assignment and quiz do)",
            kind="not-gradable",
        )


def check_submission_shape(
    kind: str,
    *,
    answers: Sequence[int | None] | None,
    body: str | None,
    links: Sequence[str] | None,
) -> None:
    """A quiz takes ``answers`` only; an assignment ``body`` (and ``links``) only: 422
    naming the missing or misplaced field."""
    if kind == "quiz":
        if answers is None:
            raise _shape("answers", "a quiz submission needs answers")
        for name, value in (("body", body), ("links", links)):
            if value is not None:
                raise _shape(name, f"a quiz submission takes answers, not {name}")
    else:
        if body is None:
            raise _shape("body", "an assignment submission needs a body")
        if answers is not None:
            raise _shape("answers", "an assignment submission takes a body, not answers")


def _shape(name: str, message: str) -> Problem:
    return invalid(["body", name], message)


# ---------------------------------------------------------------- grades documents


def post_status(attempts_used: int, latest_status: str | None) -> str:
    """A student's status on a gradable post: ``not_submitted``, or the latest attempt's
    (``submitted`` while it waits for a grader, ``graded``)."""
    if attempts_used <= 0 or latest_status is None:
        return "not_submitted"
    return latest_status


def check_gradebook_access(
    who: Principal, course_known: bool, deleted: bool, owner: uuid.UUID | None, visible: bool
) -> None:
    """A course's owner or an admin may read its gradebook; others get 403 for a course
    they can see (published and public), else 404."""
    if not course_known or deleted:
        raise not_found("course")
    if who.is_admin or owner == who.user_id:
        return
    if visible:
        raise forbidden("only the course's owner or an admin may see its gradebook")
    raise not_found("course")


# ---------------------------------------------------------------- read-your-writes


def submit_settled(
    known: bool,
    deleted: bool,
    status: str,
    kind: str,
    *,
    enrolled: bool,
    recently_minted: bool,
) -> bool:
    """Whether a submission refused now could not be accepted after events still on their
    way: an unknown post minted recently may be in flight; a known draft may be being
    published; a published gradable post the caller is not (yet) enrolled for may be
    waiting for the enrollment or an attach event."""
    if not known:
        return not recently_minted
    if deleted or kind not in GRADABLE:
        return True
    if status != PUBLISHED:
        return False
    return enrolled


def course_settled(known: bool, *, recently_minted: bool) -> bool:
    """An unknown course minted recently may still be on its way."""
    return known or not recently_minted

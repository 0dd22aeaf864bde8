"""Assessment API shapes (API.md, "Assessment: submissions and grades").

Inputs are strict (limits from API.md, unknown fields refused). A submission's public
shape carries ``answers`` and ``results`` for a quiz, ``body`` and ``links`` for an
assignment; the answer key is never part of any shape here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StrictFloat,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError

MAX_BODY = 100_000
MAX_LINKS = 10
MAX_FEEDBACK = 20_000
MAX_ANSWERS = 1_000


def _no_nul(value: str) -> str:
    # Neither PostgreSQL text nor jsonb can hold NUL: refuse it here (422), not in the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def _http_url(value: str) -> str:
    # Checked as a URL, stored exactly as given (HttpUrl would normalise it).
    if not value.lower().startswith(("http://", "https://")):
        raise PydanticCustomError("http_url_scheme", "URL scheme should be 'http' or 'https'")
    try:
        _HTTP_URL.validate_python(value)
    except ValidationError as exc:
        raise PydanticCustomError("http_url", "Input should be a valid http(s) URL") from exc
    return value


NoNul = AfterValidator(_no_nul)
Url = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2048), AfterValidator(_http_url), NoNul
]


class _Input(BaseModel):
    # Unknown fields are refused: a typo must not be silently ignored.
    model_config = ConfigDict(extra="forbid")


class SubmissionStatus(StrEnum):
    submitted = "submitted"
    graded = "graded"


class GradeStatus(StrEnum):
    not_submitted = "not_submitted"
    submitted = "submitted"
    graded = "graded"


# ---------------------------------------------------------------- inputs


class SubmissionCreate(_Input):
    """A quiz: ``answers``; an assignment: ``body`` and optional ``links``."""

    answers: list[StrictInt | None] | None = Field(
        default=None,
        max_length=MAX_ANSWERS,
        description="quiz: one entry per question, the chosen choice's index or null",
    )
    body: Annotated[str, StringConstraints(max_length=MAX_BODY), NoNul] | None = Field(
        default=None, description="assignment: Markdown, ≤ 100,000 characters"
    )
    links: list[Url] | None = Field(
        default=None, max_length=MAX_LINKS, description="assignment: ≤ 10 http(s) URLs"
    )


class GradeInput(_Input):
    score: StrictFloat = Field(allow_inf_nan=False, description="0 ≤ score ≤ max_points")
    feedback: Annotated[str, StringConstraints(max_length=MAX_FEEDBACK), NoNul] | None = None


# ---------------------------------------------------------------- submissions


class QuizResult(BaseModel):
    correct: bool


class SubmissionPublic(BaseModel):
    """A submission; ``answers``/``results`` for a quiz, ``body``/``links`` for an assignment
    (the fields of the other kind are left out)."""

    id: uuid.UUID
    post_id: uuid.UUID
    user_id: uuid.UUID
    kind: str
    attempt: int
    status: SubmissionStatus
    submitted_at: dt.datetime
    due_at: dt.datetime | None = Field(
        default=None,
        description="the student's due date when it was submitted (their own, their "
        "groups' or the post's; null: none applied, or submitted before it was kept); "
        "``late`` is ``submitted_at > due_at`` and neither changes afterwards",
    )
    late: bool
    score: float | None
    max_points: int
    feedback: str | None
    graded_at: dt.datetime | None
    grader_id: uuid.UUID | None
    version: int
    answers: list[int | None] | None = None
    results: list[QuizResult] | None = None
    body: str | None = None
    links: list[str] | None = None


class SubmissionWithStudent(SubmissionPublic):
    """A submission in a post's list (``GET /posts/{post_id}/submissions``), with its
    student's names: identity's, kept from its events, null while the student's
    registration has not reached assessment yet."""

    username: str | None
    display_name: str | None


class CourseSubmission(SubmissionWithStudent):
    """A submission in a course's grading queue (``GET /courses/{course_id}/submissions``,
    an extension: docs/api-notes.md), with the title of the post it answers."""

    post_title: str


QUIZ_ONLY = ("answers", "results")
ASSIGNMENT_ONLY = ("body", "links")


def submission_document(row: Any) -> dict[str, Any]:
    """A submission row as its public document (plain data, fields of its kind only)."""
    doc: dict[str, Any] = {
        "id": row.id,
        "post_id": row.post_id,
        "user_id": row.user_id,
        "kind": row.kind,
        "attempt": row.attempt,
        "status": row.status,
        "submitted_at": row.submitted_at,
        "due_at": row.due_at,
        "late": row.late,
        "score": None if row.score is None else float(row.score),
        "max_points": row.max_points,
        "feedback": row.feedback,
        "graded_at": row.graded_at,
        "grader_id": row.grader_id,
        "version": row.version,
    }
    if row.kind == "quiz":
        doc["answers"] = row.answers
        doc["results"] = row.results
    else:
        doc["body"] = row.body
        doc["links"] = row.links or []
    return doc


# ---------------------------------------------------------------- grades


class PostGradeEntry(BaseModel):
    post_id: uuid.UUID
    module_id: uuid.UUID
    title: str
    kind: str
    max_points: int
    kept_score: float | None
    status: GradeStatus
    attempts_used: int
    late: bool
    due_at: dt.datetime | None = Field(
        default=None,
        description="the student's own due date for the post now (their own override, "
        "else their groups' latest, else the post's; null: none)",
    )


class GradesDocument(BaseModel):
    course_id: uuid.UUID
    user_id: uuid.UUID
    earned: float
    possible: int
    percent: float
    posts: list[PostGradeEntry]


class GradebookCell(BaseModel):
    """A student's standing on one gradable post, in a gradebook row (an extension:
    docs/api-notes.md): the kept score (null when none), the latest attempt's status."""

    post_id: uuid.UUID
    kept_score: float | None
    status: GradeStatus
    late: bool


class GradebookRow(BaseModel):
    """One student's row of a course's gradebook; the names are identity's, kept from its
    events (null while the student's registration has not reached assessment yet).
    ``scores`` has one cell per gradable post, in the page's ``posts`` order."""

    user_id: uuid.UUID
    username: str | None
    display_name: str | None
    earned: float
    possible: int
    percent: float
    graded: int
    submitted: int
    missing: int
    scores: list[GradebookCell]


class GradebookColumn(BaseModel):
    """A gradable post of the course, a column of its gradebook."""

    post_id: uuid.UUID
    module_id: uuid.UUID
    title: str
    kind: str
    max_points: int


class GradebookPage(BaseModel):
    """A page of a course's gradebook: the rows, the cursor, and (an extension) the
    course's gradable posts in course order, which each row's ``scores`` follow."""

    items: list[GradebookRow]
    next_cursor: str | None
    posts: list[GradebookColumn]

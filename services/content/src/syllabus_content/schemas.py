"""Content API shapes. The typed content is a discriminated union on ``kind``.

Inputs are strict (limits from API.md, unknown fields refused); the views that
render stored content are lenient, so tightening a limit later never makes an
existing post unreadable.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError


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


def _rfc3339_text(value: Any) -> Any:
    # Timestamps are RFC 3339 strings, not numbers (pydantic would read epoch seconds).
    if not isinstance(value, str | dt.datetime):
        raise PydanticCustomError("datetime_type", "Input should be an RFC 3339 timestamp")
    return value


def _quiz_attempts(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError(
            "quiz_attempts_null",
            "a quiz allows a number of attempts (an integer >= 1, default 1); "
            "unlimited (null) is for assignments",
        )
    return value


MAX_BODY = 100_000
MAX_INSTRUCTIONS = 20_000
MAX_QUESTIONS = 200
MAX_CHOICES = 20
MAX_ATTEMPTS = 1_000
QUIZ_DEFAULT_ATTEMPTS = 1

NoNul = AfterValidator(_no_nul)
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul
]
Url = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2048), AfterValidator(_http_url), NoNul
]
Points = Annotated[int, Field(gt=0, le=100_000)]
# Gradable kinds: when work is due (RFC 3339 with a timezone) and how many attempts a
# student has (strict integers: "2", 1.5 and true are refused).
DueAt = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]


def _in_utc(value: dt.datetime) -> dt.datetime:
    # Stored as timestamptz (UTC): refuse, as 422, a time UTC cannot represent
    # (0001-01-01T00:00+01:00), which would otherwise fail on the way back out.
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("must be representable in UTC") from None


# A due override's time: as DueAt, kept in a timestamptz column.
OverrideDueAt = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text), AfterValidator(_in_utc)]
Attempts = Annotated[int, Field(strict=True, ge=1, le=MAX_ATTEMPTS)]


class PostStatus(StrEnum):
    draft = "draft"
    published = "published"


class _Input(BaseModel):
    # Unknown fields are refused: a typo must not be silently ignored.
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- content (input)


class TextContent(_Input):
    kind: Literal["text"]
    body: Annotated[str, StringConstraints(max_length=MAX_BODY), NoNul] = Field(
        description="Markdown"
    )


class VideoContent(_Input):
    kind: Literal["video"]
    url: Url
    duration_seconds: int | None = Field(default=None, gt=0)


class LinkContent(_Input):
    kind: Literal["link"]
    url: Url


class AssignmentContent(_Input):
    kind: Literal["assignment"]
    instructions: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_INSTRUCTIONS),
        NoNul,
    ]
    max_points: Points
    due_at: DueAt | None = None
    attempts: Attempts | None = Field(default=None, description="null: unlimited (the default)")


class QuizQuestion(_Input):
    prompt: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), NoNul
    ]
    choices: list[Annotated[str, StringConstraints(min_length=1, max_length=1000), NoNul]] = Field(
        min_length=2, max_length=MAX_CHOICES
    )
    answer_index: int = Field(ge=0, description="0-based index into choices")

    @field_validator("answer_index")
    @classmethod
    def _within_choices(cls, value: int, info: ValidationInfo) -> int:
        choices = info.data.get("choices")  # absent when the choices were invalid themselves
        if choices is not None and value >= len(choices):
            raise ValueError(f"must be an index into choices (0-{len(choices) - 1})")
        return value


class QuizContent(_Input):
    kind: Literal["quiz"]
    questions: list[QuizQuestion] = Field(min_length=1, max_length=MAX_QUESTIONS)
    max_points: Points
    due_at: DueAt | None = None
    # A quiz always has a number of attempts, stored and shown explicitly (default 1);
    # null (unlimited) is for assignments only.
    attempts: Annotated[Attempts, BeforeValidator(_quiz_attempts)] = QUIZ_DEFAULT_ATTEMPTS


_KINDS = ("text", "video", "link", "assignment", "quiz")


def _name_fields_plainly(value: Any, handler: Any) -> Any:
    """Errors name ``content.questions.0.answer_index``, not ``content.quiz.questions...``.

    Pydantic puts the union tag into the location of a discriminated union's errors;
    clients know the field by its path in their document, so the tag is dropped, and
    a missing or unknown ``kind`` is reported on ``content.kind``.
    """
    try:
        return handler(value)
    except ValidationError as exc:
        details: list[InitErrorDetails] = []
        for err in exc.errors():
            loc, kind, message = tuple(err["loc"]), err["type"], err["msg"]
            if kind in ("union_tag_invalid", "union_tag_not_found"):
                loc = ("kind",)
            elif kind == "model_attributes_type":
                # A non-object here is invalid content (422), not a malformed body (400).
                kind, message = "dict_type", "Input should be an object"
            elif loc and loc[0] in _KINDS:
                loc = loc[1:]
            # Re-raised with the message already rendered (no context needed to format it).
            details.append(
                {"type": PydanticCustomError(kind, message), "loc": loc, "input": err.get("input")}
            )
        raise ValidationError.from_exception_data(exc.title, details) from None


PostContent = Annotated[
    TextContent | VideoContent | LinkContent | AssignmentContent | QuizContent,
    Field(discriminator="kind"),
    WrapValidator(_name_fields_plainly),
]


# ---------------------------------------------------------------- completion rules


class CompletionRuleName(StrEnum):
    mark_done = "mark_done"
    view = "view"
    submit = "submit"
    min_score = "min_score"


# A JSON number (strict: "5" and true are refused), finite and positive; its upper bound is
# the post's max_points (rules.check_completion, which knows the post).
MinScore = Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]


class CompletionRuleIn(_Input):
    """How a student completes the post. ``submit`` and ``min_score`` only on gradable
    kinds (assignment, quiz); ``min_score`` with ``0 < min_score <= max_points``, and
    ``min_score`` with no other rule."""

    rule: CompletionRuleName
    min_score: MinScore | None = Field(
        default=None, validate_default=True, description="only (and required) with min_score"
    )

    @field_validator("min_score")
    @classmethod
    def _only_with_min_score(cls, value: float | None, info: ValidationInfo) -> float | None:
        rule = info.data.get("rule")  # absent when the rule was invalid itself
        if rule is CompletionRuleName.min_score and value is None:
            raise PydanticCustomError(
                "min_score_missing", "the min_score rule needs a min_score (a number > 0)"
            )
        if rule is not None and rule is not CompletionRuleName.min_score and value is not None:
            raise PydanticCustomError(
                "min_score_unexpected", f"min_score goes only with the min_score rule, not {rule}"
            )
        return value


def _an_object(value: Any) -> Any:
    # A non-object here is an invalid rule (422 on ``completion``), not a malformed body.
    if value is not None and not isinstance(value, dict | CompletionRuleIn):
        raise PydanticCustomError("dict_type", "Input should be an object")
    return value


CompletionRuleField = Annotated[CompletionRuleIn, BeforeValidator(_an_object)]


class CompletionRuleView(BaseModel):
    """A post's effective completion rule (the kind's default when none was set)."""

    rule: CompletionRuleName
    min_score: float | None = Field(
        default=None,
        exclude_if=lambda v: v is None,  # {"rule": "view"}, as API.md writes it
        description="only with the min_score rule",
    )


# ---------------------------------------------------------------- posts (input)


class PostCreate(_Input):
    title: Title
    content: PostContent
    position: int | None = Field(default=None, ge=1, description="default: at the end")
    status: PostStatus = PostStatus.draft
    completion: CompletionRuleField | None = Field(
        default=None,
        description="default: mark_done for text, video, link; submit for assignment, quiz",
    )


class PostUpdate(_Input):
    """Every field optional; ``content`` replaces the whole content and keeps its ``kind``."""

    title: Title | None = None
    content: PostContent | None = None
    status: PostStatus | None = None
    position: int | None = Field(default=None, ge=1)
    completion: CompletionRuleField | None = None


class ReorderPosts(_Input):
    post_ids: list[uuid.UUID] = Field(max_length=1000)


# ---------------------------------------------------------------- views (output)


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TextView(_View):
    kind: Literal["text"]
    body: str


class VideoView(_View):
    kind: Literal["video"]
    url: str
    duration_seconds: int | None = None


class LinkView(_View):
    kind: Literal["link"]
    url: str


class AssignmentView(_View):
    kind: Literal["assignment"]
    instructions: str
    max_points: int
    due_at: dt.datetime | None = None
    attempts: int | None = Field(default=None, description="null: unlimited")


class QuizQuestionView(_View):
    prompt: str
    choices: list[str]
    answer_index: int | None = Field(
        default=None,
        exclude_if=lambda v: v is None,  # hidden answers are left out, not shown as null
        description="only shown to the module's owner and admins",
    )


class QuizView(_View):
    kind: Literal["quiz"]
    questions: list[QuizQuestionView]
    max_points: int
    due_at: dt.datetime | None = None
    attempts: int = QUIZ_DEFAULT_ATTEMPTS  # quizzes stored before attempts existed: 1


ContentView = Annotated[
    TextView | VideoView | LinkView | AssignmentView | QuizView, Field(discriminator="kind")
]


class PostPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    module_id: uuid.UUID
    title: str
    position: int
    status: PostStatus
    content: ContentView
    completion: CompletionRuleView
    creator_id: uuid.UUID | None  # null once the creator's account was deleted
    completion_count: int
    submission_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class PostOrderEntry(BaseModel):
    """A post's place in its module."""

    post_id: uuid.UUID
    position: int
    title: str
    kind: str
    status: PostStatus


# ---------------------------------------------------------------- due overrides


class DueOverrideBody(_Input):
    """``PUT /posts/{post_id}/overrides/{kind}/{id}``: when the post is due for those
    students."""

    due_at: OverrideDueAt


class DueOverridePublic(BaseModel):
    """A gradable post's due time for one group's members (``kind`` group) or one student
    (``kind`` user), instead of the post's ``due_at`` (docs/dates.md)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID  # contracts.catalog.override_id(post_id, post_id, kind, target_id)
    post_id: uuid.UUID
    kind: Literal["group", "user"]
    target_id: uuid.UUID  # the group's or the student's id
    due_at: dt.datetime
    created_at: dt.datetime  # when it was set (again, after a removal)
    updated_at: dt.datetime
    version: int

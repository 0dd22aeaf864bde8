"""Catalog API shapes. Validation lives once, in the base classes."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
)


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL: refuse it here (422), not in the database (500).
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(_no_nul)
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul
]
LongText = Annotated[str, StringConstraints(max_length=20_000), NoNul]


def _in_utc(value: dt.datetime) -> dt.datetime:
    # Stored as timestamptz (UTC): refuse, as 422, a time UTC cannot represent
    # (0001-01-01T00:00+01:00), which would otherwise fail on the way back out.
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("must be representable in UTC") from None


def _rfc3339_text(value: object) -> object:
    # JSON carries times as strings: a number (a Unix time?) or a boolean is refused.
    if isinstance(value, (int, float)):
        raise ValueError("must be an RFC 3339 date-time string with a timezone")
    return value


# RFC 3339 with a timezone; a naive time is refused (422), never guessed.
Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text), AfterValidator(_in_utc)]


class CourseStatus(StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


class Visibility(StrEnum):
    public = "public"
    private = "private"


class _Input(BaseModel):
    # Unknown fields are refused: a typo ("stauts") must not be silently ignored.
    model_config = ConfigDict(extra="forbid")


class CourseCreate(_Input):
    title: Title
    description: LongText = ""
    learning_objectives: LongText | None = None
    prerequisites: LongText | None = None
    visibility: Visibility = Visibility.public
    sequential: StrictBool = False


class CourseUpdate(_Input):
    title: Title | None = None
    description: LongText | None = None
    learning_objectives: LongText | None = None
    prerequisites: LongText | None = None
    visibility: Visibility | None = None
    status: CourseStatus | None = None
    sequential: StrictBool | None = None


class CoursePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    title: str
    description: str
    learning_objectives: str | None
    prerequisites: str | None
    status: CourseStatus
    visibility: Visibility
    sequential: bool
    creator_id: uuid.UUID | None  # null once the creator's account was deleted
    enrollment_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class ModuleCreate(_Input):
    title: Title
    description: LongText = ""


class ModuleUpdate(_Input):
    title: Title | None = None
    description: LongText | None = None


class ModulePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str
    creator_id: uuid.UUID | None  # null once the creator's account was deleted
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class OutlineEntry(BaseModel):
    """A module's place in a course, and its gating there."""

    module_id: uuid.UUID
    position: int
    title: str
    prerequisites: list[uuid.UUID]
    unlock_at: dt.datetime | None


class AttachModule(_Input):
    module_id: uuid.UUID
    position: int | None = Field(default=None, ge=1)


class MoveModule(_Input):
    """A change to an attached module: its position, its gating, or both (absent: kept)."""

    position: int | None = Field(default=None, ge=1)
    # Other modules of the same course; duplicates are dropped ([] clears, null is 422).
    prerequisites: list[uuid.UUID] | None = Field(default=None, max_length=1000)
    # null clears it.
    unlock_at: Instant | None = None


class ReorderModules(_Input):
    module_ids: list[uuid.UUID] = Field(max_length=1000)


class ModuleUsage(BaseModel):
    """A course that uses a module, and the module's position in it."""

    course_id: uuid.UUID
    slug: str
    title: str
    status: CourseStatus
    position: int


class UnlockOverrideBody(_Input):
    """``PUT .../overrides/{kind}/{id}``: when the module opens for those students."""

    unlock_at: Instant


class UnlockOverridePublic(BaseModel):
    """A module's unlock time in a course for one group's members (``kind`` group) or one
    student (``kind`` user), instead of the course's ``unlock_at`` (docs/dates.md)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID  # contracts.catalog.override_id(course_id, module_id, kind, target_id)
    course_id: uuid.UUID
    module_id: uuid.UUID
    kind: Literal["group", "user"]
    target_id: uuid.UUID  # the group's or the student's id
    unlock_at: dt.datetime
    created_at: dt.datetime  # when it was set (again, after a removal)
    updated_at: dt.datetime
    version: int

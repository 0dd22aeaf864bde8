"""Progress API shapes (see API.md, "Progress: enrollments and completions")."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from syllabus_shared.contracts import progress as ev


class EnrollmentStatus(StrEnum):
    active = "active"
    completed = "completed"
    dropped = "dropped"


class SelfSource(BaseModel):
    """The student enrolled themselves."""

    kind: Literal["self"] = "self"


class GroupSource(BaseModel):
    """The student is a member of a group the course follows."""

    kind: Literal["group"] = "group"
    group_id: uuid.UUID


# Why an enrollment is active.
EnrollmentSource = Annotated[SelfSource | GroupSource, Field(discriminator="kind")]


def api_sources(found: Iterable[ev.EnrollmentSource]) -> list[SelfSource | GroupSource]:
    """The sources an event carries, as the API shows them."""
    return [
        GroupSource(group_id=s.group_id) if s.kind == "group" and s.group_id else SelfSource()
        for s in found
    ]


class EnrollmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID
    status: EnrollmentStatus
    enrolled_at: dt.datetime
    completed_at: dt.datetime | None
    version: int
    # Empty once dropped; the student's own first.
    sources: list[EnrollmentSource] = []


class EnrollmentWithProgress(EnrollmentPublic):
    """One of the caller's enrollments, with how far they are (``GET /me/enrollments``)."""

    percent: float


class CompletionPublic(BaseModel):
    post_id: uuid.UUID
    user_id: uuid.UUID
    completed: bool
    completed_at: dt.datetime | None


class PostStatus(StrEnum):
    not_started = "not_started"
    in_progress = "in_progress"  # opened (or marked, or done while locked), not completed
    submitted = "submitted"  # submitted, nothing graded yet, not completed
    graded = "graded"  # a graded submission (see score), not completed
    completed = "completed"


class ModuleState(StrEnum):
    locked = "locked"
    unlocked = "unlocked"
    started = "started"
    completed = "completed"


class Lock(BaseModel):
    """Why a module or post is locked: ``prerequisite`` (``module_id`` not completed yet),
    ``unlock_at`` (not before ``at``) or ``sequential`` (``post_id`` before it not
    completed yet)."""

    reason: str
    module_id: uuid.UUID | None = None
    at: dt.datetime | None = None
    post_id: uuid.UUID | None = None


class PostProgress(BaseModel):
    post_id: uuid.UUID
    position: int
    title: str
    kind: str
    completed: bool
    completed_at: dt.datetime | None
    locked: bool
    rule: str  # mark_done | view | submit | min_score
    min_score: float | None  # the threshold when rule is min_score, else null
    status: PostStatus
    score: float | None  # the kept score (highest graded), or null


class ModuleProgress(BaseModel):
    module_id: uuid.UUID
    position: int
    title: str
    completed_posts: int
    total_posts: int
    percent: float
    state: ModuleState
    locks: list[Lock]
    posts: list[PostProgress]


class CourseProgress(BaseModel):
    """The progress document: one student in one course, in course and module order."""

    course_id: uuid.UUID
    user_id: uuid.UUID
    status: EnrollmentStatus
    completed_posts: int
    total_posts: int
    percent: float
    next_post_id: uuid.UUID | None
    modules: list[ModuleProgress]


class StudentProgress(BaseModel):
    """One row of a course's roster (``GET /courses/{course_id}/progress``). The names are
    identity's, kept from its events: null while the user's registration has not reached
    progress yet."""

    user_id: uuid.UUID
    username: str | None
    display_name: str | None
    status: EnrollmentStatus
    completed_posts: int
    total_posts: int
    percent: float


# ---------------------------------------------------------------- groups a course follows


class CourseGroupFollow(BaseModel):
    """A course following a group: ``members`` of the group now, of whom ``enrolled`` are
    enrolled in the course (by any source)."""

    course_id: uuid.UUID
    group_id: uuid.UUID
    followed_at: dt.datetime
    members: int
    enrolled: int


class CourseGroupSummary(BaseModel):
    """A group the course follows, with how its members stand in the course: ``enrolled``
    (active or completed, any source), ``completed`` (the course) and the average
    ``percent`` of the enrolled (null when none is)."""

    group_id: uuid.UUID
    name: str
    followed_at: dt.datetime
    members: int
    enrolled: int
    completed: int
    average_percent: float | None

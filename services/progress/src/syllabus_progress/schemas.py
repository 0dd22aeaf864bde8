"""Progress API shapes (see API.md, "Progress: enrollments and completions")."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class EnrollmentStatus(StrEnum):
    active = "active"
    completed = "completed"
    dropped = "dropped"


class EnrollmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID
    status: EnrollmentStatus
    enrolled_at: dt.datetime
    completed_at: dt.datetime | None
    version: int


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

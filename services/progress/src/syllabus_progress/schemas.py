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


class PostProgress(BaseModel):
    post_id: uuid.UUID
    position: int
    title: str
    kind: str
    completed: bool
    completed_at: dt.datetime | None


class ModuleProgress(BaseModel):
    module_id: uuid.UUID
    position: int
    title: str
    completed_posts: int
    total_posts: int
    percent: float
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
    """One row of a course's roster (``GET /courses/{course_id}/progress``)."""

    user_id: uuid.UUID
    status: EnrollmentStatus
    completed_posts: int
    total_posts: int
    percent: float

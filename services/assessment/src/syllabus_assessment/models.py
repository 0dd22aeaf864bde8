"""Assessment tables: its own submissions and kept grades, and a projection of the course
structure and enrollments it decides with.

The projection (``courses``, ``course_modules``, ``modules``, ``posts``, ``module_posts``,
``enrollments``) is built only from catalog's, content's and progress's events; ``users``
(students' names for gradebooks) only from identity's. Its rows
arrive in any interleaving (a post before its module, an outline naming a module not yet
known, an enrollment in a course not yet known), so no projection table needs a parent row:
there are no foreign keys between them and readers join tolerantly. Deleting events leave a
tombstone (``deleted``) whose other columns are reset, so a row is always a function of its
aggregate's newest event alone (a replay equals the live projection).

Groups (``known_groups``, ``group_members``, ``course_groups``: identity's groups and
memberships, progress's follows, kept by ``syllabus_shared.groups``) and ``due_overrides``
(content's per-group and per-student due dates) are facts kept as their events say and
kept across a replay: a student's due date and a gradebook's group filter read them.

``submissions`` are assessment's own data (the ``submission`` event aggregate);
``post_grades`` keeps, per (user, post), what gradebooks read: attempts used, the kept
(highest graded) score, the latest attempt's status and lateness. It is written in the
same transaction as the submission that changes it, so it never drifts from them.

SQLModel table classes on one per-service base (:class:`AssessmentTable`, the service's own
MetaData); set-based writes and the gradebook reads use SQLAlchemy Core over the same tables.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel
from syllabus_shared.db import Entity, new_metadata, table_of
from syllabus_shared.groups import group_tables
from syllabus_shared.messaging.tables import kernel_tables


class AssessmentTable(SQLModel):
    """Base of every assessment table: the service's own MetaData."""

    metadata = new_metadata()


METADATA = AssessmentTable.metadata
TABLES = kernel_tables(METADATA)
# Identity's groups and memberships and progress's follows (``known_groups``,
# ``group_members``, ``course_groups``), kept by the kernel's handlers (``handlers``): facts
# kept across a replay, not part of the emptied projection (below).
GROUPS = group_tables(METADATA)

# Scores: up to 999,999.99 (max_points is an int > 0; 2 decimals as API.md rounds them).
SCORE = Numeric(8, 2)


# ---------------------------------------------------------------- projection (catalog)


class Course(AssessmentTable, table=True):
    """A course as catalog last described it (aggregate ``course``)."""

    __tablename__ = "courses"

    course_id: uuid.UUID = Field(primary_key=True)
    status: str = Field(
        default="draft", sa_type=String(16), sa_column_kwargs={"server_default": "draft"}
    )
    visibility: str = Field(
        default="private", sa_type=String(16), sa_column_kwargs={"server_default": "private"}
    )
    creator_id: uuid.UUID | None = None
    deleted: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class CourseModule(AssessmentTable, table=True):
    """A module's place in a course (aggregate ``course_outline``, replaced wholesale)."""

    __tablename__ = "course_modules"

    course_id: uuid.UUID = Field(primary_key=True)
    module_id: uuid.UUID = Field(primary_key=True, index=True)
    position: int


class Module(AssessmentTable, table=True):
    """A module's owner (aggregate ``module``): one of the graders of its posts."""

    __tablename__ = "modules"

    module_id: uuid.UUID = Field(primary_key=True)
    creator_id: uuid.UUID | None = None
    deleted: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


# ---------------------------------------------------------------- projection (content)


class Post(AssessmentTable, table=True):
    """A post as content last described it (aggregate ``post``), with what grading needs."""

    __tablename__ = "posts"

    post_id: uuid.UUID = Field(primary_key=True)
    module_id: uuid.UUID = Field(index=True)
    title: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    kind: str = Field(default="", sa_type=String(16), sa_column_kwargs={"server_default": ""})
    status: str = Field(
        default="draft", sa_type=String(16), sa_column_kwargs={"server_default": "draft"}
    )
    position: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    max_points: int | None = None
    # Quiz only: the answer index of each question (never served to anyone).
    answer_key: list[int] | None = Field(default=None, sa_type=ARRAY(Integer))
    question_count: int | None = None
    choice_counts: list[int] | None = Field(default=None, sa_type=ARRAY(Integer))
    due_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    attempts: int | None = None  # None: the kind's default (rules.attempts_allowed)
    deleted: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class ModulePost(AssessmentTable, table=True):
    """A post's place in its module (aggregate ``module_posts``, replaced wholesale)."""

    __tablename__ = "module_posts"

    module_id: uuid.UUID = Field(primary_key=True)
    post_id: uuid.UUID = Field(primary_key=True)
    position: int


# ---------------------------------------------------------------- projection (progress)


class Enrollment(AssessmentTable, table=True):
    """A student's enrollment as progress last described it (aggregate ``enrollment``)."""

    __tablename__ = "enrollments"
    __table_args__ = (
        Index("ix_enrollments_course_id_user_id", "course_id", "user_id"),
        Index("ix_enrollments_user_id", "user_id"),
    )

    enrollment_id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID
    course_id: uuid.UUID
    status: str = Field(sa_type=String(16))  # active | completed | dropped


# ---------------------------------------------------------------- projection (identity)


class User(AssessmentTable, table=True):
    """A user's names as identity last described them (aggregate ``user``:
    ``UserRegistered``, ``UserProfileChanged``), shown beside the user id in gradebooks and
    submission lists. A user whose registration has not arrived has no row (null names);
    the row goes with the account (``UserDeleted``)."""

    __tablename__ = "users"

    user_id: uuid.UUID = Field(primary_key=True)
    username: str = Field(sa_type=Text)
    display_name: str | None = Field(default=None, sa_type=Text)


# ---------------------------------------------------------------- dates (content)


class DueOverride(AssessmentTable, table=True):
    """A post's due time for a group's members (``kind`` group) or one student (``kind``
    user) as content last said (aggregate ``due_override``: ``DueOverrideSet`` writes
    the row, ``DueOverrideRemoved`` deletes it). Which date applies to a student:
    ``service.effective_due_at`` (docs/assessment.md, "Due dates per group or student").
    Kept across a replay, like the groups: not part of the emptied projection."""

    __tablename__ = "due_overrides"
    __table_args__ = (
        CheckConstraint("kind IN ('group', 'user')", name="kind"),
        Index("ix_due_overrides_target_id", "target_id"),
    )

    post_id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(primary_key=True, sa_type=String(8))
    target_id: uuid.UUID = Field(primary_key=True)
    due_at: dt.datetime = Field(sa_type=DateTime(timezone=True))


PROJECTION: tuple[type[SQLModel], ...] = (
    Course,
    CourseModule,
    Module,
    Post,
    ModulePost,
    Enrollment,
    User,
)
PROJECTION_TABLES = [table_of(model) for model in PROJECTION]
# The event aggregates the projection is built from (their rows in ``aggregate_versions``).
# Not ``group``, ``group_membership``, ``course_group`` nor ``due_override``: their tables
# are facts kept across a replay (its replayed events are skipped as stale), so a rebuild
# never sees a membership, a follow or a date flicker.
PROJECTED_AGGREGATES = (
    "course",
    "course_outline",
    "module",
    "post",
    "module_posts",
    "enrollment",
    "user",
)

# ---------------------------------------------------------------- assessment's own data


class Submission(AssessmentTable, Entity, table=True):
    """One attempt of a student at a gradable post (event aggregate ``submission``)."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("post_id", "user_id", "attempt", name="uq_submissions_post_user_attempt"),
        CheckConstraint("status IN ('submitted', 'graded')", name="status"),
        CheckConstraint("kind IN ('assignment', 'quiz')", name="kind"),
        CheckConstraint("attempt >= 1", name="attempt_positive"),
        CheckConstraint("score IS NULL OR score >= 0", name="score_not_negative"),
        Index("ix_submissions_post_id_id", "post_id", "id"),
        Index("ix_submissions_user_id", "user_id"),
    )

    post_id: uuid.UUID
    user_id: uuid.UUID
    attempt: int
    kind: str = Field(sa_type=String(16))
    status: str = Field(sa_type=String(16))
    # Quiz: the chosen indices (null: unanswered) and one {"correct": bool} per question.
    answers: list[Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    results: list[Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    # Assignment: Markdown and links.
    body: str | None = Field(default=None, sa_type=Text)
    links: list[Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    submitted_at: dt.datetime = Field(sa_type=DateTime(timezone=True))
    # The student's due date when it was submitted (their own override, their groups', or
    # the post's; null: none, or submitted before this was kept); ``late`` is judged
    # against it and neither changes afterwards.
    due_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    late: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    score: Decimal | None = Field(default=None, sa_type=SCORE)
    max_points: int
    feedback: str | None = Field(default=None, sa_type=Text)
    graded_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    grader_id: uuid.UUID | None = None


class PostGrade(AssessmentTable, table=True):
    """A student's standing on one post, kept with every submission and grade."""

    __tablename__ = "post_grades"
    __table_args__ = (
        CheckConstraint("status IN ('submitted', 'graded')", name="status"),
        Index("ix_post_grades_post_id", "post_id"),
    )

    user_id: uuid.UUID = Field(primary_key=True)
    post_id: uuid.UUID = Field(primary_key=True)
    attempts_used: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The latest attempt's status and lateness.
    status: str = Field(sa_type=String(16))
    late: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # The highest score among the graded submissions (None while none is graded).
    kept_score: Decimal | None = Field(default=None, sa_type=SCORE)
    updated_at: dt.datetime = Field(sa_type=DateTime(timezone=True))

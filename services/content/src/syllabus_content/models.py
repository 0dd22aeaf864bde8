"""Content tables: posts, their due overrides per group and per student, and the
projections of catalog, progress and assessment that content needs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel
from syllabus_shared.db import Entity, new_metadata
from syllabus_shared.groups import group_tables
from syllabus_shared.messaging.tables import kernel_tables


class ContentTable(SQLModel):
    """The base of content's tables: carries content's own MetaData."""

    metadata = new_metadata()


METADATA = ContentTable.metadata
TABLES = kernel_tables(METADATA)
# Which groups each course follows (progress's CourseGroupFollowed/Unfollowed): a group due
# override needs a course containing the post to follow the group. Only ``course_groups``
# is filled (content does not consume identity's group events); the kernel declares its
# three tables together.
GROUPS = group_tables(METADATA)

KINDS = ("text", "video", "link", "assignment", "quiz")
GRADABLE = ("assignment", "quiz")
COMPLETION_RULES = ("mark_done", "view", "submit", "min_score")


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(repr(v) for v in values)


class Post(ContentTable, Entity, table=True):
    """A post at its place in a module. ``content`` is the typed content, validated at the API."""

    __tablename__ = "posts"
    __table_args__ = (
        # Deferred, so a reorder can pass through transient duplicates inside its transaction.
        UniqueConstraint(
            "module_id",
            "position",
            name="uq_posts_module_position",
            deferrable=True,
            initially="DEFERRED",
        ),
        CheckConstraint("position >= 1", name="position_positive"),
        CheckConstraint("status IN ('draft', 'published')", name="status"),
        CheckConstraint(f"kind IN ({_sql_list(KINDS)})", name="kind"),
        # The JSON document and the column never disagree on what the post is.
        CheckConstraint("content->>'kind' = kind", name="content_kind"),
        # Completion rules (validated at the API; these are the guard rails): a known rule,
        # submit and min_score only on gradable kinds, a positive min_score with min_score
        # and only there (its bound by max_points is checked in rules.py).
        CheckConstraint(
            f"completion_rule IN ({_sql_list(COMPLETION_RULES)})", name="completion_rule"
        ),
        CheckConstraint(
            f"completion_rule IN ('mark_done', 'view') OR kind IN ({_sql_list(GRADABLE)})",
            name="completion_rule_gradable",
        ),
        CheckConstraint(
            "(completion_rule = 'min_score') = (completion_min_score IS NOT NULL)"
            " AND (completion_min_score IS NULL OR completion_min_score > 0)",
            name="completion_min_score",
        ),
    )

    module_id: uuid.UUID
    title: str = Field(sa_type=String(200))
    position: int
    status: str = Field(
        default="draft", sa_type=String(16), sa_column_kwargs={"server_default": "draft"}
    )
    kind: str = Field(sa_type=String(16))
    content: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    # None once the creator's account was deleted: the post stays (the module's owner and
    # admins manage it, as before).
    creator_id: uuid.UUID | None = None
    # How a student completes it (rules.completion_of; the kind's default when created
    # without one): mark_done | view | submit | min_score (with completion_min_score).
    completion_rule: str = Field(sa_type=String(16))
    completion_min_score: float | None = Field(default=None, sa_type=Float)
    # Kept from progress's completion events (one row per completion, recounted).
    completion_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Kept from assessment's SubmissionCreated: distinct students who submitted, recounted.
    submission_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class KnownModule(ContentTable, table=True):
    """Catalog's modules as content knows them (from ModuleCreated/Updated/Deleted).

    A ``ModuleDeleted`` that arrives before the module's creation leaves a tombstone
    (``deleted``, no owner), so the late creation is recognised as stale.
    """

    __tablename__ = "modules"

    module_id: uuid.UUID = Field(primary_key=True)
    creator_id: uuid.UUID | None = None
    title: str | None = Field(default=None, sa_type=String(200))
    deleted: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    # Content's own counter: the ``sequence`` of the module's ``module_posts`` aggregate.
    posts_order_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class KnownCourse(ContentTable, table=True):
    """Catalog's courses, for visibility: which courses a caller may see."""

    __tablename__ = "courses"

    course_id: uuid.UUID = Field(primary_key=True)
    status: str | None = Field(default=None, sa_type=String(16))
    visibility: str | None = Field(default=None, sa_type=String(16))
    creator_id: uuid.UUID | None = None
    deleted: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})


class CourseModule(ContentTable, table=True):
    """Which modules each course uses (replaced wholesale on each outline event)."""

    __tablename__ = "course_modules"

    course_id: uuid.UUID = Field(primary_key=True)
    module_id: uuid.UUID = Field(primary_key=True, index=True)
    position: int


class Completion(ContentTable, table=True):
    """Progress's completions, one row each with its latest state, for ``completion_count``.

    ``user_id`` (the student) lets a ``UserDeleted`` remove the student's rows; rows
    projected before it existed have none until their completion's next event."""

    __tablename__ = "completions"
    __table_args__ = (
        Index("ix_completions_post_id_completed", "post_id", "completed"),
        Index("ix_completions_user_id", "user_id"),
    )

    completion_id: uuid.UUID = Field(primary_key=True)
    post_id: uuid.UUID
    completed: bool
    user_id: uuid.UUID | None = None


class Submission(ContentTable, table=True):
    """Assessment's submissions, one row each (who submitted to which post), for
    ``submission_count`` = distinct users per post."""

    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_post_id_user_id", "post_id", "user_id"),
        Index("ix_submissions_user_id", "user_id"),
    )

    submission_id: uuid.UUID = Field(primary_key=True)
    post_id: uuid.UUID
    user_id: uuid.UUID


class PostView(ContentTable, table=True):
    """A student's first opening of a post (``GET /posts/{id}``): one row per (post, user),
    inserted with ``ON CONFLICT DO NOTHING``; the insert that wins publishes ``PostViewed``
    with ``view_id`` in the same transaction. Deleted with the post."""

    __tablename__ = "post_views"
    __table_args__ = (Index("ix_post_views_user_id", "user_id"),)

    post_id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(primary_key=True)
    view_id: uuid.UUID
    viewed_at: dt.datetime = Field(sa_type=DateTime(timezone=True))


class Enrollment(ContentTable, table=True):
    """Progress's enrollments, one row each with its latest status: a student's due
    override needs them enrolled (active or completed) in a course containing the post.
    Gone with the student's account (``UserDeleted``)."""

    __tablename__ = "enrollments"
    __table_args__ = (
        Index("ix_enrollments_user_id", "user_id"),
        Index("ix_enrollments_course_id", "course_id"),
    )

    enrollment_id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID
    course_id: uuid.UUID
    status: str = Field(sa_type=String(16))


class DueOverride(ContentTable, Entity, table=True):
    """A post's due time for a group's members or one student, instead of the post's
    ``due_at`` (docs/dates.md); gradable posts only.

    ``id`` is ``contracts.catalog.override_id(post_id, post_id, kind, target_id)``, so
    removing and setting it again is one row whose ``version`` (the events' sequence)
    goes on: a removed override stays as a row with ``active`` false and no ``due_at``.
    Rows go with their post."""

    __tablename__ = "due_overrides"
    __table_args__ = (
        CheckConstraint("kind IN ('group', 'user')", name="kind"),
        CheckConstraint("active = (due_at IS NOT NULL)", name="active_has_due_at"),
    )

    post_id: uuid.UUID = Field(foreign_key="posts.id", ondelete="CASCADE", index=True)
    kind: str = Field(sa_type=String(8))
    target_id: uuid.UUID
    due_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    active: bool = Field(default=True, sa_type=Boolean)

"""Content tables: posts, and the projections of catalog, progress and assessment that
content needs."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel
from syllabus_shared.db import Entity, new_metadata
from syllabus_shared.messaging.tables import kernel_tables


class ContentTable(SQLModel):
    """The base of content's tables: carries content's own MetaData."""

    metadata = new_metadata()


METADATA = ContentTable.metadata
TABLES = kernel_tables(METADATA)

KINDS = ("text", "video", "link", "assignment", "quiz")


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
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in KINDS)})", name="kind"),
        # The JSON document and the column never disagree on what the post is.
        CheckConstraint("content->>'kind' = kind", name="content_kind"),
    )

    module_id: uuid.UUID
    title: str = Field(sa_type=String(200))
    position: int
    status: str = Field(
        default="draft", sa_type=String(16), sa_column_kwargs={"server_default": "draft"}
    )
    kind: str = Field(sa_type=String(16))
    content: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    creator_id: uuid.UUID
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
    """Progress's completions, one row each with its latest state, for ``completion_count``."""

    __tablename__ = "completions"
    __table_args__ = (Index("ix_completions_post_id_completed", "post_id", "completed"),)

    completion_id: uuid.UUID = Field(primary_key=True)
    post_id: uuid.UUID
    completed: bool


class Submission(ContentTable, table=True):
    """Assessment's submissions, one row each (who submitted to which post), for
    ``submission_count`` = distinct users per post."""

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_post_id_user_id", "post_id", "user_id"),)

    submission_id: uuid.UUID = Field(primary_key=True)
    post_id: uuid.UUID
    user_id: uuid.UUID

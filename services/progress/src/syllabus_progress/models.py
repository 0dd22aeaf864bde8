"""Progress tables: its own enrollments and completions, and a projection of course structure.

The projection (``courses``, ``course_modules``, ``modules``, ``posts``, ``module_posts``) is
built only from catalog's and content's events. Its rows arrive in any interleaving (a post
before its module, an outline naming a module not yet known), so no projection table needs a
parent row to exist: there are no foreign keys between them, and readers join tolerantly.
Deleting events leave a tombstone (``deleted``) whose other columns are reset, so a row is
always a function of its aggregate's newest event alone (replays equal live projections).

SQLModel table classes on one per-service base (:class:`ProgressTable`, the service's own
MetaData); set-based writes and the hot reads use SQLAlchemy Core over the same tables.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import cast

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlmodel import Field, SQLModel
from syllabus_shared.db import Entity, new_metadata
from syllabus_shared.messaging.tables import kernel_tables


class ProgressTable(SQLModel):
    """Base of every progress table: the service's own MetaData."""

    metadata = new_metadata()


METADATA = ProgressTable.metadata
TABLES = kernel_tables(METADATA)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a SQLModel table class."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- projection (catalog, content)


class Course(ProgressTable, table=True):
    """A course as catalog last described it (aggregate ``course``)."""

    __tablename__ = "courses"

    course_id: uuid.UUID = Field(primary_key=True)
    title: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    status: str = Field(
        default="draft", sa_type=String(16), sa_column_kwargs={"server_default": "draft"}
    )
    visibility: str = Field(
        default="private", sa_type=String(16), sa_column_kwargs={"server_default": "private"}
    )
    creator_id: uuid.UUID | None = None
    deleted: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class CourseModule(ProgressTable, table=True):
    """A module's place in a course (aggregate ``course_outline``, replaced wholesale)."""

    __tablename__ = "course_modules"

    course_id: uuid.UUID = Field(primary_key=True)
    module_id: uuid.UUID = Field(primary_key=True, index=True)
    position: int


class Module(ProgressTable, table=True):
    """A module's title (aggregate ``module``)."""

    __tablename__ = "modules"

    module_id: uuid.UUID = Field(primary_key=True)
    title: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    deleted: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class Post(ProgressTable, table=True):
    """A post as content last described it (aggregate ``post``)."""

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
    deleted: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class ModulePost(ProgressTable, table=True):
    """A post's place in its module (aggregate ``module_posts``, replaced wholesale)."""

    __tablename__ = "module_posts"

    module_id: uuid.UUID = Field(primary_key=True)
    post_id: uuid.UUID = Field(primary_key=True)
    position: int


PROJECTION: tuple[type[SQLModel], ...] = (Course, CourseModule, Module, Post, ModulePost)
PROJECTION_TABLES = [table_of(model) for model in PROJECTION]
# The event aggregates the projection is built from (their rows in ``aggregate_versions``).
PROJECTED_AGGREGATES = ("course", "course_outline", "module", "post", "module_posts")

# ---------------------------------------------------------------- progress's own data


class Enrollment(ProgressTable, Entity, table=True):
    """A student in a course; one row per (user, course), reactivated on re-enrolment."""

    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id", name="uq_enrollments_user_course"),
        CheckConstraint("status IN ('active', 'completed', 'dropped')", name="status"),
    )

    user_id: uuid.UUID
    course_id: uuid.UUID = Field(index=True)
    status: str = Field(
        default="active", sa_type=String(16), sa_column_kwargs={"server_default": "active"}
    )
    enrolled_at: dt.datetime = Field(sa_type=DateTime(timezone=True))
    completed_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    dropped_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Completion(ProgressTable, Entity, table=True):
    """A (user, post) pair. Unmarking keeps the row (``completed`` false, version + 1), so
    the completion aggregate's sequence keeps growing across mark/unmark/mark."""

    __tablename__ = "completions"
    __table_args__ = (
        UniqueConstraint("user_id", "post_id", name="uq_completions_user_post"),
        Index("ix_completions_post_id", "post_id"),
    )

    user_id: uuid.UUID
    post_id: uuid.UUID
    completed: bool = Field(default=True, sa_column_kwargs={"server_default": "true"})
    completed_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))

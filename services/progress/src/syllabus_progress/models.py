"""Progress tables: its own enrollments and completions, and a projection of course structure.

The projection (``courses``, ``course_modules``, ``modules``, ``posts``, ``module_posts``) is
built only from catalog's and content's events. Its rows arrive in any interleaving (a post
before its module, an outline naming a module not yet known), so no projection table needs a
parent row to exist: there are no foreign keys between them, and readers join tolerantly.
Deleting events leave a tombstone (``deleted``) whose other columns are reset, so a row is
always a function of its aggregate's newest event alone (rebuilds equal live projections).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from syllabus_shared.db import EntityMixin, new_metadata
from syllabus_shared.messaging.tables import kernel_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


TABLES = kernel_tables(Base.metadata)

# ---------------------------------------------------------------- projection (catalog, content)


class Course(Base):
    """A course as catalog last described it (aggregate ``course``)."""

    __tablename__ = "courses"

    course_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    visibility: Mapped[str] = mapped_column(String(16), default="private", server_default="private")
    creator_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class CourseModule(Base):
    """A module's place in a course (aggregate ``course_outline``, replaced wholesale)."""

    __tablename__ = "course_modules"

    course_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    module_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)


class Module(Base):
    """A module's title (aggregate ``module``)."""

    __tablename__ = "modules"

    module_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="", server_default="")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Post(Base):
    """A post as content last described it (aggregate ``post``)."""

    __tablename__ = "posts"

    post_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    module_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    title: Mapped[str] = mapped_column(Text, default="", server_default="")
    kind: Mapped[str] = mapped_column(String(16), default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    max_points: Mapped[int | None] = mapped_column(Integer)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ModulePost(Base):
    """A post's place in its module (aggregate ``module_posts``, replaced wholesale)."""

    __tablename__ = "module_posts"

    module_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    post_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


PROJECTION = (Course, CourseModule, Module, Post, ModulePost)
# The event aggregates the projection is built from (their rows in ``aggregate_versions``).
PROJECTED_AGGREGATES = ("course", "course_outline", "module", "post", "module_posts")

# ---------------------------------------------------------------- progress's own data


class Enrollment(EntityMixin, Base):
    """A student in a course; one row per (user, course), reactivated on re-enrolment."""

    __tablename__ = "enrollments"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    course_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    enrolled_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    dropped_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("user_id", "course_id", name="uq_enrollments_user_course"),
        CheckConstraint("status IN ('active', 'completed', 'dropped')", name="status"),
    )


class Completion(EntityMixin, Base):
    """A (user, post) pair. Unmarking keeps the row (``completed`` false, version + 1), so
    the completion aggregate's sequence keeps growing across mark/unmark/mark."""

    __tablename__ = "completions"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    post_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    completed: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("user_id", "post_id", name="uq_completions_user_post"),
        Index("ix_completions_post_id", "post_id"),
    )

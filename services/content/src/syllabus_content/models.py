"""Content tables: posts, and the projections of catalog and progress that content needs."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from syllabus_shared.db import EntityMixin, new_metadata
from syllabus_shared.messaging.tables import kernel_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


TABLES = kernel_tables(Base.metadata)

KINDS = ("text", "video", "link", "assignment", "quiz")


class Post(EntityMixin, Base):
    """A post at its place in a module. ``content`` is the typed content, validated at the API."""

    __tablename__ = "posts"

    module_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    kind: Mapped[str] = mapped_column(String(16))
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    creator_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # Kept from progress's completion events (one row per completion, recounted).
    completion_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

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


class KnownModule(Base):
    """Catalog's modules as content knows them (from ModuleCreated/Updated/Deleted).

    A ``ModuleDeleted`` that arrives before the module's creation leaves a tombstone
    (``deleted``, no owner), so the late creation is recognised as stale.
    """

    __tablename__ = "modules"

    module_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    creator_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    title: Mapped[str | None] = mapped_column(String(200))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Content's own counter: the ``sequence`` of the module's ``module_posts`` aggregate.
    posts_order_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class KnownCourse(Base):
    """Catalog's courses, for visibility: which courses a caller may see."""

    __tablename__ = "courses"

    course_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    status: Mapped[str | None] = mapped_column(String(16))
    visibility: Mapped[str | None] = mapped_column(String(16))
    creator_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class CourseModule(Base):
    """Which modules each course uses (replaced wholesale on each outline event)."""

    __tablename__ = "course_modules"

    course_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    module_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)


class Completion(Base):
    """Progress's completions, one row each with its latest state, for ``completion_count``."""

    __tablename__ = "completions"

    completion_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    post_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    completed: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_completions_post_id_completed", "post_id", "completed"),)

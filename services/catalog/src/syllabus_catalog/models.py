"""Catalog tables: courses, modules and the per-course order of modules."""

from __future__ import annotations

import uuid

from sqlalchemy import (
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from syllabus_shared.db import EntityMixin, new_metadata
from syllabus_shared.messaging.tables import kernel_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


TABLES = kernel_tables(Base.metadata)

SEARCH_EXPR = (
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(description, '')), 'B')"
)


class Course(EntityMixin, Base):
    __tablename__ = "courses"

    slug: Mapped[str] = mapped_column(String(220), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    learning_objectives: Mapped[str | None] = mapped_column(Text)
    prerequisites: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    visibility: Mapped[str] = mapped_column(String(16), default="public", server_default="public")
    creator_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    # Kept from progress's enrollment events (active + completed).
    enrollment_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The outline (which modules, in which order) is its own event aggregate.
    outline_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    search: Mapped[str] = mapped_column(TSVECTOR, Computed(SEARCH_EXPR, persisted=True))

    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
        CheckConstraint("visibility IN ('public', 'private')", name="visibility"),
        Index("ix_courses_search", "search", postgresql_using="gin"),
        Index("ix_courses_status_visibility", "status", "visibility"),
    )


class Module(EntityMixin, Base):
    __tablename__ = "modules"

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    creator_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    search: Mapped[str] = mapped_column(TSVECTOR, Computed(SEARCH_EXPR, persisted=True))

    __table_args__ = (Index("ix_modules_search", "search", postgresql_using="gin"),)


class CourseModule(Base):
    """A module's place in one course. Positions are 1..n per course."""

    __tablename__ = "course_modules"

    course_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    module_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("modules.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        # Deferred, so a reorder can pass through transient duplicates inside its transaction.
        UniqueConstraint(
            "course_id",
            "position",
            name="uq_course_modules_position",
            deferrable=True,
            initially="DEFERRED",
        ),
        CheckConstraint("position >= 1", name="position_positive"),
    )


class EnrollmentCount(Base):
    """Progress's enrollments, one row each, so counts survive redelivery and reordering."""

    __tablename__ = "enrollment_projection"

    enrollment_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    course_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    status: Mapped[str] = mapped_column(String(16))

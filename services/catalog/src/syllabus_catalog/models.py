"""Catalog tables: courses, modules, the per-course order of modules, each module's unlock
overrides per course (per group, per student), and the projections of progress's
enrollments and follows that judge them."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlmodel import Field, SQLModel
from syllabus_shared.db import Entity, new_metadata
from syllabus_shared.groups import group_tables
from syllabus_shared.messaging.tables import kernel_tables


class CatalogTable(SQLModel):
    """The base of catalog's tables: carries catalog's own MetaData."""

    metadata = new_metadata()


METADATA = CatalogTable.metadata
TABLES = kernel_tables(METADATA)
# Which groups each course follows (progress's CourseGroupFollowed/Unfollowed): a group
# override needs the course to follow the group. Only ``course_groups`` is filled (catalog
# does not consume identity's group events); the kernel declares its three tables together.
GROUPS = group_tables(METADATA)

SEARCH_EXPR = (
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(description, '')), 'B')"
)


def _search_column() -> Column[str]:
    """Full-text search over title and description, computed by PostgreSQL (GIN-indexed)."""
    return Column(TSVECTOR, Computed(SEARCH_EXPR, persisted=True), nullable=False)


class Course(CatalogTable, Entity, table=True):
    __tablename__ = "courses"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
        CheckConstraint("visibility IN ('public', 'private')", name="visibility"),
        Index("ix_courses_search", "search", postgresql_using="gin"),
        Index("ix_courses_status_visibility", "status", "visibility"),
    )

    slug: str = Field(sa_type=String(220), unique=True)
    title: str = Field(sa_type=String(200))
    description: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    learning_objectives: str | None = Field(default=None, sa_type=Text)
    prerequisites: str | None = Field(default=None, sa_type=Text)
    status: str = Field(
        default="draft", sa_type=String(16), sa_column_kwargs={"server_default": "draft"}
    )
    visibility: str = Field(
        default="public", sa_type=String(16), sa_column_kwargs={"server_default": "public"}
    )
    # None once the creator's account was deleted: the course stays, admins manage it.
    creator_id: uuid.UUID | None = Field(default=None, index=True)
    # Each published post locked until every one before it, in course order, is completed.
    sequential: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # Kept from progress's enrollment events (active + completed).
    enrollment_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The outline (which modules, in which order) is its own event aggregate.
    outline_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Computed by the database: None on a new object until it is inserted and read back.
    search: str | None = Field(default=None, sa_column=_search_column())


class Module(CatalogTable, Entity, table=True):
    __tablename__ = "modules"
    __table_args__ = (Index("ix_modules_search", "search", postgresql_using="gin"),)

    title: str = Field(sa_type=String(200))
    description: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    # None once the creator's account was deleted: the module stays, admins manage it.
    creator_id: uuid.UUID | None = Field(default=None, index=True)
    search: str | None = Field(default=None, sa_column=_search_column())


class CourseModule(CatalogTable, table=True):
    """A module's place in one course. Positions are 1..n per course."""

    __tablename__ = "course_modules"
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

    course_id: uuid.UUID = Field(foreign_key="courses.id", ondelete="CASCADE", primary_key=True)
    module_id: uuid.UUID = Field(
        foreign_key="modules.id", ondelete="RESTRICT", primary_key=True, index=True
    )
    position: int
    # Gating in this course: modules of the same course to complete first (no cycles; a
    # detach removes the module from the others' lists, under the course's row lock) and
    # the time before which the module stays locked.
    prerequisites: list[uuid.UUID] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Uuid()), nullable=False, server_default=text("'{}'::uuid[]")),
    )
    unlock_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class EnrollmentCount(CatalogTable, table=True):
    """Progress's enrollments, one row each, so counts survive redelivery and reordering.

    ``user_id`` (the student) lets a ``UserDeleted`` remove the student's rows; rows
    projected before it existed have none until their enrollment's next event."""

    __tablename__ = "enrollment_projection"

    enrollment_id: uuid.UUID = Field(primary_key=True)
    course_id: uuid.UUID = Field(index=True)
    status: str = Field(sa_type=String(16))
    user_id: uuid.UUID | None = Field(default=None, index=True)


class UnlockOverride(CatalogTable, Entity, table=True):
    """A module's unlock time in one course for a group's members or one student, instead
    of the course's ``unlock_at`` (docs/dates.md).

    ``id`` is ``contracts.catalog.override_id(course_id, module_id, kind, target_id)``, so
    removing and setting it again is one row whose ``version`` (the events' sequence)
    goes on: a removed override stays as a row with ``active`` false and no ``unlock_at``.
    Rows go with their course or module (both deleted only once nothing uses them)."""

    __tablename__ = "unlock_overrides"
    __table_args__ = (
        CheckConstraint("kind IN ('group', 'user')", name="kind"),
        CheckConstraint("active = (unlock_at IS NOT NULL)", name="active_has_unlock_at"),
        Index("ix_unlock_overrides_course_id_module_id", "course_id", "module_id"),
    )

    course_id: uuid.UUID = Field(foreign_key="courses.id", ondelete="CASCADE")
    module_id: uuid.UUID = Field(foreign_key="modules.id", ondelete="CASCADE", index=True)
    kind: str = Field(sa_type=String(8))
    target_id: uuid.UUID
    unlock_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    active: bool = Field(default=True, sa_type=Boolean)

"""Progress tables: its own enrollments and completions, and a projection of course structure
and of users' names.

The projection (``courses``, ``course_modules``, ``modules``, ``posts``, ``module_posts``) is
built only from catalog's and content's events; ``users`` (names for rosters) only from
identity's. Its rows arrive in any interleaving (a post
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

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Float,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel
from syllabus_shared.db import Entity, new_metadata, table_of
from syllabus_shared.groups import group_tables
from syllabus_shared.messaging.tables import kernel_tables


class ProgressTable(SQLModel):
    """Base of every progress table: the service's own MetaData."""

    metadata = new_metadata()


METADATA = ProgressTable.metadata
TABLES = kernel_tables(METADATA)
# Identity's groups and memberships as its events say (``known_groups``,
# ``group_members``; kept like facts: replay does not empty them). Which courses follow
# which groups is progress's own (``CourseGroup``), not a projection.
GROUPS = group_tables(METADATA, follows=False)


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
    # Each published post locked until every one before it, in course order, is completed.
    sequential: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class CourseModule(ProgressTable, table=True):
    """A module's place in a course (aggregate ``course_outline``, replaced wholesale)."""

    __tablename__ = "course_modules"

    course_id: uuid.UUID = Field(primary_key=True)
    module_id: uuid.UUID = Field(primary_key=True, index=True)
    position: int
    # Gating in this course: modules that must be completed first; locked before unlock_at.
    prerequisites: list[uuid.UUID] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Uuid()), nullable=False, server_default=text("'{}'::uuid[]")),
    )
    unlock_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


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
    # The completion rule (mark_done | view | submit | min_score) and its threshold.
    rule: str = Field(
        default="mark_done", sa_type=String(16), sa_column_kwargs={"server_default": "mark_done"}
    )
    min_score: float | None = Field(default=None, sa_type=Float)


class ModulePost(ProgressTable, table=True):
    """A post's place in its module (aggregate ``module_posts``, replaced wholesale)."""

    __tablename__ = "module_posts"

    module_id: uuid.UUID = Field(primary_key=True)
    post_id: uuid.UUID = Field(primary_key=True)
    position: int


# ---------------------------------------------------------------- projection (identity)


class User(ProgressTable, table=True):
    """A user's names as identity last described them (aggregate ``user``:
    ``UserRegistered``, ``UserProfileChanged``), shown beside the user id in rosters. A
    user whose registration has not arrived has no row (rosters show null names); the row
    goes with the account (``UserDeleted``)."""

    __tablename__ = "users"

    user_id: uuid.UUID = Field(primary_key=True)
    username: str = Field(sa_type=Text)
    display_name: str | None = Field(default=None, sa_type=Text)


class UnlockOverride(ProgressTable, table=True):
    """A module's unlock time in a course for a group's members or one student (catalog's
    ``UnlockOverrideSet``; removed with ``UnlockOverrideRemoved``). Which one applies to a
    student: docs/dates.md (``evaluation``)."""

    __tablename__ = "unlock_overrides"

    course_id: uuid.UUID = Field(primary_key=True)
    module_id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(primary_key=True, sa_type=String(8))  # group | user
    target_id: uuid.UUID = Field(primary_key=True)
    unlock_at: dt.datetime = Field(sa_type=DateTime(timezone=True))


PROJECTION: tuple[type[SQLModel], ...] = (
    Course,
    CourseModule,
    Module,
    Post,
    ModulePost,
    User,
    UnlockOverride,
)
PROJECTION_TABLES = [table_of(model) for model in PROJECTION]
# The event aggregates the projection is built from (their rows in ``aggregate_versions``).
PROJECTED_AGGREGATES = (
    "course",
    "course_outline",
    "module",
    "post",
    "module_posts",
    "user",
    "unlock_override",
)

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
    # The ``self`` source: the student enrolled themselves (and has not dropped since).
    # The ``group`` sources are not stored: they are the groups the course follows that
    # the student is a member of (``CourseGroup`` x ``group_members``), so they can never
    # disagree with the memberships. Active or completed exactly when a source holds it
    # (``enrollment.reconcile`` keeps that true).
    self_enrolled: bool = Field(default=True, sa_column_kwargs={"server_default": "true"})
    enrolled_at: dt.datetime = Field(sa_type=DateTime(timezone=True))
    completed_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    dropped_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Completion(ProgressTable, Entity, table=True):
    """A (user, post) pair: the student's mark (``marked``: PUT/DELETE, a fact) and the
    completion derived from the post's current rule and the facts (``completed``; the
    ``completion`` aggregate: each change of ``completed`` is version + 1 and one
    PostCompleted/PostUncompleted). Rows stay, so the sequence keeps growing."""

    __tablename__ = "completions"
    __table_args__ = (
        UniqueConstraint("user_id", "post_id", name="uq_completions_user_post"),
        Index("ix_completions_post_id", "post_id"),
    )

    user_id: uuid.UUID
    post_id: uuid.UUID
    completed: bool = Field(default=True, sa_column_kwargs={"server_default": "true"})
    completed_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    marked: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    marked_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class CourseGroup(ProgressTable, table=True):
    """A course following a group (an enrollment rule: every member is enrolled). The row
    stays when unfollowed (``following`` false), so its ``version`` (the ``course_group``
    aggregate's sequence) keeps growing; ``id`` is ``contracts.progress.follow_id``."""

    __tablename__ = "course_groups"
    __table_args__ = (
        UniqueConstraint("course_id", "group_id", name="uq_course_groups_course_group"),
        Index("ix_course_groups_group_id", "group_id"),
    )

    id: uuid.UUID = Field(primary_key=True)
    course_id: uuid.UUID
    group_id: uuid.UUID
    following: bool = Field(default=True, sa_column_kwargs={"server_default": "true"})
    followed_at: dt.datetime = Field(sa_type=DateTime(timezone=True))
    unfollowed_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


# ---------------------------------------------------------------- facts from other services
# Kept like progress's own data: replay does not empty them (a replayed PostCreated
# re-derives its post from them), and their aggregates stay in ``aggregate_versions``, so
# a replayed fact event is skipped as stale.


class PostView(ProgressTable, table=True):
    """A student opened a post (content's PostViewed; one per (user, post))."""

    __tablename__ = "post_views"

    user_id: uuid.UUID = Field(primary_key=True)
    post_id: uuid.UUID = Field(primary_key=True, index=True)
    view_id: uuid.UUID
    viewed_at: dt.datetime = Field(sa_type=DateTime(timezone=True))


class Submission(ProgressTable, table=True):
    """A submission's latest state (assessment's events, aggregate ``submission``): a
    (user, post) was submitted when it has a row; its kept score is the highest graded one."""

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_user_post", "user_id", "post_id"),)

    submission_id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID
    post_id: uuid.UUID = Field(index=True)
    status: str = Field(sa_type=String(16))
    score: float | None = Field(default=None, sa_type=Float)


# ---------------------------------------------------------------- decisions


class ModuleCompletion(ProgressTable, table=True):
    """A module first completed in an enrollment (ModuleCompleted, once per pair)."""

    __tablename__ = "module_completions"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "module_id", name="uq_module_completions_pair"),
    )

    id: uuid.UUID = Field(primary_key=True)
    enrollment_id: uuid.UUID
    module_id: uuid.UUID
    completed_at: dt.datetime = Field(sa_type=DateTime(timezone=True))


class PendingDecision(ProgressTable, table=True):
    """An enrollment whose module and course completion must be (re-)decided once the
    structure consumers have caught up (``since``: when it was asked for; ``not_before``:
    decided, but facts wait behind an ``unlock_at``: decide again once it passes)."""

    __tablename__ = "pending_decisions"

    enrollment_id: uuid.UUID = Field(primary_key=True)
    since: dt.datetime = Field(
        sa_type=DateTime(timezone=True), sa_column_kwargs={"server_default": text("now()")}
    )
    not_before: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))

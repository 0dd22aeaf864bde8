"""Events published by catalog (stream CATALOG, subjects ``catalog.>``).

Events carry the aggregate's state after the change (event-carried state
transfer), so a consumer applies the newest ``sequence`` it has seen and skips
stale ones without waiting for gaps. Three aggregates:

- ``course``: the course's own fields; sequence = course ``version``.
- ``course_outline``: which modules a course uses, in order; its own counter,
  so an outline change never races a title edit.
- ``module``: a module's own fields; sequence = module ``version``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel

from syllabus_shared.contracts.base import Event, derived_id


class CourseEvent(Event):
    source = "catalog"
    aggregate = "course"
    course_id: uuid.UUID

    def subject_id(self) -> uuid.UUID:
        return self.course_id


class CourseState(CourseEvent):
    slug: str
    title: str
    status: str  # draft | published | archived
    visibility: str  # public | private
    # None once the creator's account was deleted (the course stays; admins manage it).
    creator_id: uuid.UUID | None
    # Sequential: each published post is locked until every one before it, in course
    # order, is completed (progress computes the locks).
    sequential: bool = False


class CourseCreated(CourseState):
    name = "CourseCreated"


class CourseUpdated(CourseState):
    name = "CourseUpdated"


class CoursePublished(CourseState):
    name = "CoursePublished"


class CourseArchived(CourseState):
    name = "CourseArchived"


class CourseDeleted(CourseEvent):
    name = "CourseDeleted"


class ModulePlacement(BaseModel):
    module_id: uuid.UUID
    position: int
    # Gating, per course: modules of the same course that must be completed first, and
    # the time before which the module stays locked.
    prerequisites: list[uuid.UUID] = []
    unlock_at: dt.datetime | None = None


class OutlineEvent(Event):
    source = "catalog"
    aggregate = "course_outline"
    course_id: uuid.UUID
    modules: list[ModulePlacement]  # the whole order after the change, positions 1..n

    def subject_id(self) -> uuid.UUID:
        return self.course_id


class ModuleAttached(OutlineEvent):
    name = "ModuleAttached"
    module_id: uuid.UUID
    position: int


class ModuleDetached(OutlineEvent):
    name = "ModuleDetached"
    module_id: uuid.UUID


class CourseModulesReordered(OutlineEvent):
    name = "CourseModulesReordered"


class ModuleGatingChanged(OutlineEvent):
    """A module's prerequisites or unlock time in this course changed (the whole outline,
    as every outline event carries it)."""

    name = "ModuleGatingChanged"
    module_id: uuid.UUID


class ModuleEvent(Event):
    source = "catalog"
    aggregate = "module"
    module_id: uuid.UUID

    def subject_id(self) -> uuid.UUID:
        return self.module_id


class ModuleState(ModuleEvent):
    title: str
    creator_id: uuid.UUID | None  # None once the creator's account was deleted


class ModuleCreated(ModuleState):
    name = "ModuleCreated"


class ModuleUpdated(ModuleState):
    name = "ModuleUpdated"


class ModuleDeleted(ModuleEvent):
    name = "ModuleDeleted"


# ---------------------------------- dates per group and per student (``unlock_override``)

OverrideKind = Literal["group", "user"]


def override_id(
    scope_id: uuid.UUID, item_id: uuid.UUID, kind: OverrideKind, target_id: uuid.UUID
) -> uuid.UUID:
    """The one id of the override of ``item_id`` (a module in course ``scope_id``; for
    content's due dates, a post, with ``scope_id`` the post too) for a group or a user."""
    return derived_id("override", scope_id, item_id, kind, target_id)


class UnlockOverrideEvent(Event):
    """A module's unlock time in one course for the members of a group (``kind`` group)
    or for one student (``kind`` user), instead of the course's ``unlock_at``; sequence =
    the override row's ``version`` (kept across removal and setting again). How a
    student's date is chosen among them: docs/dates.md (own override, else the most
    lenient of their followed groups', else the default)."""

    source = "catalog"
    aggregate = "unlock_override"
    override_id: uuid.UUID
    course_id: uuid.UUID
    module_id: uuid.UUID
    kind: OverrideKind
    target_id: uuid.UUID  # the group's or the user's id

    def subject_id(self) -> uuid.UUID:
        return self.override_id


class UnlockOverrideSet(UnlockOverrideEvent):
    name = "UnlockOverrideSet"
    unlock_at: dt.datetime


class UnlockOverrideRemoved(UnlockOverrideEvent):
    name = "UnlockOverrideRemoved"

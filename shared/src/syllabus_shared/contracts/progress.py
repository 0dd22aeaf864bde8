"""Events published by progress (stream PROGRESS, subjects ``progress.>``).

- ``enrollment``: sequence = enrollment ``version``; ``status`` is the state after
  the change, so counters can be kept per enrollment and never drift.
- ``completion``: one per (user, post) pair; sequence = its ``version``.
- ``course_group``: one per (course, group) follow; sequence = its ``version``.

An enrollment event carries the enrollment's ``sources`` when its status changed; a
change of sources alone (a second group, the student enrolling themselves too) is not
published (nothing downstream depends on it; progress's API shows it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel

from syllabus_shared.contracts.base import Event, derived_id
from syllabus_shared.contracts.notices import Notice


class EnrollmentSource(BaseModel):
    """Why an enrollment is active: the student enrolled themselves (``self``) or is a
    member of a group the course follows (``group``, with its id)."""

    kind: Literal["self", "group"]
    group_id: uuid.UUID | None = None


class EnrollmentEvent(Event):
    source = "progress"
    aggregate = "enrollment"
    enrollment_id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID
    status: str  # active | completed | dropped
    # The sources holding the enrollment after the change (empty once dropped; absent from
    # older producers).
    sources: list[EnrollmentSource] = []

    def subject_id(self) -> uuid.UUID:
        return self.enrollment_id


class EnrollmentCreated(EnrollmentEvent):
    """A new enrollment, or a dropped one reactivated."""

    name = "EnrollmentCreated"
    enrolled_at: dt.datetime


class EnrollmentDropped(EnrollmentEvent):
    name = "EnrollmentDropped"


class CourseCompleted(EnrollmentEvent):
    name = "CourseCompleted"
    completed_at: dt.datetime


class CompletionEvent(Event):
    source = "progress"
    aggregate = "completion"
    completion_id: uuid.UUID
    user_id: uuid.UUID
    post_id: uuid.UUID

    def subject_id(self) -> uuid.UUID:
        return self.completion_id


class PostCompleted(CompletionEvent):
    name = "PostCompleted"
    completed_at: dt.datetime


class PostUncompleted(CompletionEvent):
    name = "PostUncompleted"


class ModuleCompleted(Event):
    """A student completed every published post of a module in a course (decided on a
    projection caught up with the structure; once completed, stays completed)."""

    source = "progress"
    aggregate = "module_completion"
    name = "ModuleCompleted"
    module_completion_id: uuid.UUID  # one per (enrollment, module)
    enrollment_id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID
    module_id: uuid.UUID
    completed_at: dt.datetime

    def subject_id(self) -> uuid.UUID:
        return self.module_completion_id


class ProgressNotice(Notice):
    """Tells one person that their progress (``kind: progress``) or one of their courses'
    rosters (``kind: roster``) changed. Routed to the ``LIVE`` stream (contracts.notices)."""

    source = "progress"
    name = "Notice"


# ------------------------------------------------ groups a course follows (``course_group``)


def follow_id(course_id: uuid.UUID, group_id: uuid.UUID) -> uuid.UUID:
    """The one id of ``course_id`` following ``group_id``, the same everywhere."""
    return derived_id("course_group", course_id, group_id)


class CourseGroupEvent(Event):
    """A course follows a group (an enrollment rule: its members are enrolled); sequence =
    the follow row's ``version``, which survives unfollowing and following again."""

    source = "progress"
    aggregate = "course_group"
    follow_id: uuid.UUID
    course_id: uuid.UUID
    group_id: uuid.UUID

    def subject_id(self) -> uuid.UUID:
        return self.follow_id


class CourseGroupFollowed(CourseGroupEvent):
    name = "CourseGroupFollowed"
    followed_at: dt.datetime


class CourseGroupUnfollowed(CourseGroupEvent):
    """The course stopped following the group (unfollowed, or the group was deleted)."""

    name = "CourseGroupUnfollowed"
    unfollowed_at: dt.datetime

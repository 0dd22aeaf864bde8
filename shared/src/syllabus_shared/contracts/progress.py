"""Events published by progress (stream PROGRESS, subjects ``progress.>``).

- ``enrollment``: sequence = enrollment ``version``; ``status`` is the state after
  the change, so counters can be kept per enrollment and never drift.
- ``completion``: one per (user, post) pair; sequence = its ``version``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from syllabus_shared.contracts.base import Event
from syllabus_shared.contracts.notices import Notice


class EnrollmentEvent(Event):
    source = "progress"
    aggregate = "enrollment"
    enrollment_id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID
    status: str  # active | completed | dropped

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

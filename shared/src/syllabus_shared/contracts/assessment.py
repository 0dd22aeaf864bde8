"""Events published by assessment (stream ASSESSMENT, subjects ``assessment.>``).

- ``submission``: a submission's state after the change; sequence = submission ``version``.
  A quiz is graded as it is submitted, so its ``SubmissionCreated`` already carries
  ``status: graded`` and its score; an assignment's comes with ``status: submitted`` and
  a later ``SubmissionGraded`` (again on each regrade). Consumers read the state from
  either event.
"""

from __future__ import annotations

import datetime as dt
import uuid

from syllabus_shared.contracts.base import Event
from syllabus_shared.contracts.notices import Notice


class SubmissionEvent(Event):
    source = "assessment"
    aggregate = "submission"
    submission_id: uuid.UUID
    post_id: uuid.UUID
    user_id: uuid.UUID

    def subject_id(self) -> uuid.UUID:
        return self.submission_id


class SubmissionState(SubmissionEvent):
    attempt: int  # counts from 1 per (user, post)
    status: str  # submitted | graded
    score: float | None = None  # 2 decimals; None until graded
    max_points: int
    late: bool
    submitted_at: dt.datetime
    graded_at: dt.datetime | None = None
    grader_id: uuid.UUID | None = None  # None for a quiz graded automatically
    # The user's kept score for the post (their highest graded score) once this change
    # was made; None while nothing of theirs on the post is graded.
    kept_score: float | None = None


class SubmissionCreated(SubmissionState):
    name = "SubmissionCreated"


class SubmissionGraded(SubmissionState):
    name = "SubmissionGraded"


class AssessmentNotice(Notice):
    """Tells one person that a grade (``kind: grade``), work waiting for them as a grader
    (``kind: submission``) or a gradebook of theirs (``kind: roster``) changed. Routed to
    the ``LIVE`` stream (contracts.notices)."""

    source = "assessment"
    name = "Notice"

"""Notices: "something this person sees has changed", for the live stream.

What a change means for whom is decided where that knowledge lives (progress knows who is
enrolled in a course, assessment who grades a post) and published as one notice per
recipient, through the producer's outbox like every event. A notice is not a fact to keep:
it says whom to tell and which read will show the change (``consistency``, a consistency
token naming the event that caused it). Notices land in the ``LIVE`` stream under
``live.user.<user_id>`` (:meth:`Notice.routed_subject`), kept there for
:data:`LIVE_MAX_AGE_SECONDS`, so a client that reconnects with the id of the last one it got
is sent exactly what it missed, by any ``live`` instance.

Kinds (``kind``) and the fields each carries, as the API's stream sends them:

- ``progress``: ``course_id``, ``reason`` (completion | structure | unlock | enrollment)
- ``grade``: ``submission_id``, ``post_id``, ``status``, ``score``
- ``roster``: ``course_id`` (to the course's owner; ``live`` sends at most one a second)
- ``submission``: ``submission_id``, ``post_id``, ``course_ids`` (to the post's graders)

A notice has no aggregate history: ``sequence`` is always 1 and no consumer orders by it.
"""

from __future__ import annotations

import uuid
from typing import Literal

from syllabus_shared.contracts.base import Event

# The stream every notice lands in, and how long it keeps them: the resume window of the
# API's live stream (at least 10 minutes promised).
LIVE_STREAM = "LIVE"
LIVE_SUBJECT_ROOT = "live"
LIVE_MAX_AGE_SECONDS = 15 * 60
NOTICE_SEQUENCE = 1

NoticeKind = Literal["progress", "grade", "roster", "submission"]
ProgressReason = Literal["completion", "structure", "unlock", "enrollment"]


def live_subject(user_id: uuid.UUID | str) -> str:
    """The subject of one recipient's notices (below the event namespace)."""
    return f"{LIVE_SUBJECT_ROOT}.user.{user_id}"


class Notice(Event):
    """Base of each producer's notice (``source`` set by the subclass)."""

    aggregate = "notice"
    numbered = False  # no read waits for a notice: no position, no hot counter row
    user_id: uuid.UUID  # the recipient
    kind: NoticeKind
    consistency: str = ""  # a consistency token; sent with the next read, it shows the change
    course_id: uuid.UUID | None = None
    reason: ProgressReason | None = None
    submission_id: uuid.UUID | None = None
    post_id: uuid.UUID | None = None
    status: str | None = None
    score: float | None = None
    course_ids: list[uuid.UUID] | None = None

    def subject_id(self) -> uuid.UUID:
        return self.user_id

    def routed_subject(self) -> str:
        return live_subject(self.user_id)

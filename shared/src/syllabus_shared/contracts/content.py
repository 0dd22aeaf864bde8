"""Events published by content (stream CONTENT, subjects ``content.>``).

- ``post``: a post's state after the change; sequence = post ``version``.
- ``module_posts``: the order of a module's posts; its own per-module counter.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel

from syllabus_shared.contracts.base import Event


class PostEvent(Event):
    source = "content"
    aggregate = "post"
    post_id: uuid.UUID
    module_id: uuid.UUID

    def subject_id(self) -> uuid.UUID:
        return self.post_id


class CompletionRule(BaseModel):
    """How a post is completed: ``mark_done`` (the student says so), ``view`` (opened),
    ``submit`` (a first submission), ``min_score`` (the kept score reaches ``min_score``)."""

    rule: str
    min_score: float | None = None


class PostState(PostEvent):
    title: str
    kind: str  # text | video | link | assignment | quiz
    status: str  # draft | published
    position: int
    max_points: int | None = None
    creator_id: uuid.UUID | None  # None once the creator's account was deleted
    # Gradable kinds (assignment, quiz) only; absent on the others and from older producers.
    due_at: dt.datetime | None = None
    attempts: int | None = None  # None: the kind's default (quiz 1, assignment unlimited)
    # Quiz only: the answer index of each question, in order, and how many there are. The
    # event bus is internal; the key reaches no client (assessment grades with it).
    answer_key: list[int] | None = None
    question_count: int | None = None
    choice_counts: list[int] | None = None  # how many choices each question offers
    # Absent from older producers: the kind's default (mark_done; submit when gradable).
    completion: CompletionRule | None = None


class PostCreated(PostState):
    name = "PostCreated"


class PostUpdated(PostState):
    name = "PostUpdated"


class PostPublished(PostState):
    name = "PostPublished"


class PostUnpublished(PostState):
    name = "PostUnpublished"


class PostDeleted(PostEvent):
    name = "PostDeleted"


class PostPlacement(BaseModel):
    post_id: uuid.UUID
    position: int


class ModulePostsReordered(Event):
    source = "content"
    aggregate = "module_posts"
    name = "ModulePostsReordered"
    module_id: uuid.UUID
    posts: list[PostPlacement]  # the whole order after the change, positions 1..n

    def subject_id(self) -> uuid.UUID:
        return self.module_id


class PostViewed(Event):
    """A student opened a post (``GET /posts/{id}``) for the first time; listing a module's
    posts is not a view. Progress decides whether it counts (enrolled, unlocked)."""

    source = "content"
    aggregate = "post_view"
    name = "PostViewed"
    view_id: uuid.UUID  # one per (user, post)
    post_id: uuid.UUID
    user_id: uuid.UUID
    viewed_at: dt.datetime

    def subject_id(self) -> uuid.UUID:
        return self.view_id


# ------------------------------------- due dates per group and per student (``due_override``)


class DueOverrideEvent(Event):
    """A post's due time for the members of a group (``kind`` group) or one student
    (``kind`` user), instead of the post's ``due_at``; sequence = the override row's
    ``version`` (kept across removal and setting again). ``override_id`` is
    ``catalog.override_id(post_id, post_id, kind, target_id)``. How a student's date is
    chosen: docs/dates.md."""

    source = "content"
    aggregate = "due_override"
    override_id: uuid.UUID
    post_id: uuid.UUID
    kind: Literal["group", "user"]
    target_id: uuid.UUID  # the group's or the user's id

    def subject_id(self) -> uuid.UUID:
        return self.override_id


class DueOverrideSet(DueOverrideEvent):
    name = "DueOverrideSet"
    due_at: dt.datetime


class DueOverrideRemoved(DueOverrideEvent):
    name = "DueOverrideRemoved"

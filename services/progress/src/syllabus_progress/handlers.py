"""Events progress consumes, each mapped to the service function that applies it:
catalog's and content's structure events to ``projection`` (the course-structure
projection), then to ``notices`` (whom the change concerns); the facts (content's views,
assessment's submissions and kept scores) to ``derivation``, which derives completions
from them; identity's ``UserDeleted`` to ``service.forget_user`` and its
``UserRegistered``/``UserProfileChanged`` to ``service.on_user`` (names); progress's own
enrollment and completion events back to ``notices`` (``progress-notices``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from syllabus_shared.accounts import forgetting
from syllabus_shared.contracts import assessment as ae
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import content as pe
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as pr
from syllabus_shared.groups import keeping_groups
from syllabus_shared.messaging.consumer import (
    BatchHandler,
    Handler,
    Subscription,
    then,
    then_many,
)
from syllabus_shared.messaging.outbox import notices_quiet
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_progress import cohorts, derivation, notices, projection, service
from syllabus_progress.models import GROUPS

# Identity's groups and memberships (the kernel keeps them); a membership that began or
# ended enrolls or drops (``cohorts``); a deleted group is progress's own handler (it also
# stops being followed).
GROUP_HANDLERS, GROUP_MANY = keeping_groups(GROUPS, on_change=cohorts.members_changed)


def _each(handler: Handler) -> BatchHandler:
    """``handler`` as a batch handler: each event in turn (work that is per event anyway,
    or nothing during a replay)."""

    async def handle(uow: UnitOfWork, events: Sequence[Any]) -> None:
        for event in events:
            await handler(uow, event)

    return handle


def _telling(handler: Handler) -> BatchHandler:
    """A notice handler for a batch: each event in turn, none while a projection is
    rebuilt (nobody is told then: its reads would be wasted)."""
    each = _each(handler)

    async def handle(uow: UnitOfWork, events: Sequence[Any]) -> None:
        if not notices_quiet.get():
            await each(uow, events)

    return handle


async def _tell_courses(uow: UnitOfWork, events: Sequence[ce.CourseEvent]) -> None:
    """:func:`notices.on_course` and :func:`notices.on_outline` for a batch: one read."""
    if not notices_quiet.get():
        await notices.tell_courses(uow, [e.course_id for e in events], "structure")


# Set-based forms (a consumer behind, a replay: one call per window and type, see
# ``reorderable`` below), each the same effect as its single handler event by event.
_COURSES = then_many(projection.on_courses, _tell_courses)
_COURSES_ENROLLING = then_many(projection.on_courses, _each(cohorts.on_course), _tell_courses)
_OUTLINES = then_many(projection.on_outlines, _tell_courses)
_POSTS = then_many(projection.on_posts, notices.on_posts)
_POST_ORDERS = then_many(projection.on_posts_reorderings, _telling(notices.on_posts_reordered))

SUBSCRIPTIONS = [
    Subscription(
        name="progress-from-catalog",
        source="catalog",
        handlers={
            ce.CourseCreated: then(projection.on_course, notices.on_course),
            ce.CourseUpdated: then(projection.on_course, cohorts.on_course, notices.on_course),
            ce.CoursePublished: then(projection.on_course, cohorts.on_course, notices.on_course),
            ce.CourseArchived: then(projection.on_course, notices.on_course),
            ce.CourseDeleted: projection.on_course_deleted,
            ce.ModuleAttached: then(projection.on_outline, notices.on_outline),
            ce.ModuleDetached: then(projection.on_outline, notices.on_outline),
            ce.CourseModulesReordered: then(projection.on_outline, notices.on_outline),
            ce.ModuleGatingChanged: then(projection.on_outline, notices.on_outline),
            ce.ModuleCreated: projection.on_module,
            ce.ModuleUpdated: then(projection.on_module, notices.on_module),
            ce.ModuleDeleted: projection.on_module_deleted,
            ce.UnlockOverrideSet: then(
                projection.on_unlock_override_set, notices.on_unlock_override
            ),
            ce.UnlockOverrideRemoved: then(
                projection.on_unlock_override_removed, notices.on_unlock_override
            ),
        },
        many={
            ce.CourseCreated: _COURSES,
            ce.CourseUpdated: _COURSES_ENROLLING,
            ce.CoursePublished: _COURSES_ENROLLING,
            ce.CourseArchived: _COURSES,
            ce.ModuleAttached: _OUTLINES,
            ce.ModuleDetached: _OUTLINES,
            ce.CourseModulesReordered: _OUTLINES,
            ce.ModuleGatingChanged: _OUTLINES,
            ce.ModuleCreated: projection.on_modules,
            ce.ModuleUpdated: then_many(projection.on_modules, notices.on_modules),
        },
        # Projection handlers: a row is its aggregate's newest event alone (a course's
        # deletion and its outline commute through the course's lock), so a replay may
        # apply each type's events of a window together.
        reorderable=True,
    ),
    Subscription(
        name="progress-from-content",
        source="content",
        handlers={
            pe.PostCreated: then(projection.on_post, notices.on_post),
            pe.PostUpdated: then(projection.on_post, notices.on_post),
            pe.PostPublished: then(projection.on_post, notices.on_post),
            pe.PostUnpublished: then(projection.on_post, notices.on_post),
            pe.PostDeleted: then(notices.on_post, projection.on_post_deleted),
            pe.ModulePostsReordered: then(
                projection.on_posts_reordered, notices.on_posts_reordered
            ),
            pe.PostViewed: derivation.on_post_viewed,
        },
        many={
            pe.PostCreated: _POSTS,
            pe.PostUpdated: _POSTS,
            pe.PostPublished: _POSTS,
            pe.PostUnpublished: _POSTS,
            pe.ModulePostsReordered: _POST_ORDERS,
        },
        # Projection handlers, and views (a fact per (user, post), derived with the post's
        # rule of the moment; a replay re-derives every new post from its final rule at
        # its end): a replay may apply each type's events of a window together.
        reorderable=True,
    ),
    Subscription(
        name="progress-from-assessment",
        source="assessment",
        handlers={
            ae.SubmissionCreated: derivation.on_submission,
            ae.SubmissionGraded: derivation.on_submission,
        },
        many={
            ae.SubmissionCreated: derivation.on_submissions,
            ae.SubmissionGraded: derivation.on_submissions,
        },
    ),
    # Deleted accounts: tokens refused (``forgetting`` records them); the student's
    # enrollments, completions, facts, decisions and names deleted; courses kept without
    # owner. Users' names (rosters show them) from their registration and profile changes.
    Subscription(
        name="progress-from-identity",
        source="identity",
        handlers={
            ie.UserDeleted: forgetting(service.forget_user, first=service.lock_users_posts),
            ie.UserRegistered: service.on_user,
            ie.UserProfileChanged: service.on_user,
            **GROUP_HANDLERS,
            ie.GroupDeleted: cohorts.on_group_deleted,
        },
        many={
            ie.UserRegistered: service.on_users,
            ie.UserProfileChanged: service.on_users,
            **GROUP_MANY,
        },
    ),
    # Progress's own events, read back to tell the students and owners they concern (off
    # the request path; no read waits for it, replay skips it).
    Subscription(
        name="progress-notices",
        source="progress",
        handlers={
            pr.EnrollmentCreated: notices.on_enrollment,
            pr.EnrollmentDropped: notices.on_enrollment,
            pr.CourseCompleted: notices.on_enrollment,
            pr.PostCompleted: notices.on_completion,
            pr.PostUncompleted: notices.on_completion,
            pr.ModuleCompleted: notices.on_module_completed,
        },
        many={
            pr.EnrollmentCreated: notices.on_enrollments,
            pr.EnrollmentDropped: notices.on_enrollments,
            pr.PostCompleted: notices.on_completions,
            pr.PostUncompleted: notices.on_completions,
        },
        tells_only=True,
    ),
]

"""Events identity consumes, each mapped to the function that applies it: two small
projections that decide which groups an instructor sees (``groups``): each course's owner
(catalog's course events) and the groups each course follows (progress's follow events)."""

from __future__ import annotations

from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import progress as pe
from syllabus_shared.messaging.consumer import Subscription

from syllabus_identity import groups

SUBSCRIPTIONS = [
    # Course owners: an instructor sees the groups that follow a course they own.
    Subscription(
        name="identity-from-catalog",
        source="catalog",
        handlers={
            ce.CourseCreated: groups.remember_course,
            ce.CourseUpdated: groups.remember_course,
            ce.CoursePublished: groups.remember_course,
            ce.CourseArchived: groups.remember_course,
            ce.CourseDeleted: groups.forget_course,
        },
    ),
    # Which groups each course follows (progress owns follows).
    Subscription(
        name="identity-from-progress",
        source="progress",
        handlers={
            pe.CourseGroupFollowed: groups.course_follows_group,
            pe.CourseGroupUnfollowed: groups.course_unfollows_group,
        },
    ),
]

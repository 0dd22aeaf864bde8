"""Events progress consumes (catalog's and content's), each mapped to the service function
in ``projection`` that writes it into the course-structure projection."""

from __future__ import annotations

from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import content as pe
from syllabus_shared.messaging.consumer import Subscription

from syllabus_progress import projection

SUBSCRIPTIONS = [
    Subscription(
        name="progress-from-catalog",
        source="catalog",
        handlers={
            ce.CourseCreated: projection.on_course,
            ce.CourseUpdated: projection.on_course,
            ce.CoursePublished: projection.on_course,
            ce.CourseArchived: projection.on_course,
            ce.CourseDeleted: projection.on_course_deleted,
            ce.ModuleAttached: projection.on_outline,
            ce.ModuleDetached: projection.on_outline,
            ce.CourseModulesReordered: projection.on_outline,
            ce.ModuleCreated: projection.on_module,
            ce.ModuleUpdated: projection.on_module,
            ce.ModuleDeleted: projection.on_module_deleted,
        },
    ),
    Subscription(
        name="progress-from-content",
        source="content",
        handlers={
            pe.PostCreated: projection.on_post,
            pe.PostUpdated: projection.on_post,
            pe.PostPublished: projection.on_post,
            pe.PostUnpublished: projection.on_post,
            pe.PostDeleted: projection.on_post_deleted,
            pe.ModulePostsReordered: projection.on_posts_reordered,
        },
    ),
]

"""Events progress consumes, each mapped to the service function that applies it:
catalog's and content's structure events to ``projection`` (the course-structure
projection); the facts (content's views, assessment's submissions and kept scores) to
``derivation``, which derives completions from them; identity's ``UserDeleted`` to
``service.forget_user``."""

from __future__ import annotations

from syllabus_shared.accounts import forgetting
from syllabus_shared.contracts import assessment as ae
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import content as pe
from syllabus_shared.contracts import identity as ie
from syllabus_shared.messaging.consumer import Subscription

from syllabus_progress import derivation, projection, service

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
            ce.ModuleGatingChanged: projection.on_outline,
            ce.ModuleCreated: projection.on_module,
            ce.ModuleUpdated: projection.on_module,
            ce.ModuleDeleted: projection.on_module_deleted,
        },
        many={
            ce.ModuleCreated: projection.on_modules,
            ce.ModuleUpdated: projection.on_modules,
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
            pe.PostViewed: derivation.on_post_viewed,
        },
        many={
            pe.PostCreated: projection.on_posts,
            pe.PostUpdated: projection.on_posts,
            pe.PostPublished: projection.on_posts,
            pe.PostUnpublished: projection.on_posts,
        },
    ),
    Subscription(
        name="progress-from-assessment",
        source="assessment",
        handlers={
            ae.SubmissionCreated: derivation.on_submission,
            ae.SubmissionGraded: derivation.on_submission,
        },
    ),
    # Deleted accounts: tokens refused (``forgetting`` records them); the student's
    # enrollments, completions, facts and decisions deleted; courses kept without owner.
    Subscription(
        name="progress-from-identity",
        source="identity",
        handlers={ie.UserDeleted: forgetting(service.forget_user)},
    ),
]

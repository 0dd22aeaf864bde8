"""Events content consumes, each mapped to the service function that applies it.

- catalog's module events: which modules exist and who owns them (a deletion
  deletes the module's posts, each with ``PostDeleted``);
- catalog's course and outline events: which courses use a module, for visibility;
- progress's completion events: each post's ``completion_count``; its enrollment and
  follow events: who may get a due override (enrolled students, followed groups);
- assessment's ``SubmissionCreated``: each post's ``submission_count``;
- identity's ``UserDeleted``: a deleted account's tokens refused, its views,
  completions and submissions gone (counts recounted), its posts kept without a creator.
"""

from __future__ import annotations

from syllabus_shared.accounts import forgetting
from syllabus_shared.contracts import assessment as ae
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as pe
from syllabus_shared.groups import keeping_follows
from syllabus_shared.messaging.consumer import Subscription

from syllabus_content import service
from syllabus_content.models import GROUPS

SUBSCRIPTIONS = [
    Subscription(
        name="content-from-catalog",
        source="catalog",
        handlers={
            ce.ModuleCreated: service.record_module,
            ce.ModuleUpdated: service.record_module,
            ce.ModuleDeleted: service.forget_module,
            ce.CourseCreated: service.record_course,
            ce.CourseUpdated: service.record_course,
            ce.CoursePublished: service.record_course,
            ce.CourseArchived: service.record_course,
            ce.CourseDeleted: service.forget_course,
            ce.ModuleAttached: service.record_outline,
            ce.ModuleDetached: service.record_outline,
            ce.CourseModulesReordered: service.record_outline,
            ce.ModuleGatingChanged: service.record_outline,
        },
    ),
    Subscription(
        name="content-from-progress",
        source="progress",
        handlers={
            pe.PostCompleted: service.record_completed,
            pe.PostUncompleted: service.record_uncompleted,
            pe.EnrollmentCreated: service.record_enrollment,
            pe.EnrollmentDropped: service.record_enrollment,
            pe.CourseCompleted: service.record_enrollment,
            **keeping_follows(GROUPS),
        },
        many={
            pe.PostCompleted: service.record_completed_many,
            pe.PostUncompleted: service.record_uncompleted_many,
            pe.EnrollmentCreated: service.record_enrollments,
            pe.EnrollmentDropped: service.record_enrollments,
            pe.CourseCompleted: service.record_enrollments,
        },
    ),
    Subscription(
        name="content-from-assessment",
        source="assessment",
        handlers={ae.SubmissionCreated: service.record_submission},
        many={ae.SubmissionCreated: service.record_submissions},
    ),
    Subscription(
        name="content-from-identity",
        source="identity",
        handlers={ie.UserDeleted: forgetting(service.forget_user)},
    ),
]

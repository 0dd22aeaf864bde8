"""Events assessment consumes, each mapped to the service function that applies it.

- catalog's course, outline and module events: which modules sit in which courses, in
  which order, which courses are published, and who owns courses and modules (graders);
- content's post events: kind, status, points, answer key, due date and attempts of each
  post, and each module's order of posts; its due overrides (``DueOverrideSet``,
  ``DueOverrideRemoved``): a post's date per group and per student;
- progress's enrollment events: who is enrolled where; its follows
  (``CourseGroupFollowed``, ``CourseGroupUnfollowed``): which groups each course follows;
- identity's group events (``GroupCreated/Updated/Deleted``, ``GroupMemberAdded/Removed``):
  who is in which group (kept by ``syllabus_shared.groups``), for due dates and the
  gradebook's group filter;
- identity's ``UserDeleted``: a deleted account's tokens refused, its submissions, kept
  grades, enrollments, names, memberships and own due dates deleted, its courses and
  modules kept without an owner;
- identity's ``UserRegistered`` and ``UserProfileChanged``: each user's username and
  display name, shown in gradebooks and submission lists;
- its own submission events: whom to tell (``notices``: student, graders, owners).
"""

from __future__ import annotations

from syllabus_shared.accounts import forgetting
from syllabus_shared.contracts import assessment as ae
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import content as pe
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as pr
from syllabus_shared.groups import keeping_follows, keeping_groups
from syllabus_shared.messaging.consumer import Subscription

from syllabus_assessment import notices, service
from syllabus_assessment.models import GROUPS

GROUP_HANDLERS, GROUP_MANY = keeping_groups(GROUPS)

SUBSCRIPTIONS = [
    Subscription(
        name="assessment-from-catalog",
        source="catalog",
        handlers={
            ce.CourseCreated: service.on_course,
            ce.CourseUpdated: service.on_course,
            ce.CoursePublished: service.on_course,
            ce.CourseArchived: service.on_course,
            ce.CourseDeleted: service.on_course_deleted,
            ce.ModuleAttached: service.on_outline,
            ce.ModuleDetached: service.on_outline,
            ce.CourseModulesReordered: service.on_outline,
            ce.ModuleGatingChanged: service.on_outline,
            ce.ModuleCreated: service.on_module,
            ce.ModuleUpdated: service.on_module,
            ce.ModuleDeleted: service.on_module_deleted,
        },
    ),
    Subscription(
        name="assessment-from-content",
        source="content",
        handlers={
            pe.PostCreated: service.on_post,
            pe.PostUpdated: service.on_post,
            pe.PostPublished: service.on_post,
            pe.PostUnpublished: service.on_post,
            pe.PostDeleted: service.on_post_deleted,
            pe.ModulePostsReordered: service.on_posts_reordered,
            pe.DueOverrideSet: service.on_due_override_set,
            pe.DueOverrideRemoved: service.on_due_override_removed,
        },
    ),
    Subscription(
        name="assessment-from-progress",
        source="progress",
        handlers={
            pr.EnrollmentCreated: service.on_enrollment,
            pr.EnrollmentDropped: service.on_enrollment,
            pr.CourseCompleted: service.on_enrollment,
            **keeping_follows(GROUPS),
        },
        many={
            pr.EnrollmentCreated: service.on_enrollments,
            pr.EnrollmentDropped: service.on_enrollments,
            pr.CourseCompleted: service.on_enrollments,
        },
    ),
    Subscription(
        name="assessment-from-identity",
        source="identity",
        handlers={
            ie.UserDeleted: forgetting(service.forget_user),
            ie.UserRegistered: service.on_user,
            ie.UserProfileChanged: service.on_user,
            **GROUP_HANDLERS,
        },
        many={
            ie.UserRegistered: service.on_users,
            ie.UserProfileChanged: service.on_users,
            **GROUP_MANY,
        },
    ),
    # Assessment's own submission events, read back to tell the student (grades), the
    # graders (work waiting) and the course owners (gradebooks); no read waits for it.
    Subscription(
        name="assessment-notices",
        source="assessment",
        handlers={
            ae.SubmissionCreated: notices.on_submission,
            ae.SubmissionGraded: notices.on_submission,
        },
        many={
            ae.SubmissionCreated: notices.on_submissions,
            ae.SubmissionGraded: notices.on_submissions,
        },
        tells_only=True,
    ),
]

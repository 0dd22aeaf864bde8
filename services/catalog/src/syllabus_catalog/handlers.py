"""Events catalog consumes, each mapped to the service function that applies it."""

from __future__ import annotations

from syllabus_shared.accounts import forgetting
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as pe
from syllabus_shared.groups import keeping_follows
from syllabus_shared.messaging.consumer import Subscription

from syllabus_catalog import service
from syllabus_catalog.models import GROUPS

SUBSCRIPTIONS = [
    # Each course's enrollment_count, from progress's enrollment events; the enrollments
    # and the groups each course follows also say who may get an unlock override.
    Subscription(
        name="catalog-from-progress",
        source="progress",
        handlers={
            pe.EnrollmentCreated: service.record_enrollment,
            pe.EnrollmentDropped: service.record_enrollment,
            pe.CourseCompleted: service.record_enrollment,
            **keeping_follows(GROUPS),
        },
        many={
            pe.EnrollmentCreated: service.record_enrollments,
            pe.EnrollmentDropped: service.record_enrollments,
            pe.CourseCompleted: service.record_enrollments,
        },
    ),
    # Deleted accounts: their tokens refused (``forgetting`` records them), their
    # enrollments out of the counts, their courses and modules kept without a creator.
    Subscription(
        name="catalog-from-identity",
        source="identity",
        handlers={ie.UserDeleted: forgetting(service.forget_user)},
    ),
]

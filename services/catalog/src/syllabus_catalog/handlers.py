"""Events catalog consumes, each mapped to the service function that applies it."""

from __future__ import annotations

from syllabus_shared.contracts import progress as pe
from syllabus_shared.messaging.consumer import Subscription

from syllabus_catalog import service

SUBSCRIPTIONS = [
    # Each course's enrollment_count, from progress's enrollment events.
    Subscription(
        name="catalog-from-progress",
        source="progress",
        handlers={
            pe.EnrollmentCreated: service.record_enrollment,
            pe.EnrollmentDropped: service.record_enrollment,
            pe.CourseCompleted: service.record_enrollment,
        },
    )
]

"""Events catalog consumes: progress's enrollment events, for each course's enrollment_count."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from syllabus_shared.contracts import Envelope
from syllabus_shared.contracts import progress as pe
from syllabus_shared.messaging.consumer import Subscription

from syllabus_catalog import service


async def on_enrollment(
    session: AsyncSession, event: pe._EnrollmentEvent, envelope: Envelope
) -> None:
    await service.record_enrollment(session, event.enrollment_id, event.course_id, event.status)


SUBSCRIPTIONS = [
    Subscription(
        name="catalog-from-progress",
        source="progress",
        handlers={
            pe.EnrollmentCreated: on_enrollment,
            pe.EnrollmentDropped: on_enrollment,
            pe.CourseCompleted: on_enrollment,
        },
    )
]

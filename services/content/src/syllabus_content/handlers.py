"""Events content consumes.

- catalog's module events: which modules exist and who owns them (a deletion
  deletes the module's posts, each with ``PostDeleted``);
- catalog's course and outline events: which courses use a module, for visibility;
- progress's completion events: each post's ``completion_count``.

The consumer runner dedupes (inbox) and applies only events newer than anything
applied for their aggregate, so every handler here just writes the latest state.
Handlers that emit events need this app's outbox (its namespace), hence a factory.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from syllabus_shared.contracts import Envelope
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import progress as pe
from syllabus_shared.messaging.consumer import Handler, Subscription
from syllabus_shared.messaging.outbox import Outbox

from syllabus_content import service


async def on_module(session: AsyncSession, event: ce._ModuleState, envelope: Envelope) -> None:
    await service.record_module(session, event)


async def on_course(session: AsyncSession, event: ce._CourseState, envelope: Envelope) -> None:
    await service.record_course(session, event)


async def on_course_deleted(
    session: AsyncSession, event: ce.CourseDeleted, envelope: Envelope
) -> None:
    await service.forget_course(session, event.course_id)


async def on_outline(session: AsyncSession, event: ce._OutlineEvent, envelope: Envelope) -> None:
    await service.record_outline(session, event)


async def on_completed(session: AsyncSession, event: pe.PostCompleted, envelope: Envelope) -> None:
    await service.record_completion(session, event.completion_id, event.post_id, completed=True)


async def on_uncompleted(
    session: AsyncSession, event: pe.PostUncompleted, envelope: Envelope
) -> None:
    await service.record_completion(session, event.completion_id, event.post_id, completed=False)


def module_deleted_handler(outbox: Outbox) -> Handler:
    async def on_module_deleted(
        session: AsyncSession, event: ce.ModuleDeleted, envelope: Envelope
    ) -> None:
        await service.forget_module(session, outbox, event.module_id)

    return on_module_deleted


def subscriptions(outbox: Outbox) -> list[Subscription]:
    """This app's subscriptions; ``outbox`` records the events handlers cause."""
    return [
        Subscription(
            name="content-from-catalog",
            source="catalog",
            handlers={
                ce.ModuleCreated: on_module,
                ce.ModuleUpdated: on_module,
                ce.ModuleDeleted: module_deleted_handler(outbox),
                ce.CourseCreated: on_course,
                ce.CourseUpdated: on_course,
                ce.CoursePublished: on_course,
                ce.CourseArchived: on_course,
                ce.CourseDeleted: on_course_deleted,
                ce.ModuleAttached: on_outline,
                ce.ModuleDetached: on_outline,
                ce.CourseModulesReordered: on_outline,
            },
        ),
        Subscription(
            name="content-from-progress",
            source="progress",
            handlers={pe.PostCompleted: on_completed, pe.PostUncompleted: on_uncompleted},
        ),
    ]

"""The course-structure projection: service functions that write catalog's and content's
events into progress's projection tables, each ``(uow, event)`` (``handlers`` maps the
events to them; the kernel's ``replay`` rebuilds the projection through them).

They are service functions like those in ``service``, kept in their own module because
they are a set of their own (they write only the projection, never progress's own data,
and emit nothing) and ``service`` is long enough with the commands.

The consumer runner (kernel) dedupes by event id and applies only events newer than
anything applied for their aggregate, so each function just writes the state its event
carries. Rows never wait for a parent: a post can land before its module, an outline
before the modules it names. Two rules keep the result independent of interleaving:

- a deleting event writes a tombstone whose columns are reset, so a row depends on its
  aggregate's newest event alone;
- outline events for a deleted course are ignored and CourseDeleted drops the course's
  outline; both take the same per-course lock, so replicas cannot interleave them.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import content as pe
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_progress.models import Course, CourseModule, Module, ModulePost, Post, table_of
from syllabus_progress.rules import first_of_each


async def _upsert(session: AsyncSession, model: type[SQLModel], values: dict[str, Any]) -> None:
    """Insert the row or overwrite every non-key column with ``values``."""
    table = table_of(model)
    keys = [c.name for c in table.primary_key.columns]
    stmt = pg_insert(table).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=keys,
            set_={name: stmt.excluded[name] for name in values if name not in keys},
        )
    )


async def _lock_course(session: AsyncSession, course_id: uuid.UUID) -> None:
    """Serialize a course's CourseDeleted with its outline events (they are two aggregates)."""
    key = func.hashtextextended(f"progress:course:{course_id}", 0)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


# ---------------------------------------------------------------- catalog


async def on_course(uow: UnitOfWork, event: ce.CourseState) -> None:
    async with uow:
        await _upsert(
            uow.session,
            Course,
            {
                "course_id": event.course_id,
                "title": event.title,
                "status": event.status,
                "visibility": event.visibility,
                "creator_id": event.creator_id,
                "deleted": False,
            },
        )


async def on_course_deleted(uow: UnitOfWork, event: ce.CourseDeleted) -> None:
    async with uow:
        session = uow.session
        await _lock_course(session, event.course_id)
        await _upsert(
            session,
            Course,
            {
                "course_id": event.course_id,
                "title": "",
                "status": "draft",
                "visibility": "private",
                "creator_id": None,
                "deleted": True,
            },
        )
        await session.execute(
            delete(CourseModule).where(col(CourseModule.course_id) == event.course_id)
        )


async def on_outline(uow: UnitOfWork, event: ce.OutlineEvent) -> None:
    """Replace the course's module order with the one the event carries."""
    async with uow:
        session = uow.session
        await _lock_course(session, event.course_id)
        deleted = await session.scalar(
            select(col(Course.deleted)).where(col(Course.course_id) == event.course_id)
        )
        if deleted:
            return
        await session.execute(
            delete(CourseModule).where(col(CourseModule.course_id) == event.course_id)
        )
        rows = [
            {"course_id": event.course_id, "module_id": module_id, "position": position}
            for module_id, position in first_of_each(
                (m.module_id, m.position) for m in event.modules
            )
        ]
        if rows:
            await session.execute(insert(CourseModule), rows)


async def on_module(uow: UnitOfWork, event: ce.ModuleState) -> None:
    async with uow:
        await _upsert(
            uow.session,
            Module,
            {"module_id": event.module_id, "title": event.title, "deleted": False},
        )


async def on_module_deleted(uow: UnitOfWork, event: ce.ModuleDeleted) -> None:
    async with uow:
        await _upsert(
            uow.session, Module, {"module_id": event.module_id, "title": "", "deleted": True}
        )


# ---------------------------------------------------------------- content


async def on_post(uow: UnitOfWork, event: pe.PostState) -> None:
    async with uow:
        await _upsert(
            uow.session,
            Post,
            {
                "post_id": event.post_id,
                "module_id": event.module_id,
                "title": event.title,
                "kind": event.kind,
                "status": event.status,
                "position": event.position,
                "max_points": event.max_points,
                "deleted": False,
            },
        )


async def on_post_deleted(uow: UnitOfWork, event: pe.PostDeleted) -> None:
    async with uow:
        await _upsert(
            uow.session,
            Post,
            {
                "post_id": event.post_id,
                "module_id": event.module_id,
                "title": "",
                "kind": "",
                "status": "draft",
                "position": 0,
                "max_points": None,
                "deleted": True,
            },
        )


async def on_posts_reordered(uow: UnitOfWork, event: pe.ModulePostsReordered) -> None:
    """Replace the module's post order with the one the event carries."""
    async with uow:
        session = uow.session
        await session.execute(
            delete(ModulePost).where(col(ModulePost.module_id) == event.module_id)
        )
        rows = [
            {"module_id": event.module_id, "post_id": post_id, "position": position}
            for post_id, position in first_of_each((p.post_id, p.position) for p in event.posts)
        ]
        if rows:
            await session.execute(insert(ModulePost), rows)

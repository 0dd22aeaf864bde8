"""The course-structure projection: service functions that write catalog's and content's
events into progress's projection tables, each ``(uow, event)`` (``handlers`` maps the
events to them; the kernel's ``replay`` rebuilds the projection through them).

They are service functions like those in ``service``, kept in their own module because
they are a set of their own and ``service`` is long enough with the commands. They write
the projection; two consequences reach progress's own data: a post whose completion rule
changes (or that arrives after facts about it) is re-derived for every student
(``derivation.derive``, events included), and a change that can complete a module
without any student doing anything (a post no longer counting, an outline or gating
change, a course turning sequential) queues the affected enrollments for a decision
(``decisions``), taken once the structure consumers have caught up.

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
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from syllabus_shared.accounts import deleted_among, is_deleted
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import content as pe
from syllabus_shared.db import upsert, write_rows
from syllabus_shared.messaging.replay import defer
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_progress import derivation
from syllabus_progress.models import (
    Course,
    CourseModule,
    Module,
    ModulePost,
    Post,
    UnlockOverride,
)
from syllabus_progress.rules import COUNTED_POST_STATUS, first_of_each, rule_of

# Every enrollment (active or completed) in the course, or in courses containing a module.
_ENQUEUE_COURSES = text("""
INSERT INTO pending_decisions (enrollment_id, since)
SELECT e.id, clock_timestamp() FROM enrollments e
WHERE e.course_id = ANY(CAST(:course_ids AS uuid[])) AND e.status IN ('active', 'completed')
ORDER BY e.id
ON CONFLICT (enrollment_id) DO UPDATE SET since = EXCLUDED.since, not_before = NULL
""")
# Each enrollment once (two modules of one course name it twice).
_ENQUEUE_MODULES = text("""
INSERT INTO pending_decisions (enrollment_id, since)
SELECT d.id, clock_timestamp() FROM (
    SELECT DISTINCT e.id FROM course_modules cm
    JOIN enrollments e ON e.course_id = cm.course_id
    WHERE cm.module_id = ANY(CAST(:module_ids AS uuid[])) AND e.status IN ('active', 'completed')
) d ORDER BY d.id
ON CONFLICT (enrollment_id) DO UPDATE SET since = EXCLUDED.since, not_before = NULL
""")
# The courses' locks (lock_for_transaction's keys), in one order: one statement.
_LOCK_COURSES = text("""
SELECT pg_advisory_xact_lock(hashtextextended('progress:course:' || k, 0))
FROM (SELECT DISTINCT CAST(k AS text) AS k FROM unnest(CAST(:course_ids AS uuid[])) AS t(k)) s
ORDER BY k
""")


async def _lock_courses(session: AsyncSession, course_ids: Sequence[uuid.UUID]) -> None:
    """Serialize a course's CourseDeleted with its outline events (they are two
    aggregates): ``lock_for_transaction(f"progress:course:{id}")`` of each, in one order."""
    if course_ids:
        await session.execute(_LOCK_COURSES, {"course_ids": list(course_ids)})


async def _enqueue_courses(session: AsyncSession, course_ids: Sequence[uuid.UUID]) -> None:
    if course_ids:
        await session.execute(_ENQUEUE_COURSES, {"course_ids": sorted(set(course_ids))})


async def _enqueue_modules(session: AsyncSession, module_ids: Sequence[uuid.UUID]) -> None:
    if module_ids:
        await session.execute(_ENQUEUE_MODULES, {"module_ids": sorted(set(module_ids))})


# ---------------------------------------------------------------- catalog


async def on_course(uow: UnitOfWork, event: ce.CourseState) -> None:
    await on_courses(uow, [event])


async def on_courses(uow: UnitOfWork, events: Sequence[ce.CourseState]) -> None:
    """Courses' states, one or many (a consumer behind, a replay): the rows before in one
    read, the creators' deletions in one, one multi-row upsert; decisions queued (one
    statement) for courses whose ``sequential`` changed."""
    async with uow:
        session = uow.session
        ids = [e.course_id for e in events]
        was_sequential = {
            row.course_id: row.sequential
            for row in await session.execute(
                select(col(Course.course_id), col(Course.sequential)).where(
                    col(Course.course_id).in_(ids)
                )
            )
        }
        # A deleted account's course is kept without its creator (a late or replayed
        # event from before the deletion does not bring it back).
        gone = await deleted_among(
            session, uow.tables, [e.creator_id for e in events if e.creator_id is not None]
        )
        await write_rows(
            session,
            Course,
            [
                {
                    "course_id": e.course_id,
                    "title": e.title,
                    "status": e.status,
                    "visibility": e.visibility,
                    "creator_id": e.creator_id if e.creator_id not in gone else None,
                    "deleted": False,
                    "sequential": e.sequential,
                }
                for e in events
            ],
        )
        await _enqueue_courses(
            session,
            [
                e.course_id
                for e in events
                if was_sequential.get(e.course_id, e.sequential) != e.sequential
            ],
        )


async def on_course_deleted(uow: UnitOfWork, event: ce.CourseDeleted) -> None:
    async with uow:
        session = uow.session
        await _lock_courses(session, [event.course_id])
        await upsert(
            session,
            Course,
            {
                "course_id": event.course_id,
                "title": "",
                "status": "draft",
                "visibility": "private",
                "creator_id": None,
                "deleted": True,
                "sequential": False,
            },
        )
        await session.execute(
            delete(CourseModule).where(col(CourseModule.course_id) == event.course_id)
        )


async def on_outline(uow: UnitOfWork, event: ce.OutlineEvent) -> None:
    """Replace the course's module order with the one the event carries."""
    await on_outlines(uow, [event])


async def on_outlines(uow: UnitOfWork, events: Sequence[ce.OutlineEvent]) -> None:
    """Replace each course's module order with the one its event carries (one event per
    course: the newest of its outline), set-based: the courses' locks, their deletions,
    one delete, one insert, one statement queueing decisions."""
    async with uow:
        session = uow.session
        ids = [e.course_id for e in events]
        await _lock_courses(session, ids)
        deleted = set(
            (
                await session.scalars(
                    select(col(Course.course_id)).where(
                        col(Course.course_id).in_(ids), col(Course.deleted)
                    )
                )
            ).all()
        )
        events = [e for e in events if e.course_id not in deleted]
        if not events:
            return
        await session.execute(
            delete(CourseModule).where(
                col(CourseModule.course_id).in_([e.course_id for e in events])
            )
        )
        rows = [row for e in events for row in _outline_rows(e)]
        if rows:
            await write_rows(session, CourseModule, rows, upsert=False)
        # A detach, a lifted prerequisite, an earlier unlock or a new order (sequential
        # courses) can complete a module or the course with nothing done by the students;
        # an attach only adds work.
        await _enqueue_courses(
            session, [e.course_id for e in events if not isinstance(e, ce.ModuleAttached)]
        )


def _outline_rows(event: ce.OutlineEvent) -> list[dict[str, Any]]:
    placements = {m.module_id: m for m in reversed(event.modules)}  # first wins
    return [
        {
            "course_id": event.course_id,
            "module_id": module_id,
            "position": position,
            "prerequisites": list(dict.fromkeys(placements[module_id].prerequisites)),
            "unlock_at": placements[module_id].unlock_at,
        }
        for module_id, position in first_of_each((m.module_id, m.position) for m in event.modules)
    ]


async def on_module(uow: UnitOfWork, event: ce.ModuleState) -> None:
    await on_modules(uow, [event])


async def on_modules(uow: UnitOfWork, events: Sequence[ce.ModuleState]) -> None:
    """Modules' titles, one or many (one multi-row upsert)."""
    async with uow:
        await write_rows(
            uow.session,
            Module,
            [{"module_id": e.module_id, "title": e.title, "deleted": False} for e in events],
        )


async def on_module_deleted(uow: UnitOfWork, event: ce.ModuleDeleted) -> None:
    async with uow:
        await upsert(
            uow.session, Module, {"module_id": event.module_id, "title": "", "deleted": True}
        )


# ---------------------------------------------------------------- content


async def on_post(uow: UnitOfWork, event: pe.PostState) -> None:
    await on_posts(uow, [event])


async def on_posts(uow: UnitOfWork, events: Sequence[pe.PostState]) -> None:
    """Upsert posts, one or many (a consumer behind, a replay): the rows before in one
    read, one multi-row upsert; then re-derive the completions of the posts whose rule
    changed (or that are new: facts can arrive before them), set-based (a replay defers
    it to its end: once per post, from its final rule), and queue decisions where a post
    stopped counting."""
    rules = {e.post_id: _rule(e) for e in events}
    async with uow:
        session = uow.session
        before = {
            row.post_id: row
            for row in await session.execute(
                select(
                    col(Post.post_id),
                    col(Post.rule),
                    col(Post.min_score),
                    col(Post.module_id),
                    col(Post.status),
                    col(Post.deleted),
                ).where(col(Post.post_id).in_(list(rules)))
            )
        }
        await write_rows(session, Post, [_post_row(e, *rules[e.post_id]) for e in events])
        rederive: list[uuid.UUID] = []
        stopped_counting: list[uuid.UUID] = []  # modules
        for e in events:
            was = before.get(e.post_id)
            if was is None or (was.rule, was.min_score) != rules[e.post_id]:
                rederive.append(e.post_id)
            if (
                was is not None
                and _counted(was.status, was.deleted)
                and (was.module_id != e.module_id or not _counted(e.status, False))
            ):
                stopped_counting.append(was.module_id)
        if not defer(derivation.derive_posts, rederive):
            await derivation.derive_posts(uow, rederive)
        await _enqueue_modules(session, stopped_counting)


def _rule(event: pe.PostState) -> tuple[str, float | None]:
    completion = event.completion
    return rule_of(
        event.kind,
        completion.rule if completion else None,
        completion.min_score if completion else None,
    )


def _post_row(event: pe.PostState, rule: str, min_score: float | None) -> dict[str, Any]:
    return {
        "post_id": event.post_id,
        "module_id": event.module_id,
        "title": event.title,
        "kind": event.kind,
        "status": event.status,
        "position": event.position,
        "max_points": event.max_points,
        "deleted": False,
        "rule": rule,
        "min_score": min_score,
    }


def _counted(status: str, deleted: bool) -> bool:
    return status == COUNTED_POST_STATUS and not deleted


async def on_post_deleted(uow: UnitOfWork, event: pe.PostDeleted) -> None:
    """A tombstone (its completions stay, as facts do; it no longer counts anywhere)."""
    async with uow:
        session = uow.session
        before = (
            await session.execute(
                select(col(Post.module_id), col(Post.status), col(Post.deleted)).where(
                    col(Post.post_id) == event.post_id
                )
            )
        ).first()
        if before is not None and _counted(before.status, before.deleted):
            await _enqueue_modules(session, [before.module_id])
        await upsert(
            session,
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
                "rule": "mark_done",
                "min_score": None,
            },
        )


async def on_posts_reordered(uow: UnitOfWork, event: pe.ModulePostsReordered) -> None:
    """Replace the module's post order with the one the event carries."""
    await on_posts_reorderings(uow, [event])


async def on_posts_reorderings(uow: UnitOfWork, events: Sequence[pe.ModulePostsReordered]) -> None:
    """Replace each module's post order with the one its event carries (one event per
    module: the newest), set-based: one delete, one insert."""
    async with uow:
        session = uow.session
        await session.execute(
            delete(ModulePost).where(col(ModulePost.module_id).in_([e.module_id for e in events]))
        )
        rows = [
            {"module_id": e.module_id, "post_id": post_id, "position": position}
            for e in events
            for post_id, position in first_of_each((p.post_id, p.position) for p in e.posts)
        ]
        if rows:
            await write_rows(session, ModulePost, rows, upsert=False)


# ---------------------------------------------------------------- dates per group and student


async def on_unlock_override_set(uow: UnitOfWork, event: ce.UnlockOverrideSet) -> None:
    """Catalog's unlock override of a module in a course, for a group or a student. Nothing
    for a deleted account: catalog may have set it before it learned of the deletion, and
    this service may have applied that ``UserDeleted`` first (catalog forgets its own copy
    without an event of its own)."""
    async with uow:
        if event.kind == "user" and await is_deleted(uow.session, uow.tables, event.target_id):
            return
        await upsert(
            uow.session,
            UnlockOverride,
            {
                "course_id": event.course_id,
                "module_id": event.module_id,
                "kind": event.kind,
                "target_id": event.target_id,
                "unlock_at": event.unlock_at,
            },
        )
        await _dates_changed(uow, event.course_id)


async def on_unlock_override_removed(uow: UnitOfWork, event: ce.UnlockOverrideRemoved) -> None:
    async with uow:
        await uow.session.execute(
            delete(UnlockOverride).where(
                col(UnlockOverride.course_id) == event.course_id,
                col(UnlockOverride.module_id) == event.module_id,
                col(UnlockOverride.kind) == event.kind,
                col(UnlockOverride.target_id) == event.target_id,
            )
        )
        await _dates_changed(uow, event.course_id)


async def _dates_changed(uow: UnitOfWork, course_id: uuid.UUID) -> None:
    """Decisions of the course's enrollments are due again (a date may have opened or
    closed a module holding facts)."""
    await _enqueue_courses(uow.session, [course_id])

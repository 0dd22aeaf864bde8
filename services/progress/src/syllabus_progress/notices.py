"""Whom a change concerns, told through the live stream (contracts.notices).

Progress knows who is enrolled where, so it decides which students see a change and which
course owners' rosters move, and records one notice per person in the transaction that
applies the change (``syllabus_shared.notify.tell``), carrying the token of its cause:

- structure (catalog's course and outline events, content's post and order events): every
  student enrolled (active or completed) in an affected course, ``reason: structure``, and
  the course's owner (``roster``: totals and percents move);
- progress's own events, read back from its stream by the ``progress-notices`` consumer
  (so the request that completed a post pays nothing for it): enrollment changes
  (``reason: enrollment``), completions (``reason: completion`` in each course of the
  post the student is enrolled in; ``unlock`` when a completed module opens another),
  each with a ``roster`` to the owners;
- dates: :func:`run_unlock_clock` notices modules whose ``unlock_at`` has passed and tells
  their students ``reason: unlock``.

Drafts move nothing a student sees: a post event for a post that is a draft (and was not
just unpublished) tells nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import text
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import content as pe
from syllabus_shared.contracts import progress as pr
from syllabus_shared.contracts.notices import ProgressReason
from syllabus_shared.notify import tell
from syllabus_shared.runtime import Runtime
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_progress.settings import Settings

log = logging.getLogger("syllabus.progress.notices")

# Students (active or completed) and owners of the given courses.
_AUDIENCE = text("""
SELECT k.course_id, e.user_id, c.creator_id
FROM unnest(CAST(:course_ids AS uuid[])) AS k(course_id)
JOIN courses c ON c.course_id = k.course_id
LEFT JOIN enrollments e ON e.course_id = k.course_id AND e.status IN ('active', 'completed')
""")
_COURSES_OF_MODULES = text("""
SELECT DISTINCT course_id FROM course_modules WHERE module_id = ANY(CAST(:module_ids AS uuid[]))
""")
# Each (student, course) a completion of (user, post) shows in, with the course's owner.
_COURSES_OF_COMPLETIONS = text("""
SELECT DISTINCT e.user_id, e.course_id, c.creator_id
FROM unnest(CAST(:user_ids AS uuid[]), CAST(:post_ids AS uuid[])) AS k(user_id, post_id)
JOIN posts p ON p.post_id = k.post_id
JOIN course_modules cm ON cm.module_id = p.module_id
JOIN enrollments e ON e.course_id = cm.course_id AND e.user_id = k.user_id
    AND e.status IN ('active', 'completed')
JOIN courses c ON c.course_id = e.course_id
""")
_OWNER = text("SELECT creator_id FROM courses WHERE course_id = :course_id")
# Whether a module is a prerequisite of another module of the course.
_OPENS_ANOTHER = text("""
SELECT EXISTS (SELECT FROM course_modules
               WHERE course_id = :course_id AND CAST(:module_id AS uuid) = ANY(prerequisites))
""")
# Modules whose unlock date passed in (since, until]: the course's own dates, and those
# per group or per student (their course's students are told; each one's next read
# shows their own date).
_UNLOCKED = text("""
SELECT course_id FROM course_modules WHERE unlock_at > :since AND unlock_at <= :until
UNION
SELECT course_id FROM unlock_overrides WHERE unlock_at > :since AND unlock_at <= :until
""")


def _progress(user_id: Any, course_id: Any, reason: ProgressReason) -> dict[str, Any]:
    return {"user_id": user_id, "kind": "progress", "course_id": course_id, "reason": reason}


def _roster(owner_id: Any, course_id: Any) -> dict[str, Any]:
    return {"user_id": owner_id, "kind": "roster", "course_id": course_id}


async def tell_courses(
    uow: UnitOfWork, course_ids: Iterable[uuid.UUID], reason: ProgressReason
) -> None:
    """Tell every student of ``course_ids`` (``reason``) and each course's owner (roster)."""
    ids = sorted(set(course_ids))
    if not ids:
        return
    async with uow:
        rows = (await uow.session.execute(_AUDIENCE, {"course_ids": ids})).all()
        recipients: list[dict[str, Any]] = []
        for course_id, user_id, owner_id in rows:
            if user_id is not None:
                recipients.append(_progress(user_id, course_id, reason))
            if owner_id is not None:
                recipients.append(_roster(owner_id, course_id))
        await tell(uow, pr.ProgressNotice, recipients)


async def _courses_of_modules(uow: UnitOfWork, module_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    ids = sorted(set(module_ids))
    if not ids:
        return []
    async with uow:
        rows = await uow.session.execute(_COURSES_OF_MODULES, {"module_ids": ids})
        return [row[0] for row in rows]


# ------------------------------------------------------------ structure (after projection)


async def on_course(uow: UnitOfWork, event: ce.CourseEvent) -> None:
    await tell_courses(uow, [event.course_id], "structure")


async def on_outline(uow: UnitOfWork, event: ce.OutlineEvent) -> None:
    await tell_courses(uow, [event.course_id], "structure")


async def on_unlock_override(uow: UnitOfWork, event: ce.UnlockOverrideEvent) -> None:
    # Tells the course's students (whose dates changed is a question for the evaluation:
    # a group's members, a student); their next read shows their own date.
    await tell_courses(uow, [event.course_id], "unlock")


async def on_modules(uow: UnitOfWork, events: Sequence[ce.ModuleEvent]) -> None:
    courses = await _courses_of_modules(uow, (e.module_id for e in events))
    await tell_courses(uow, courses, "structure")


async def on_module(uow: UnitOfWork, event: ce.ModuleEvent) -> None:
    await on_modules(uow, [event])


def _seen_by_students(event: pe.PostEvent) -> bool:
    # A draft that stays a draft changes nothing a student sees.
    if isinstance(event, pe.PostState):
        return event.status == "published" or isinstance(event, pe.PostUnpublished)
    return True


async def on_posts(uow: UnitOfWork, events: Sequence[pe.PostEvent]) -> None:
    modules = [e.module_id for e in events if _seen_by_students(e)]
    await tell_courses(uow, await _courses_of_modules(uow, modules), "structure")


async def on_post(uow: UnitOfWork, event: pe.PostEvent) -> None:
    await on_posts(uow, [event])


async def on_posts_reordered(uow: UnitOfWork, event: pe.ModulePostsReordered) -> None:
    await tell_courses(uow, await _courses_of_modules(uow, [event.module_id]), "structure")


# ------------------------------------------------------------ progress's own events


async def on_enrollments(uow: UnitOfWork, events: Sequence[pr.EnrollmentEvent]) -> None:
    """Each student's enrollment changed (a group followed enrolls thousands at once): one
    notice each, and one roster notice per course's owner (the coalescing stream sends
    the owner one event a second anyway)."""
    async with uow:
        recipients = [_progress(e.user_id, e.course_id, "enrollment") for e in events]
        for course_id in {e.course_id for e in events}:
            owner = (await uow.session.execute(_OWNER, {"course_id": course_id})).scalar()
            if owner is not None:
                recipients.append(_roster(owner, course_id))
        await tell(uow, pr.ProgressNotice, recipients)


async def on_enrollment(uow: UnitOfWork, event: pr.EnrollmentEvent) -> None:
    await on_enrollments(uow, [event])


async def on_completions(uow: UnitOfWork, events: Sequence[pr.CompletionEvent]) -> None:
    async with uow:
        rows = await uow.session.execute(
            _COURSES_OF_COMPLETIONS,
            {"user_ids": [e.user_id for e in events], "post_ids": [e.post_id for e in events]},
        )
        recipients: list[dict[str, Any]] = []
        for user_id, course_id, owner_id in rows:
            recipients.append(_progress(user_id, course_id, "completion"))
            if owner_id is not None:
                recipients.append(_roster(owner_id, course_id))
        await tell(uow, pr.ProgressNotice, recipients)


async def on_completion(uow: UnitOfWork, event: pr.CompletionEvent) -> None:
    await on_completions(uow, [event])


async def on_module_completed(uow: UnitOfWork, event: pr.ModuleCompleted) -> None:
    async with uow:
        opens = (
            await uow.session.execute(
                _OPENS_ANOTHER, {"course_id": event.course_id, "module_id": event.module_id}
            )
        ).scalar()
        reason: ProgressReason = "unlock" if opens else "completion"
        await tell(uow, pr.ProgressNotice, [_progress(event.user_id, event.course_id, reason)])


# ------------------------------------------------------------ dates


async def tell_unlocked(rt: Runtime, since: dt.datetime, until: dt.datetime) -> int:
    """Tell the students of each course with a module whose ``unlock_at`` passed in
    (``since``, ``until``]; returns how many courses."""
    async with rt.unit_of_work() as uow:
        rows = await uow.session.execute(_UNLOCKED, {"since": since, "until": until})
        courses = [row[0] for row in rows]
        await tell_courses(uow, courses, "unlock")
    return len(courses)


UNLOCK_CLOCK_INTERVAL = 0.5


async def run_unlock_clock(rt: Runtime, settings: Settings) -> None:
    """A background part of the ``consume`` process: every half second, tell the students
    whose modules opened by date since the last look. The clock starts when the process
    does: an unlock that passed while no consume process ran is shown by the next read
    (locks are computed when read), not pushed."""
    if not settings.run_consumers:
        return None

    async def tick() -> None:
        since = dt.datetime.now(dt.UTC)
        while not rt.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(rt.stop.wait(), UNLOCK_CLOCK_INTERVAL)
            until = dt.datetime.now(dt.UTC)
            try:
                await tell_unlocked(rt, since, until)
                since = until
            except Exception as exc:  # the database away: look again next tick, same since
                log.warning("unlock clock: %r", exc)

    rt.tasks.append(asyncio.create_task(tick(), name="unlock-clock"))
    return None

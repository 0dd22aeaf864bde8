"""Module and course completion, decided only on a caught-up structure.

Whether a module or a course is complete depends on the course's structure, which
reaches progress through catalog's and content's events. Judged while one of those is
still pending (the course's second post not applied yet), "1 of 1 posts" would look like
100 %, and a completed enrollment stays completed. So a decision is made only when both
structure consumers are caught up (``EventConsumer.caught_up``: running, not paused,
nothing pending or unacknowledged on the server); otherwise the enrollment is queued in
``pending_decisions`` and the :class:`Decider` (one task wherever the consumers run: the
``consume`` process, or ``serve`` with ``RUN_CONSUMERS=true``) decides it once they are
(woken by the consumers' caught-up hook, by the ``NOTIFY`` of each enqueue, else every
second). An API process without consumers asks the server instead
(``EventConsumer.caught_up_elsewhere``: nothing pending or unacknowledged, and a pull
request waiting, so a consume process runs them): caught up, it decides in the request as
before; unsure, it queues, and the consume process decides within milliseconds.

A decision evaluates the enrollment exactly as the progress document does
(``evaluation``) with the enrollment row-locked, and:

- inserts ``module_completions`` for every completed module not recorded yet
  (ModuleCompleted, once per (enrollment, module), ever);
- moves an ``active`` enrollment whose course is complete to ``completed``
  (CourseCompleted, once per enrollment).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from syllabus_shared.contracts import progress as ev
from syllabus_shared.db import libpq_url, utcnow
from syllabus_shared.messaging.consumer import EventConsumer
from syllabus_shared.runtime import Runtime
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_progress.evaluation import Standing, standings, statement
from syllabus_progress.rules import completes_course, course_complete
from syllabus_progress.settings import Settings

log = logging.getLogger("syllabus.progress.decisions")

# The consumers whose events are the course structure (the facts' consumers are not).
STRUCTURE = ("progress-from-catalog", "progress-from-content")
BATCH = 200
# NOTIFYed (at commit) by every enqueue: the decider, in whichever process runs it, wakes.
CHANNEL = "progress_decisions"

_BY_IDS = statement("SELECT * FROM enrollments WHERE id = ANY(:ids)")
# One enrollment (a mark, most decisions): by equality. PostgreSQL plans the statement
# (~1 ms, four times its execution) on every execution while it keeps a custom plan; with
# `= ANY(array)` it always does (the generic plan's guess of the array's size costs more),
# with `= $1` it settles on the generic plan after five executions, as for the document.
_BY_ID = statement("SELECT * FROM enrollments WHERE id = :id")


async def standings_of(
    session: AsyncSession, enrollment_ids: Sequence[uuid.UUID]
) -> list[Standing]:
    """The standings of ``enrollment_ids`` (in id order)."""
    if len(enrollment_ids) == 1:
        return await standings(session, _BY_ID, {"id": enrollment_ids[0]})
    return await standings(session, _BY_IDS, {"ids": list(enrollment_ids)})


_RECORD_MODULES = text("""
INSERT INTO module_completions (id, enrollment_id, module_id, completed_at)
SELECT gen_random_uuid(), :enrollment_id, m, :now FROM unnest(CAST(:modules AS uuid[])) m
ON CONFLICT ON CONSTRAINT uq_module_completions_pair DO NOTHING
RETURNING id, module_id
""")
_COMPLETE = text("""
UPDATE enrollments SET status = 'completed', completed_at = :now, version = version + 1,
                       updated_at = :now
WHERE id = :id AND status = 'active'
RETURNING version
""")
# Queued decisions due now (those waiting for an unlock date only once it passed).
_DUE_NOW = "(not_before IS NULL OR not_before <= clock_timestamp())"
_ANY_DUE = text(f"SELECT clock_timestamp() FROM pending_decisions WHERE {_DUE_NOW} LIMIT 1")
_DUE = text(f"""
SELECT enrollment_id FROM pending_decisions WHERE since < :checked AND {_DUE_NOW}
ORDER BY since LIMIT :n
""")
_LOCK = text("SELECT id FROM enrollments WHERE id = ANY(:ids) ORDER BY id FOR UPDATE SKIP LOCKED")
_DONE = text("DELETE FROM pending_decisions WHERE enrollment_id = ANY(:ids) AND since < :checked")
# Queued for an enrollment that no longer exists (deleted with its account while the
# decision was being queued in another transaction): nothing left to decide.
_GONE = text("""
DELETE FROM pending_decisions p WHERE p.enrollment_id = ANY(:ids)
AND NOT EXISTS (SELECT FROM enrollments e WHERE e.id = p.enrollment_id)
""")
_LATER = text("""
INSERT INTO pending_decisions (enrollment_id, since, not_before) VALUES (:id, :checked, :at)
ON CONFLICT (enrollment_id) DO NOTHING
""")
_ENQUEUE = text(f"""
INSERT INTO pending_decisions (enrollment_id, since)
SELECT id, clock_timestamp() FROM enrollments WHERE id = ANY(:ids)
ON CONFLICT (enrollment_id) DO UPDATE SET since = EXCLUDED.since, not_before = NULL
RETURNING pg_notify('{CHANNEL}', '')
""")


async def decide(uow: UnitOfWork, found: Sequence[Standing]) -> None:
    """Record what is complete in ``found`` (evaluated with their enrollments row-locked,
    in this transaction): ModuleCompleted for new module completions, CourseCompleted for
    an active enrollment whose course is complete."""
    session = uow.session
    now = utcnow()
    events: list[tuple[Any, int]] = []
    for s in found:
        if s.status not in ("active", "completed"):
            continue
        completed = [
            m.facts.module_id
            for m in s.course.modules
            if m.completed and m.facts.module_id not in s.recorded
        ]
        if completed:
            rows = await session.execute(
                _RECORD_MODULES,
                {"enrollment_id": s.enrollment_id, "modules": completed, "now": now},
            )
            for row in rows:
                events.append(
                    (
                        ev.ModuleCompleted(
                            module_completion_id=row.id,
                            enrollment_id=s.enrollment_id,
                            user_id=s.user_id,
                            course_id=s.course_id,
                            module_id=row.module_id,
                            completed_at=now,
                        ),
                        1,
                    )
                )
        if completes_course(s.status) and course_complete(s.course.done, s.course.total):
            version = await session.scalar(_COMPLETE, {"id": s.enrollment_id, "now": now})
            if version is not None:
                s.status, s.completed_at = "completed", now
                events.append(
                    (
                        ev.CourseCompleted(
                            enrollment_id=s.enrollment_id,
                            user_id=s.user_id,
                            course_id=s.course_id,
                            status="completed",
                            completed_at=now,
                        ),
                        version,
                    )
                )
    await uow.publish_many(events)


def next_unlock(s: Standing) -> dt.datetime | None:
    """The earliest future ``unlock_at`` of a module holding something done (a view, a
    submission, a score waiting for the unlock): when deciding again may record more."""
    times: list[dt.datetime] = [
        lock["at"]
        for m in s.course.modules
        if any(p.facts.done for p in m.posts)
        for lock in m.locks
        if lock["reason"] == "unlock_at"
    ]
    return min(times) if times else None


def decision_due(s: Standing) -> bool:
    """Whether deciding ``s`` would record something: a completed module not recorded
    yet, or a complete course for an active enrollment."""
    if s.status not in ("active", "completed"):
        return False
    if any(m.completed and m.facts.module_id not in s.recorded for m in s.course.modules):
        return True
    return completes_course(s.status) and course_complete(s.course.done, s.course.total)


async def enqueue(uow: UnitOfWork, enrollment_ids: Sequence[uuid.UUID]) -> None:
    if enrollment_ids:
        await uow.session.execute(_ENQUEUE, {"ids": list(enrollment_ids)})


class Decider:
    """Decides queued enrollments once the structure consumers are caught up (a runtime
    part: ``part(Decider)``; its task runs beside the consumers)."""

    def __init__(self, rt: Runtime, interval: float = 1.0, *, wait: bool = True) -> None:
        self.rt = rt
        self.interval = interval
        self.wait = wait  # False: decide at once (``completion_waits_for_structure``)
        self.consumers: list[EventConsumer] = [
            c for c in rt.consumers if c.subscription.name in STRUCTURE
        ]
        self._wake = asyncio.Event()
        for consumer in rt.consumers:
            consumer.on_caught_up(self._wake.set)

    async def caught_up(self) -> bool:
        """Every structure consumer has applied everything in its stream so far."""
        if not self.wait:
            return True
        if len(self.consumers) != len(STRUCTURE):
            return False
        # Without consumers here (an API process beside the consume process) the server
        # says whether the process that runs them is caught up (and running at all).
        local = self.rt.settings.run_consumers
        for consumer in self.consumers:
            if not await (consumer.caught_up() if local else consumer.caught_up_elsewhere()):
                return False
        return True

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen(), name="progress-decisions-listener")
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval)
                self._wake.clear()
                if stop.is_set():
                    break
                try:
                    while await self.decide_pending() >= BATCH:
                        pass
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("deciding queued enrollments failed: %r", exc)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self) -> None:
        """Wake on every enqueue's NOTIFY (an API process queues what it cannot decide);
        the one-second round covers a lost connection."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    libpq_url(self.rt.settings.database_url), autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._wake.set()  # anything queued while not listening
                    async for _ in conn.notifies():
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("decision listener lost (%r); deciding every %gs", exc, self.interval)
                await asyncio.sleep(5.0)

    async def decide_pending(self) -> int:
        """Decide up to :data:`BATCH` queued enrollments if the structure is caught up now;
        returns how many it decided (enrollments in use elsewhere wait for the next round)."""
        async with self.rt.db.read() as conn:
            checked = await conn.scalar(_ANY_DUE)
        if checked is None or not await self.caught_up():
            return 0  # nothing due, or not caught up: not now
        uow = self.rt.unit_of_work()
        async with uow:
            session = uow.session
            ids = list((await session.scalars(_DUE, {"checked": checked, "n": BATCH})).all())
            if not ids:
                return 0
            await session.execute(_GONE, {"ids": ids})
            # Enrollments first (the order completions take), skipping ones in use.
            locked = list((await session.scalars(_LOCK, {"ids": ids})).all())
            if locked:
                found = await standings_of(session, locked)
                await decide(uow, found)
                await session.execute(_DONE, {"ids": locked, "checked": checked})
                # Facts waiting behind an unlock date: decide again once it passes.
                for standing in found:
                    at = next_unlock(standing)
                    if at is not None:
                        await session.execute(
                            _LATER, {"id": standing.enrollment_id, "at": at, "checked": checked}
                        )
        return len(locked)


async def start(rt: Runtime, settings: Settings) -> Decider:
    """The API part (``part(Decider)``): whether a completion may decide in its own
    transaction (this process's structure consumers are caught up) or must queue."""
    return Decider(rt, wait=settings.completion_waits_for_structure)


async def run(rt: Runtime, settings: Settings) -> Decider:
    """The background part: the decider's task (stopped with the runtime) where it can
    decide, i.e. where the structure consumers run (or nothing waits for them)."""
    decider = Decider(rt, wait=settings.completion_waits_for_structure)
    if decider.wait and not rt.settings.run_consumers:
        return decider  # an API process beside a consume process: it only queues
    rt.tasks.append(asyncio.create_task(decider.run(rt.stop), name="progress-decider"))
    return decider

"""The outbox relay: publishes committed outbox rows to JetStream, then marks them sent.

- Selects *unpublished* rows with ``FOR UPDATE SKIP LOCKED`` (never "id > last seen",
  which skips rows that commit late), so several relays can run side by side.
- Publishes with ``Nats-Msg-Id`` = event id: a re-publish after a crash between
  publish and mark is dropped by the stream's duplicate window.
- Wakes on ``LISTEN/NOTIFY`` and polls as a fallback; backs off while NATS is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import psycopg
from sqlalchemy import func, select, update

from syllabus_shared.db import Database, libpq_url
from syllabus_shared.messaging.nats_link import NatsLink, NatsUnavailable
from syllabus_shared.messaging.outbox import NOTIFY_CHANNEL
from syllabus_shared.messaging.tables import KernelTables
from syllabus_shared.observability import Metrics

log = logging.getLogger("syllabus.relay")

# Test-only fault points (see syllabus_shared.faults); a no-op in production.
FaultHook = Callable[[str], Awaitable[None]]


async def _no_fault(point: str) -> None:
    return None


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        tables: KernelTables,
        nats: NatsLink,
        *,
        metrics: Metrics | None = None,
        batch_size: int = 200,
        poll_interval: float = 1.0,
        fault: FaultHook = _no_fault,
    ) -> None:
        self.db = db
        self.tables = tables
        self.nats = nats
        self.metrics = metrics
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.fault = fault
        self._wake = asyncio.Event()

    async def publish_batch(self) -> int:
        """Publish up to one batch of unpublished rows; returns how many were sent."""
        js = self.nats.jetstream()
        ob = self.tables.outbox
        async with self.db.transaction() as session:
            rows = (
                await session.execute(
                    select(ob.c.id, ob.c.subject, ob.c.payload)
                    .where(ob.c.published_at.is_(None))
                    .order_by(ob.c.created_at, ob.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            results = await asyncio.gather(
                *(
                    js.publish(row.subject, row.payload, headers={"Nats-Msg-Id": str(row.id)})
                    for row in rows
                ),
                return_exceptions=True,
            )
            sent = [
                row.id
                for row, res in zip(rows, results, strict=True)
                if not isinstance(res, BaseException)
            ]
            failed = [
                (row.id, res)
                for row, res in zip(rows, results, strict=True)
                if isinstance(res, BaseException)
            ]
            await self.fault("relay.after_publish")
            if sent:
                await session.execute(
                    update(ob).where(ob.c.id.in_(sent)).values(published_at=func.now())
                )
            for row_id, error in failed:
                await session.execute(
                    update(ob)
                    .where(ob.c.id == row_id)
                    .values(attempts=ob.c.attempts + 1, last_error=repr(error)[:500])
                )
        if self.metrics:
            self.metrics.outbox_published.inc(len(sent))
            self.metrics.outbox_publish_errors.inc(len(failed))
        if failed:
            raise NatsUnavailable(
                f"{len(failed)} of {len(rows)} publishes failed: {failed[0][1]!r}"
            )
        return len(sent)

    async def drain(self) -> int:
        """Publish until nothing is pending (used by tests and on shutdown)."""
        total = 0
        while n := await self.publish_batch():
            total += n
        return total

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen(stop), name="outbox-listen")
        delay = 0.1
        try:
            while not stop.is_set():
                try:
                    while await self.publish_batch() >= self.batch_size and not stop.is_set():
                        pass
                    delay = 0.1
                except Exception as exc:
                    log.warning("relay pass failed: %r; retrying in %.1fs", exc, delay)
                    await _sleep_or_stop(stop, delay)
                    delay = min(delay * 2, 5.0)
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wait(stop), self.poll_interval)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _wait(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def _listen(self, stop: asyncio.Event) -> None:
        """Wake the relay on NOTIFY; reconnect when the database goes away."""
        delay = 0.5
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    libpq_url(self.db.url), autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    delay = 0.5
                    async for _ in conn.notifies():
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("outbox listener lost (%r); polling until it returns", exc)
                await _sleep_or_stop(stop, delay)
                delay = min(delay * 2, 10.0)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)

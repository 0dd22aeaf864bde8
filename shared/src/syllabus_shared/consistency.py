"""Read-your-writes across services: a bounded wait on the local projection.

Two ways in. With a consistency token (``syllabus_shared.consistency_token``), the
:class:`ConsistencyGate` holds a request until this service's consumers have handled
every event the token names that they consume: exact, for lists and aggregates too.
Without one, a request that names an id minted moments ago waits for that id:

When a request depends on something another service just wrote (a module created
a moment ago, a course just published) and the local projection does not show it
yet, the request waits, up to ``consistency_wait_seconds``, for the projection to
catch up instead of failing. Consumers ``NOTIFY`` after every applied event, so
a waiting request re-checks as soon as anything lands, in whichever replica
applied it; a short poll covers a lost notification. No service calls another.

Waiting only makes sense for ids that could still be in flight: UUIDv7 ids carry
their creation time, so an id minted long ago (or not a v7 at all) is answered at
once. The wait is on the requester, never on a lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable

import psycopg
from sqlalchemy import Table, select, tuple_

from syllabus_shared.consistency_token import ConsistencyToken, type_code
from syllabus_shared.db import Database, libpq_url

log = logging.getLogger("syllabus.consistency")

NOTIFY_CHANNEL = "syllabus_projection"
IN_FLIGHT_SECONDS = 120.0


def recently_minted(value: uuid.UUID, window: float = IN_FLIGHT_SECONDS) -> bool:
    """True when ``value`` is a UUIDv7 created within ``window`` seconds (or slightly ahead)."""
    if value.version != 7:
        return False
    created_ms = value.int >> 80
    age = time.time() - created_ms / 1000
    return -5.0 <= age <= window


class ProjectionWatcher:
    """One LISTEN connection per process; requests wait on it for projection changes."""

    def __init__(self, database_url: str, *, poll_interval: float = 0.1) -> None:
        self.database_url = database_url
        self.poll_interval = poll_interval
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="projection-watcher")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def notify_local(self) -> None:
        """Wake local waiters (the consumer in this process just applied something)."""
        self._signal()

    def _signal(self) -> None:
        # Wake everyone waiting on this generation; later waits get a fresh event. (One
        # shared event cleared by each waiter lost wake-ups: a waiter clearing it erased
        # a change that another waiter, mid-check, had not seen yet.)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _listen(self) -> None:
        delay = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    libpq_url(self.database_url), autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    delay = 0.5
                    async for _ in conn.notifies():
                        self._signal()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("projection listener lost (%r); polling", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def wait_until(self, check: Callable[[], Awaitable[bool]], timeout: float) -> bool:
        """Re-run ``check`` whenever the projection changes, until it is true or time is up."""
        deadline = time.monotonic() + timeout
        while True:
            changed = self._changed  # taken before checking: a change during the check wakes us
            if await check():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(remaining, self.poll_interval))


SATISFIED_CACHE = 10_000


class ConsistencyGate:
    """Holds a request until this service has handled what its consistency token names.

    ``consumed`` is every (consumer, event type) this service's consumers handle. Of a
    token, only the types consumed here count: one this service never reads is not
    waited for. The positions seen are kept in memory (they only grow), so a token that
    is already satisfied costs a dictionary lookup per entry and no query; otherwise the
    rows are read again each time the projection changes, until the bound.
    """

    def __init__(
        self,
        db: Database,
        table: Table,
        consumed: Iterable[tuple[str, str]],
        watcher: ProjectionWatcher,
        wait_seconds: float,
    ) -> None:
        self.db = db
        self.table = table
        self.watcher = watcher
        self.wait_seconds = wait_seconds
        self._by_code = {type_code(event_type): (c, event_type) for c, event_type in consumed}
        self._known: dict[str, int] = {}
        # Token strings already found satisfied: positions only grow, so they stay so; a
        # client repeating its token (the cookie on every read) costs one set lookup.
        self._satisfied: set[str] = set()

    def known_satisfied(self, value: str | None) -> bool:
        """True when ``value`` (a token as sent) is absent or was satisfied before."""
        return value is None or value in self._satisfied

    def remember_satisfied(self, *values: str | None) -> None:
        if len(self._satisfied) >= SATISFIED_CACHE:
            self._satisfied.clear()  # bounded; refilled by the next requests
        self._satisfied.update(v for v in values if v)

    def pending(self, token: ConsistencyToken) -> dict[str, int]:
        """The entries of ``token`` this service consumes and is not known to have reached."""
        known = self._known
        return {
            code: position
            for code, position in token.positions.items()
            if code in self._by_code and position > known.get(code, 0)
        }

    async def refresh(self, codes: Iterable[str]) -> None:
        keys = [self._by_code[code] for code in codes]
        if not keys:
            return
        t = self.table
        async with self.db.read() as conn:
            rows = await conn.execute(
                select(t.c.event_type, t.c.position).where(
                    tuple_(t.c.consumer, t.c.event_type).in_(keys)
                )
            )
            for event_type, position in rows:
                code = type_code(event_type)
                if position > self._known.get(code, 0):
                    self._known[code] = int(position)

    async def wait(self, token: ConsistencyToken) -> bool:
        """True once everything ``token`` names that this service consumes is handled;
        False when the bound passed first."""
        if not self.pending(token):
            return True

        async def reached() -> bool:
            pending = self.pending(token)
            if pending:
                await self.refresh(pending)
            return not self.pending(token)

        return await self.watcher.wait_until(reached, self.wait_seconds)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)

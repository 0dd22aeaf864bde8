"""Rebuilding a projection by replaying the streams it was built from.

A service that keeps a projection of other services' events declares it
(:class:`Projection`: its tables and the aggregates their events belong to).
:func:`replay` empties those tables, forgets what the service's consumers applied, and
reads each consumed stream from its start with an ephemeral pull consumer (no acks, in
stream order, filtered to the events the service handles), applying it through the
consumer's one apply path (inbox, sequence check, handler), as live. The result equals a
projection built live (RELIABILITY: rebuildable projections).

It is a bulk path, not the live one run faster:

- **windows**: each stream is read in windows of up to :data:`WINDOW` messages (one pull
  request each, its messages taken by a subscription callback), each applied in ONE
  transaction; the next window (of this stream, else of the next) is fetched while one
  is applied, so memory stays bounded (two windows) and NATS and PostgreSQL work at
  once. The consumer's one statement over a window records the inbox rows and keeps
  only the newest event of each aggregate (events carry their aggregate's state).
- **one call per handler**: in a ``reorderable`` subscription (handlers that commute
  across aggregates, as projections do) every due event of a window goes to its type's
  set-based handler at once (``EventConsumer.apply(bulk=True)``): one statement per
  table, not one short run per type.
- **deferred work**: a handler may hand work that only the final state needs to
  :func:`defer` (progress: re-deriving the completions of posts that are new or whose
  rule changed); it is collected while the streams are read and done ONCE at the end, in
  one transaction, set-based.

Nobody is told (``notices_quiet``): nothing anyone sees changed. Progress is drawn by
rich on a terminal; otherwise (a log, a CI job) a summary line is written every few
seconds, never one line per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import Table, delete, text

from syllabus_shared.messaging.nats_link import ensure_stream
from syllabus_shared.messaging.outbox import notices_quiet
from syllabus_shared.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from syllabus_shared.messaging.consumer import EventConsumer
    from syllabus_shared.runtime import Runtime

log = logging.getLogger("syllabus.replay")

# Called with (events done, events expected) as a replay goes.
ProgressFn = Callable[[int, int], None]
# Messages per window: each window is one transaction (its inbox rows, one statement per
# handler). Bounded so memory is (a window being applied and the next being fetched).
WINDOW = 10_000
# Bound on one window's pull: the messages are on the server already.
PULL_TIMEOUT = 5.0
# Work deferred to the end of a replay: called with the keys collected.
DeferredFn = Callable[[UnitOfWork, list[Any]], Awaitable[None]]
# While a replay runs (in its task only; live consumers beside it do not see it): the
# deferred work, each function with its keys (in first-seen order, each once).
_deferred: ContextVar[dict[DeferredFn, dict[Any, None]] | None] = ContextVar(
    "replay_deferred", default=None
)


def defer(fn: DeferredFn, keys: Iterable[Hashable]) -> bool:
    """During a :func:`replay` (in its task), remember ``keys`` for ``fn``, called ONCE
    with every key collected after all streams are read (in one transaction), and return
    True; otherwise return False: the caller does the work now.

    For work only the final state needs, idempotent, whose result does not depend on
    when it runs (e.g. re-deriving a post's completions from the facts and the post's
    final rule)."""
    pending = _deferred.get()
    if pending is None:
        return False
    pending.setdefault(fn, {}).update(dict.fromkeys(keys))
    return True


@dataclass(frozen=True)
class Projection:
    """Tables a service keeps from other services' events, and those events' aggregates.

    The service's own data (enrollments, completions, ...) is not part of it and stays.
    """

    tables: Sequence[Table]
    aggregates: Sequence[str]


async def reset(rt: Runtime, projection: Projection) -> None:
    """Empty the projection and forget what its consumers applied, in one transaction."""
    names = [c.subscription.name for c in rt.consumers if not c.subscription.tells_only]
    inbox, versions = rt.tables.inbox, rt.tables.aggregate_versions
    async with rt.db.transaction() as session:
        if projection.tables:
            await session.execute(text(f"TRUNCATE {', '.join(t.name for t in projection.tables)}"))
        await session.execute(delete(inbox).where(inbox.c.consumer.in_(names)))
        positions = rt.tables.consumer_positions
        await session.execute(delete(positions).where(positions.c.consumer.in_(names)))
        await session.execute(
            delete(versions).where(versions.c.aggregate.in_(list(projection.aggregates)))
        )


async def replay(
    rt: Runtime, projection: Projection, progress: ProgressFn | None = None
) -> dict[str, int]:
    """Reset ``projection`` and replay every consumed stream from its start.

    Returns counts per outcome ("applied", "duplicate", "stale", "malformed") and per
    source service. ``rt.nats`` must be started; the live consumers need not run.
    """
    nc = await rt.nats.wait_connected()
    js = nc.jetstream(timeout=10.0)
    # The projection is emptied while the streams' readers are set up and their first
    # window is fetched (NATS and PostgreSQL at once); nothing is applied before it is.
    resetting = asyncio.ensure_future(reset(rt, projection))
    readers: list[_Reader] = []
    counts: Counter[str] = Counter()
    # A rebuilt projection tells nobody: nothing anyone sees changed.
    quiet = notices_quiet.set(True)
    deferred: dict[DeferredFn, dict[Any, None]] = {}
    collecting = _deferred.set(deferred)
    fetching: asyncio.Task[list[Msg]] | None = None
    try:
        for consumer in rt.consumers:
            if not consumer.subscription.tells_only:
                readers.append(await _Reader.open(nc, js, consumer))
        total = sum(reader.pending for reader in readers)
        done = 0
        if progress:
            progress(done, total)
        # Windows in stream order, stream after stream; the next window (of this stream,
        # else of the next one) is fetched while one is applied, so NATS and PostgreSQL
        # work at once. At most two windows are held.
        queue = [reader for reader in readers if reader.pending > 0]
        reader = queue.pop(0) if queue else None
        fetching = reader.window(reader.pending) if reader is not None else None
        await resetting
        while reader is not None and fetching is not None:
            messages = await fetching
            current = reader
            left = messages[-1].metadata.num_pending if messages else 0
            if left <= 0:  # this stream is read (or dropped messages since counted)
                reader, left = (queue.pop(0), -1) if queue else (None, 0)
                if reader is not None:
                    left = reader.pending
            fetching = reader.window(left) if reader is not None else None
            outcomes = await current.consumer.apply_payloads(
                [msg.data for msg in messages], [msg.headers for msg in messages], bulk=True
            )
            counts.update(outcomes)
            counts[current.consumer.subscription.source] += len(messages)
            done += len(messages)
            if progress:
                progress(done, max(total, done))
        _deferred.set(None)  # what the deferred work itself calls is done at once
        await _run_deferred(rt, deferred)
    finally:
        if not resetting.done():
            resetting.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await resetting
        if fetching is not None:
            fetching.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await fetching
        _deferred.reset(collecting)
        notices_quiet.reset(quiet)
        for reader in readers:
            await reader.close(js)
    return dict(counts)


class _Reader:
    """One consumed stream read from its start by an ephemeral pull consumer (no acks, in
    stream order, filtered to the events the consumer handles), a window per pull request.

    Its messages are taken by a subscription's callback: nats-py's ``fetch`` waits for
    each message with a timer of its own, which cost about as much as applying it."""

    def __init__(self, nc: Any, consumer: EventConsumer, name: str, pending: int) -> None:
        self.nc = nc
        self.consumer = consumer
        self.name = name
        self.pending = pending
        self.inbox: str = nc.new_inbox()
        self.sub: Any = None
        self._messages: list[Msg] = []
        self._want = 0
        self._done = asyncio.Event()

    @classmethod
    async def open(cls, nc: Any, js: Any, consumer: EventConsumer) -> _Reader:
        await ensure_stream(js, consumer.stream, consumer.source_subjects())
        info = await js.add_consumer(
            consumer.stream,
            ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.NONE,
                filter_subjects=consumer.subjects,
                inactive_threshold=60.0,
                mem_storage=True,
            ),
        )
        reader = cls(nc, consumer, info.name, info.num_pending or 0)
        reader.sub = await nc.subscribe(reader.inbox, cb=reader._take)
        return reader

    async def _take(self, msg: Msg) -> None:
        status = msg.headers.get("Status") if msg.headers else None
        if status is None:
            self._messages.append(msg)
            if len(self._messages) >= self._want:
                self._done.set()
        elif status != "100":  # not a heartbeat: no more messages for this request
            self._done.set()

    def window(self, left: int) -> asyncio.Task[list[Msg]]:
        """The next window (up to :data:`WINDOW` of the ``left`` pending), pulled in the
        background; short or empty when the stream dropped messages (limits) since they
        were counted."""
        return asyncio.create_task(self._pull(min(left, WINDOW)))

    async def _pull(self, want: int) -> list[Msg]:
        self._messages, self._want, self._done = [], want, asyncio.Event()
        request = json.dumps({"batch": want, "no_wait": True}).encode()
        await self.nc.publish(
            f"$JS.API.CONSUMER.MSG.NEXT.{self.consumer.stream}.{self.name}",
            request,
            reply=self.inbox,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._done.wait(), PULL_TIMEOUT)
        messages, self._messages = self._messages, []
        return messages

    async def close(self, js: Any) -> None:
        with contextlib.suppress(Exception):
            if self.sub is not None:
                await self.sub.unsubscribe()
        with contextlib.suppress(Exception):
            await js.delete_consumer(self.consumer.stream, self.name)


async def _run_deferred(rt: Runtime, deferred: dict[DeferredFn, dict[Any, None]]) -> None:
    """The work handlers deferred (:func:`defer`), each function once with all its keys,
    in one transaction (still quiet: part of the rebuild)."""
    if not any(deferred.values()):
        return
    async with UnitOfWork(rt.db, rt.outbox) as uow:
        for fn, keys in deferred.items():
            if keys:
                await fn(uow, list(keys))


class ReplayProgress:
    """A progress display for :func:`replay`: a rich bar on a terminal, else a summary
    line on stderr at most every ``every`` seconds (and one at the end)."""

    def __init__(self, label: str, *, every: float = 5.0) -> None:
        self.label = label
        self.every = every
        self._bar: Any = None
        self._task: Any = None
        self._next = 0.0
        self._last = (0, 0)
        self._started = time.monotonic()

    def __enter__(self) -> ReplayProgress:
        if sys.stderr.isatty():
            from rich.progress import Progress

            self._bar = Progress(transient=False)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=None)
        return self

    def __call__(self, done: int, total: int) -> None:
        self._last = (done, total)
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total)
            return
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.every
            self._summary()

    def _summary(self) -> None:
        done, total = self._last
        rate = done / max(time.monotonic() - self._started, 1e-9)
        sys.stderr.write(f"{self.label}: {done}/{total} events ({rate:,.0f}/s)\n")
        sys.stderr.flush()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
        else:
            self._summary()

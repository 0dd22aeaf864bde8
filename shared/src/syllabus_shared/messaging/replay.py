"""Rebuilding a projection by replaying the streams it was built from.

A service that keeps a projection of other services' events declares it
(:class:`Projection`: its tables and the aggregates their events belong to).
:func:`replay` empties those tables, forgets what the service's consumers applied, and
reads each consumed stream from its start with an ephemeral pull consumer (no acks, in
stream order, filtered to the events the service handles), applying every batch through
the consumer's one apply path (inbox, sequence check, handler), exactly as live. The
result equals a projection built live (RELIABILITY: rebuildable projections).

Progress is drawn by rich on a terminal; otherwise (a log, a CI job) a summary line is
written every few seconds, never one line per event.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import Table, delete, text

from syllabus_shared.messaging.nats_link import ensure_stream
from syllabus_shared.messaging.outbox import notices_quiet

if TYPE_CHECKING:
    from syllabus_shared.runtime import Runtime

log = logging.getLogger("syllabus.replay")

# Called with (events done, events expected) as a replay goes.
ProgressFn = Callable[[int, int], None]
FETCH = 256


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
    await reset(rt, projection)
    readers: list[tuple[Any, Any, int]] = []
    ephemeral: list[tuple[str, str]] = []  # (stream, consumer name), deleted at the end
    counts: Counter[str] = Counter()
    # A rebuilt projection tells nobody: nothing anyone sees changed.
    quiet = notices_quiet.set(True)
    try:
        for consumer in rt.consumers:
            if consumer.subscription.tells_only:
                continue
            await ensure_stream(js, consumer.stream, consumer.source_subjects())
            psub = await js.pull_subscribe(
                consumer.subjects[0],
                stream=consumer.stream,
                config=ConsumerConfig(
                    deliver_policy=DeliverPolicy.ALL,
                    ack_policy=AckPolicy.NONE,
                    filter_subjects=consumer.subjects,
                    inactive_threshold=60.0,
                    mem_storage=True,
                ),
            )
            info = await psub.consumer_info()
            ephemeral.append((consumer.stream, info.name))
            readers.append((consumer, psub, info.num_pending or 0))
        total = sum(pending for _, _, pending in readers)
        done = 0
        if progress:
            progress(done, total)
        for consumer, psub, pending in readers:
            left = pending
            while left > 0:
                try:
                    messages = await psub.fetch(FETCH, timeout=5.0)
                except TimeoutError:
                    break  # the stream dropped messages (limits) since we counted
                outcomes = await consumer.apply_payloads(
                    [msg.data for msg in messages], [msg.headers for msg in messages]
                )
                for msg, outcome in zip(messages, outcomes, strict=True):
                    counts[outcome] += 1
                    counts[consumer.subscription.source] += 1
                    done += 1
                    left = msg.metadata.num_pending
                if progress:
                    progress(done, max(total, done))
    finally:
        notices_quiet.reset(quiet)
        for _, psub, _ in readers:
            with contextlib.suppress(Exception):
                await psub.unsubscribe()
        for stream, name in ephemeral:
            with contextlib.suppress(Exception):
                await js.delete_consumer(stream, name)
    return dict(counts)


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

"""The outbox relay: publishes committed outbox rows to JetStream, then marks them sent.

- Selects *unpublished* rows with ``FOR UPDATE SKIP LOCKED`` (never "id > last seen",
  which skips rows that commit late), so several relays can run side by side.
- Publishes with ``Nats-Msg-Id`` = event id: a re-publish after a crash between
  publish and mark is dropped by the stream's duplicate window.
- Pipelined while there is a backlog: ``lanes`` batches in flight at once (one waits for
  its acknowledgements and commits while the next selects and publishes).
- Wakes on ``LISTEN/NOTIFY`` and polls as a fallback; retries a failed pass after
  milliseconds, backing off to ``max_retry_delay`` (a stream's new leader, elected after a
  node died, gets the backlog within a fraction of a second, not after a multi-second
  sleep); a publish waits ``publish_timeout`` at most for the stream's acknowledgement.
- Carries each envelope's trace context to the message headers (``traceparent``), through
  a ``publish <subject>`` span when tracing; samples the backlog (``outbox_depth``,
  ``outbox_oldest_age_seconds``) at most once per ``backlog_interval``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

import psycopg
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer
from sqlalchemy import Text, cast, func, select, text, update

from syllabus_shared.db import Database, array_literal, libpq_url
from syllabus_shared.messaging.nats_link import (
    UNANSWERED,
    AckedPublisher,
    NatsLink,
    NatsUnavailable,
    PublishBatch,
)
from syllabus_shared.messaging.outbox import NOTIFY_CHANNEL
from syllabus_shared.messaging.positions import POSITION_HEADER
from syllabus_shared.messaging.tables import KernelTables
from syllabus_shared.observability import Metrics
from syllabus_shared.tracing import context_from, envelope_trace_headers, headers_for

log = logging.getLogger("syllabus.relay")

# Test-only fault points (see syllabus_shared.faults); a no-op in production.
FaultHook = Callable[[str], Awaitable[None]]

_MARK_PUBLISHED = text(
    "UPDATE outbox SET published_at = now() WHERE id = ANY(CAST(:ids AS uuid[]))"
)
FIRST_RETRY_DELAY = 0.01  # seconds after a failed pass; doubles up to max_retry_delay
WARN_EVERY_SECONDS = 10.0


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
        tracer: Tracer | None = None,
        backlog_interval: float = 1.0,
        publish_timeout: float = 2.0,
        max_retry_delay: float = 0.5,
        lanes: int = 2,
    ) -> None:
        self.db = db
        self.tables = tables
        self.nats = nats
        self.metrics = metrics
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.fault = fault
        self.tracer = tracer
        self.backlog_interval = backlog_interval
        # During a stream leader election a publish gets no answer at all: every publish
        # of the pass waits this long, so it bounds how late the backlog follows the new
        # leader (an acknowledgement normally takes milliseconds).
        self.publish_timeout = publish_timeout
        self.max_retry_delay = max_retry_delay
        self.lanes = max(1, lanes)  # batches in flight at once while there is a backlog
        self._next_backlog_sample = 0.0
        self._next_warning = 0.0
        self._wake = asyncio.Event()

    async def publish_batch(self) -> int:
        """Publish up to one batch of unpublished rows; returns how many were sent."""
        if not self.nats.connected:
            # nats-py would buffer the publishes until it reconnects and the pass would
            # only end at the timeout; nothing is locked for that long this way.
            raise NatsUnavailable("not connected to NATS")
        js = await self.nats.publisher()
        ob = self.tables.outbox
        async with self.db.transaction() as session:
            # The id as text: it is the message id as is, and goes back as one array
            # literal (no UUID object made, printed and dumped again per row).
            rows = (
                await session.execute(
                    select(
                        cast(ob.c.id, Text).label("id"), ob.c.subject, ob.c.payload, ob.c.position
                    )
                    .where(ob.c.published_at.is_(None))
                    .order_by(ob.c.created_at, ob.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            spans: list[Span | None] = []
            headers: list[dict[str, str]] = []
            for row in rows:
                span, trace_headers = self._trace(row.id, row.subject, row.payload)
                spans.append(span)
                header = {"Nats-Msg-Id": row.id, **trace_headers}
                if row.position is not None:
                    header[POSITION_HEADER] = str(row.position)
                headers.append(header)
            results = await self._publish_all(
                js, [(row.subject, row.payload, h) for row, h in zip(rows, headers, strict=True)]
            )
            for span, res in zip(spans, results, strict=True):
                if span is not None:
                    if isinstance(res, BaseException):
                        span.record_exception(res)
                        span.set_status(StatusCode.ERROR, type(res).__name__)
                    span.end()
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
                # One array parameter (not an IN list of one placeholder per row, which
                # SQLAlchemy renders anew for every batch size).
                await session.execute(_MARK_PUBLISHED, {"ids": array_literal(sent)})
            for row_id, error in failed:
                await session.execute(
                    update(ob)
                    .where(ob.c.id == uuid.UUID(row_id))
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

    async def _publish_all(
        self, js: AckedPublisher, messages: list[tuple[str, bytes, dict[str, str]]]
    ) -> list[object]:
        """Publish every message at once (no task or timer per message), then wait for
        all acknowledgements; the whole of it bounded by ``publish_timeout`` (one timer
        per batch). Each result is the stream's sequence or the exception in its place (a
        ``TimeoutError`` when none came in time).

        However the pass ends (an error, a timeout, the lane cancelled because the other
        one failed), the batch is abandoned: an acknowledgement that never comes (a
        publish that never reached the server) must not be waited for ever over many
        outages."""
        batch = PublishBatch()
        failure: BaseException | None = None
        try:
            async with asyncio.timeout(self.publish_timeout):
                for subject, payload, headers in messages:
                    await js.publish(batch, subject, payload, headers)
                batch.seal()
                await batch.done
        except Exception as exc:  # timed out, or the connection failed mid-batch
            failure = exc
        finally:
            js.abandon(batch)  # an answer still to come is dropped; the row stays unpublished
        late = TimeoutError("no acknowledgement in time")
        results = [late if r is UNANSWERED else r for r in batch.results]
        # Messages not handed to the connection at all take the pass's failure.
        unsent = failure or TimeoutError("not published")
        return results + [unsent] * (len(messages) - len(results))

    def _trace(
        self, row_id: object, subject: str, payload: bytes
    ) -> tuple[Span | None, dict[str, str]]:
        """The trace headers to publish with (and the publish span, when tracing)."""
        trace_headers = envelope_trace_headers(payload)
        if self.tracer is None:
            return None, trace_headers
        span = self.tracer.start_span(
            f"publish {subject}",
            context=context_from(trace_headers),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "nats",
                "messaging.operation.type": "send",
                "messaging.destination.name": subject,
                "messaging.message.id": str(row_id),
            },
        )
        return span, headers_for(span)

    async def sample_backlog(self, *, force: bool = False) -> None:
        """Update the backlog gauges (one indexed query), at most once per interval."""
        now = time.monotonic()
        if self.metrics is None or (now < self._next_backlog_sample and not force):
            return
        self._next_backlog_sample = now + self.backlog_interval
        ob = self.tables.outbox
        async with self.db.transaction() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(ob.c.created_at)).where(
                        ob.c.published_at.is_(None)
                    )
                )
            ).one()
        self.metrics.set_outbox_backlog(count, oldest)

    async def drain(self, stop: asyncio.Event | None = None) -> int:
        """Publish until a batch comes back short of ``batch_size`` (nothing more pending
        when it began), or ``stop`` is set; returns how many were sent.

        Pipelined: once a batch comes back full there is a backlog, and ``lanes`` batches
        are in flight at once, each in its own transaction. While one waits for its
        acknowledgements, updates and commits, the next selects (skipping the rows
        locked by the first) and publishes. Events can thereby reach the stream slightly
        out of order, as with several relays side by side; consumers expect it (the
        aggregate's sequence, positions waiting for their gap)."""
        first = await self.publish_batch()
        if first < self.batch_size:
            return first
        sent = [first]

        async def lane() -> None:
            while stop is None or not stop.is_set():
                n = await self.publish_batch()
                sent.append(n)
                if n < self.batch_size:
                    return

        try:
            async with asyncio.TaskGroup() as lanes:  # one failing stops the others
                for _ in range(self.lanes):
                    lanes.create_task(lane())
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return sum(sent)

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen(stop), name="outbox-listen")
        delay = FIRST_RETRY_DELAY
        try:
            while not stop.is_set():
                try:
                    await self.sample_backlog()
                except Exception as exc:
                    log.debug("cannot sample the outbox backlog: %r", exc)
                # Cleared before the pass, not after: a row committed during the pass
                # (after its select) sets it again and is published at once, not at
                # the next poll.
                self._wake.clear()
                try:
                    await self.drain(stop)
                    delay = FIRST_RETRY_DELAY
                except Exception as exc:
                    self._warn(exc, delay)
                    await _sleep_or_stop(stop, delay)
                    delay = min(delay * 2, self.max_retry_delay)
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wait(stop), self.poll_interval)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    def _warn(self, exc: Exception, delay: float) -> None:
        # Retries come every half second at most: a warning every few seconds is enough.
        now = time.monotonic()
        if now >= self._next_warning:
            self._next_warning = now + WARN_EVERY_SECONDS
            log.warning("relay pass failed: %r; retrying in %.2fs", exc, delay)
        else:
            log.debug("relay pass failed: %r; retrying in %.2fs", exc, delay)

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

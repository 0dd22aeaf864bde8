"""The idempotent consumer runner.

For each message: parse the envelope, then in ONE transaction record the event id
in the inbox, check the aggregate's ``sequence`` and run the handler; ack only
after that commit. A redelivered event finds its inbox row and changes nothing;
an event older than what was applied for its aggregate is skipped (events carry
the aggregate's state, so the newest wins and gaps need no waiting). A handler
that keeps failing is retried with backoff and, after ``max_attempts``, written
to the dead-letter table (replayable) and terminated, so later events still flow.
The messages of one fetch are applied in one transaction (``process_batch``: one commit,
then their acks); if that fails, each is processed alone, as above.

Each message is applied in an ``apply <Event>`` span (when tracing) whose parent is the
trace context in the message headers (the relay's ``publish`` span), and feeds the lag,
redelivery and dead-letter metrics; the lag is also sampled from the consumer's info
every ``lag_interval`` seconds, so it stays true while nothing is delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer
from pydantic import ValidationError
from sqlalchemy import (
    BigInteger,
    Select,
    Text,
    Uuid,
    bindparam,
    exists,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from syllabus_shared.consistency import NOTIFY_CHANNEL as PROJECTION_CHANNEL
from syllabus_shared.contracts import STREAMS, Envelope, Event
from syllabus_shared.db import Database
from syllabus_shared.messaging.nats_link import NatsLink, ensure_consumer, ensure_stream
from syllabus_shared.messaging.outbox import causation_var, stream_name, subject_for
from syllabus_shared.messaging.tables import KernelTables
from syllabus_shared.observability import Metrics
from syllabus_shared.tracing import context_from, envelope_trace_headers

log = logging.getLogger("syllabus.consumer")

Handler = Callable[[AsyncSession, Any, Envelope], Awaitable[None]]
FaultHook = Callable[[str], Awaitable[None]]


async def _no_fault(point: str) -> None:
    return None


@dataclass(frozen=True)
class Subscription:
    """What one durable consumer reads: events of one producing service."""

    name: str  # durable consumer name, e.g. "content-from-catalog"
    source: str  # producing service, e.g. "catalog"
    handlers: Mapping[type[Event], Handler] = field(default_factory=dict)

    def handler_for(self, event_type: str) -> tuple[type[Event], Handler] | None:
        for cls, handler in self.handlers.items():
            if cls.type_name() == event_type:
                return cls, handler
        return None


class PoisonMessage(Exception):
    """The message can never be applied (malformed, unknown shape)."""


@dataclass
class ConsumerOptions:
    max_attempts: int = 5  # handler failures before dead-lettering
    server_max_deliver: int = 1000  # bounded; infrastructure outages retry up to this
    ack_wait: float = 30.0
    max_ack_pending: int = 1000
    batch_size: int = 64
    fetch_timeout: float = 1.0
    backoff: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 5.0)
    stream_replicas: int = 1  # used only if the producer's stream does not exist yet
    lag_interval: float = 5.0  # how often the consumer's info is read for the lag gauges


class EventConsumer:
    def __init__(
        self,
        subscription: Subscription,
        db: Database,
        tables: KernelTables,
        nats: NatsLink,
        *,
        namespace: str = "",
        metrics: Metrics | None = None,
        options: ConsumerOptions | None = None,
        fault: FaultHook = _no_fault,
        tracer: Tracer | None = None,
    ) -> None:
        self.subscription = subscription
        self.db = db
        self.tables = tables
        self.nats = nats
        self.namespace = namespace
        self.metrics = metrics
        self.options = options or ConsumerOptions()
        self.fault = fault
        self.tracer = tracer
        self._next_lag_sample = 0.0
        self.stream = stream_name(namespace, STREAMS[subscription.source])
        self.durable = f"{namespace}_{subscription.name}" if namespace else subscription.name
        self.subjects = sorted(subject_for(namespace, cls) for cls in subscription.handlers)
        self.ready = asyncio.Event()
        self._record = record_statement(tables)

    def consumer_config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=self.options.server_max_deliver,
            ack_wait=self.options.ack_wait,
            max_ack_pending=self.options.max_ack_pending,
            filter_subjects=self.subjects,
        )

    async def setup(self) -> Any:
        await self.nats.wait_connected()
        js = self.nats.jetstream()
        source_subjects = [
            f"{self.namespace}.{self.subscription.source}.>"
            if self.namespace
            else f"{self.subscription.source}.>"
        ]
        await ensure_stream(
            js, self.stream, source_subjects, replicas=self.options.stream_replicas, update=False
        )
        await ensure_consumer(js, self.stream, self.consumer_config())
        return await js.pull_subscribe_bind(self.durable, self.stream)

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch and apply until ``stop`` is set; survives NATS and database outages."""
        delay = 0.2
        psub: Any = None
        while not stop.is_set():
            try:
                if psub is None:
                    psub = await self.setup()
                    self.ready.set()
                messages = await self._next_batch(psub)
                await self._sample_lag(psub)
                if not messages:
                    continue
                if stop.is_set():
                    # Not started: let them be redelivered promptly rather than after AckWait.
                    for msg in messages:
                        with contextlib.suppress(Exception):
                            await msg.nak()
                    continue
                await self.process_batch(messages)
                delay = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer %s: %r; retrying in %.1fs", self.durable, exc, delay)
                psub = None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, 5.0)
        if psub is not None:
            with contextlib.suppress(Exception):
                await psub.unsubscribe()

    async def _next_batch(self, psub: Any) -> list[Msg]:
        """Wait for one message, then take whatever else is already there.

        A lingering ``fetch(n)`` returns only when n messages arrived or it expires,
        which would hold the first event for up to ``fetch_timeout``; waiting for one
        and then draining without waiting keeps the lag to milliseconds.
        """
        try:
            first: list[Msg] = await psub.fetch(1, timeout=self.options.fetch_timeout)
        except TimeoutError:
            return []  # no messages: not an error
        if self.options.batch_size <= 1:
            return first
        try:
            more: list[Msg] = await psub.fetch(self.options.batch_size - 1, timeout=0.005)
        except TimeoutError:
            more = []
        return first + more

    async def _sample_lag(self, psub: Any) -> None:
        now = time.monotonic()
        if self.metrics is None or now < self._next_lag_sample:
            return
        self._next_lag_sample = now + self.options.lag_interval
        try:
            info = await psub.consumer_info()
        except Exception as exc:  # a metric is not worth failing the loop for
            log.debug("consumer %s: no consumer info: %r", self.durable, exc)
            return
        self.metrics.consumer_lag.labels(self.durable).set(info.num_pending or 0)
        self.metrics.consumer_ack_pending.labels(self.durable).set(info.num_ack_pending or 0)

    def _observe_delivery(self, msg: Msg) -> None:
        if self.metrics is not None and msg.reply:
            meta = msg.metadata
            self.metrics.consumer_lag.labels(self.durable).set(meta.num_pending)
            if meta.num_delivered > 1:
                self.metrics.events_redelivered.labels(self.durable).inc()

    async def process_batch(self, msgs: Sequence[Msg]) -> list[str]:
        """Apply fetched messages in ONE transaction, then ack each; returns the outcomes.

        Each message goes through exactly what :meth:`process` does (inbox, sequence check,
        handler), in fetch order, but they share one transaction, one ``NOTIFY`` and one
        commit, and every ack follows that commit: a consumer that has fallen behind
        catches up in bulk instead of paying a commit and its round trips per event.

        If anything fails, the transaction rolls back and the messages are processed one at
        a time with :meth:`process`, so retries, backoff and dead-lettering are exactly those
        of single messages; the message whose handler failed is not run a second time: it is
        failed (nak with backoff, or dead-lettered after ``max_attempts``) with that error,
        as :meth:`process` would have. A malformed message is processed alone (dead-lettered).
        """
        if len(msgs) <= 1:
            return [await self.process(msg) for msg in msgs]
        batch: list[tuple[Msg, Envelope, Handler, Event]] = []
        alone: list[Msg] = []
        for msg in msgs:
            try:
                envelope, _, handler, event = self.decode(msg.data)
            except PoisonMessage:
                alone.append(msg)
            else:
                batch.append((msg, envelope, handler, event))
        outcomes: dict[int, str] = {}
        if len(batch) == 1:
            alone.insert(0, batch.pop()[0])
        if batch:
            await self._apply_batch_of(batch, outcomes)
        for msg in alone:
            outcomes[id(msg)] = await self.process(msg)
        return [outcomes[id(msg)] for msg in msgs]

    async def _apply_batch_of(
        self, batch: Sequence[tuple[Msg, Envelope, Handler, Event]], outcomes: dict[int, str]
    ) -> None:
        started = time.perf_counter()
        spans: dict[int, Span] = {}
        current: Msg | None = None
        try:
            async with self.db.transaction() as session:
                for msg, envelope, handler, event in batch:
                    current = msg
                    span = self._start_span(msg)
                    if span is None:
                        outcome = await self._apply_in(session, envelope, handler, event)
                    else:
                        spans[id(msg)] = span
                        with trace.use_span(span, end_on_exit=False):
                            outcome = await self._apply_in(session, envelope, handler, event)
                    outcomes[id(msg)] = outcome
                current = None
                if "applied" in outcomes.values():
                    await session.execute(text(f"NOTIFY {PROJECTION_CHANNEL}"))
                await self.fault("consumer.before_commit")
        except Exception as exc:
            log.info("consumer %s: batch failed (%r); one event at a time", self.durable, exc)
            failed = current if current is not None and not _database_away(exc) else None
            for msg, *_ in batch:
                span = spans.pop(id(msg), None)
                if msg is not failed:
                    if span is not None:
                        span.set_attribute("syllabus.outcome", "rolled_back")
                        span.end()
                    outcomes[id(msg)] = await self.process(msg)
                    continue
                # Its handler failed just as it would have alone (the events before it
                # were applied, in the same transaction): fail it with that error.
                self._observe_delivery(msg)
                started_alone = time.perf_counter()
                deliveries = msg.metadata.num_delivered if msg.metadata else 1
                outcome = await self._handler_failed(msg, exc, deliveries)
                outcomes[id(msg)] = outcome
                if span is not None:
                    span.set_attribute("syllabus.outcome", outcome)
                    span.set_status(StatusCode.ERROR, outcome)
                    span.end()
                if self.metrics:
                    self.metrics.events_applied.labels(self.durable, outcome).inc()
                    self.metrics.event_apply_seconds.labels(self.durable).observe(
                        time.perf_counter() - started_alone
                    )
            return
        share = (time.perf_counter() - started) / len(batch)
        for msg, *_ in batch:
            span = spans.pop(id(msg), None)
            if span is not None:
                span.set_attribute("syllabus.outcome", outcomes[id(msg)])
                span.end()
            self._observe_delivery(msg)
            await self.fault("consumer.before_ack")
            await msg.ack()
            if self.metrics:
                self.metrics.events_applied.labels(self.durable, outcomes[id(msg)]).inc()
                self.metrics.event_apply_seconds.labels(self.durable).observe(share)

    def _start_span(self, msg: Msg) -> Span | None:
        if self.tracer is None:
            return None
        return self.tracer.start_span(
            f"apply {msg.subject.rsplit('.', 1)[-1]}",
            context=self._trace_parent(msg),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.operation.type": "process",
                "messaging.destination.name": msg.subject,
                "messaging.consumer.group.name": self.durable,
            },
        )

    async def process(self, msg: Msg) -> str:
        """Apply one message and ack/nak/term it; returns the outcome."""
        self._observe_delivery(msg)
        if self.tracer is None:
            return await self._process(msg)
        with self.tracer.start_as_current_span(
            f"apply {msg.subject.rsplit('.', 1)[-1]}",
            context=self._trace_parent(msg),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.operation.type": "process",
                "messaging.destination.name": msg.subject,
                "messaging.consumer.group.name": self.durable,
            },
        ) as span:
            outcome = await self._process(msg)
            span.set_attribute("syllabus.outcome", outcome)
            if outcome in ("retry", "dead_lettered"):
                span.set_status(StatusCode.ERROR, outcome)
            return outcome

    @staticmethod
    def _trace_parent(msg: Msg) -> Context | None:
        """The relay's span from the headers, else the producer's from the envelope."""
        return context_from(msg.headers) or context_from(envelope_trace_headers(msg.data))

    async def _process(self, msg: Msg) -> str:
        deliveries = msg.metadata.num_delivered if msg.metadata else 1
        started = time.perf_counter()
        try:
            outcome = await self.apply(msg.data)
        except PoisonMessage as exc:
            await self._dead_letter(msg, str(exc), deliveries)
            await msg.term()
            outcome = "dead_lettered"
        except (OperationalError, DBAPIError, OSError) as exc:
            if (
                isinstance(exc, DBAPIError)
                and not exc.connection_invalidated
                and not isinstance(exc, OperationalError)
            ):
                outcome = await self._handler_failed(msg, exc, deliveries)
            else:
                # Our database is away: not the event's fault, do not count toward dead-lettering.
                log.warning("consumer %s: database unavailable (%r)", self.durable, exc)
                await msg.nak(delay=self._backoff(deliveries))
                outcome = "retry"
        except Exception as exc:
            outcome = await self._handler_failed(msg, exc, deliveries)
        else:
            await self.fault("consumer.before_ack")
            await msg.ack()
        if self.metrics:
            self.metrics.events_applied.labels(self.durable, outcome).inc()
            self.metrics.event_apply_seconds.labels(self.durable).observe(
                time.perf_counter() - started
            )
        return outcome

    async def _handler_failed(self, msg: Msg, exc: Exception, deliveries: int) -> str:
        if deliveries >= self.options.max_attempts:
            log.error(
                "consumer %s: dead-lettering after %d attempts: %r", self.durable, deliveries, exc
            )
            await self._dead_letter(msg, repr(exc), deliveries)
            await msg.term()
            return "dead_lettered"
        log.warning("consumer %s: handler failed (attempt %d): %r", self.durable, deliveries, exc)
        await msg.nak(delay=self._backoff(deliveries))
        return "retry"

    def _backoff(self, deliveries: int) -> float:
        b = self.options.backoff
        return b[min(deliveries - 1, len(b) - 1)]

    def decode(self, payload: bytes) -> tuple[Envelope, type[Event], Handler, Event]:
        try:
            envelope = Envelope.model_validate_json(payload)
        except ValidationError as exc:
            raise PoisonMessage(f"malformed envelope: {exc.errors()[:3]}") from exc
        found = self.subscription.handler_for(envelope.type)
        if found is None:
            raise PoisonMessage(f"no handler for {envelope.type}")
        cls, handler = found
        try:
            event = cls.model_validate(envelope.data)
        except ValidationError as exc:
            raise PoisonMessage(f"malformed {envelope.type} data: {exc.errors()[:3]}") from exc
        return envelope, cls, handler, event

    async def apply(self, payload: bytes) -> str:
        """Apply one serialized envelope exactly once; returns the outcome."""
        envelope, _, handler, event = self.decode(payload)
        async with self.db.transaction() as session:
            outcome = await self._apply_in(session, envelope, handler, event)
            if outcome == "applied":
                # Delivered on commit: wakes requests waiting for this projection.
                await session.execute(text(f"NOTIFY {PROJECTION_CHANNEL}"))
                await self.fault("consumer.before_commit")
        return outcome

    async def apply_batch(self, payloads: Sequence[bytes]) -> list[str]:
        """Apply many serialized envelopes in ONE transaction (a replay's fast path).

        Each event goes through exactly what :meth:`apply` does, in order (inbox, sequence
        check, handler), but the batch commits once: a replay is bounded by commits
        otherwise. If anything in the batch fails, the whole transaction rolls back and the
        batch is applied again one event at a time with :meth:`apply`, so the outcome and
        the errors are the same as event by event. A malformed payload's outcome is
        ``"malformed"`` (it is skipped; :meth:`apply` would raise ``PoisonMessage``).
        """
        decoded: list[tuple[Envelope, Handler, Event] | None] = []
        for payload in payloads:
            try:
                envelope, _, handler, event = self.decode(payload)
            except PoisonMessage:
                decoded.append(None)
            else:
                decoded.append((envelope, handler, event))
        outcomes: list[str] = []
        try:
            async with self.db.transaction() as session:
                for item in decoded:
                    if item is None:
                        outcomes.append("malformed")
                        continue
                    envelope, handler, event = item
                    outcomes.append(await self._apply_in(session, envelope, handler, event))
                if "applied" in outcomes:
                    await session.execute(text(f"NOTIFY {PROJECTION_CHANNEL}"))
                await self.fault("consumer.before_commit")
        except (OperationalError, OSError):
            raise  # the database is away: the caller retries, nothing was applied
        except Exception as exc:
            log.info("consumer %s: batch failed (%r); one event at a time", self.durable, exc)
            outcomes = []
            for payload in payloads:
                try:
                    outcomes.append(await self.apply(payload))
                except PoisonMessage:
                    outcomes.append("malformed")
        return outcomes

    async def _apply_in(
        self, session: AsyncSession, envelope: Envelope, handler: Handler, event: Event
    ) -> str:
        token = causation_var.set((str(envelope.id), envelope.correlationid))
        try:
            # The inbox row and the sequence check in one statement (one round trip).
            row = (
                await session.execute(
                    self._record,
                    {
                        "consumer": self.subscription.name,
                        "event_id": envelope.id,
                        "event_type": envelope.type,
                        "aggregate": envelope.aggregatetype,
                        "aggregate_id": uuid.UUID(envelope.subject),
                        "version": envelope.sequence,
                    },
                )
            ).one()
            if not row.recorded:
                return "duplicate"
            if not row.advanced:
                return "stale"
            await handler(session, event, envelope)
            return "applied"
        finally:
            causation_var.reset(token)

    async def _dead_letter(self, msg: Msg, error: str, deliveries: int) -> None:
        event_id = event_type = None
        with contextlib.suppress(Exception):
            env = Envelope.model_validate_json(msg.data)
            event_id, event_type = str(env.id), env.type
        async with self.db.transaction() as session:
            await session.execute(
                insert(self.tables.dead_letters).values(
                    consumer=self.subscription.name,
                    stream=self.stream,
                    stream_sequence=msg.metadata.sequence.stream
                    if msg.metadata and msg.metadata.sequence
                    else None,
                    subject=msg.subject,
                    event_id=event_id,
                    event_type=event_type,
                    payload=msg.data,
                    error=error[:2000],
                    deliveries=deliveries,
                )
            )
        if self.metrics:
            self.metrics.dead_letters.labels(self.durable).inc()

    async def replay_dead_letters(self) -> tuple[int, int]:
        """Apply every not-yet-replayed dead letter of this consumer again (after a fix).

        Returns (replayed, still_failing). A replayed row is marked, not deleted, for audit.
        """
        dl = self.tables.dead_letters
        async with self.db.transaction() as session:
            rows = (
                await session.execute(
                    select(dl.c.id, dl.c.payload)
                    .where(dl.c.consumer == self.subscription.name, dl.c.replayed_at.is_(None))
                    .order_by(dl.c.id)
                )
            ).all()
        replayed = failing = 0
        for row in rows:
            try:
                await self.apply(row.payload)
            except Exception as exc:
                log.warning("dead letter %s still fails: %r", row.id, exc)
                failing += 1
                continue
            async with self.db.transaction() as session:
                await session.execute(
                    update(dl).where(dl.c.id == row.id).values(replayed_at=func.now())
                )
            replayed += 1
        return replayed, failing


def _database_away(exc: BaseException) -> bool:
    """Our database is unreachable (not the event's fault), as :meth:`EventConsumer._process`
    tells it: such a failure never counts toward dead-lettering."""
    if isinstance(exc, (OperationalError, OSError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def record_statement(tables: KernelTables) -> Select[tuple[int, int]]:
    """Record an event in the inbox and, only if it was not there yet, advance its
    aggregate's sequence if newer: ONE statement (what the inbox insert followed by
    :func:`advance_sequence` does in two). Returns ``recorded`` (0: a duplicate) and
    ``advanced`` (0: stale). Parameters: consumer, event_id, event_type, aggregate,
    aggregate_id, version."""
    inbox, av = tables.inbox, tables.aggregate_versions
    recorded = (
        pg_insert(inbox)
        .values(
            consumer=bindparam("consumer"),
            event_id=bindparam("event_id"),
            event_type=bindparam("event_type"),
        )
        .on_conflict_do_nothing()
        .returning(inbox.c.event_id)
        .cte("recorded")
    )
    newer = pg_insert(av).from_select(
        ["aggregate", "aggregate_id", "version"],
        select(
            bindparam("aggregate", type_=Text),
            bindparam("aggregate_id", type_=Uuid),
            bindparam("version", type_=BigInteger),
        ).where(exists(select(recorded.c.event_id))),
    )
    advanced = (
        newer.on_conflict_do_update(
            index_elements=[av.c.aggregate, av.c.aggregate_id],
            set_={"version": newer.excluded.version},
            where=av.c.version < newer.excluded.version,
        )
        .returning(av.c.version)
        .cte("advanced")
    )
    return select(
        select(func.count()).select_from(recorded).scalar_subquery().label("recorded"),
        select(func.count()).select_from(advanced).scalar_subquery().label("advanced"),
    )


async def advance_sequence(session: AsyncSession, tables: KernelTables, envelope: Envelope) -> bool:
    """Record ``envelope.sequence`` for its aggregate if newer; False when stale."""
    av = tables.aggregate_versions
    base = pg_insert(av).values(
        aggregate=envelope.aggregatetype,
        aggregate_id=uuid.UUID(envelope.subject),
        version=envelope.sequence,
    )
    stmt = base.on_conflict_do_update(
        index_elements=[av.c.aggregate, av.c.aggregate_id],
        set_={"version": base.excluded.version},
        where=av.c.version < base.excluded.version,
    ).returning(av.c.version)
    return (await session.execute(stmt)).first() is not None

"""The idempotent consumer runner.

For each message: parse the envelope, then in ONE transaction record the event id
in the inbox, check the aggregate's ``sequence`` and run the handler; ack only
after that commit. A redelivered event finds its inbox row and changes nothing;
an event older than what was applied for its aggregate is skipped (events carry
the aggregate's state, so the newest wins and gaps need no waiting). A handler
that keeps failing is retried with backoff and, after ``max_attempts``, written
to the dead-letter table (replayable) and terminated, so later events still flow.
There is one apply path, :meth:`EventConsumer.apply`: the events of one fetch (or of a
replay's batch) in ONE transaction, falling back to one event at a time when that fails.
Handlers get a :class:`~syllabus_shared.unit_of_work.UnitOfWork` joined to that
transaction, so the service functions they call are the ones routes call.

Each event is applied in an ``apply <Event>`` span (when tracing) whose parent is the
trace context in the message headers (the relay's ``publish`` span), and feeds the lag,
redelivery and dead-letter metrics; the lag is also sampled from the consumer's info
every ``lag_interval`` seconds, so it stays true while nothing is delivered.

Whether a consumer has caught up with its stream is known to it alone: ``caught_up()``
asks the server (nothing pending, nothing delivered and unacknowledged, the consumer
running and not paused), and listeners added with ``on_caught_up`` are called after a
batch whose last message left nothing pending. ``pause()``/``resume()`` hold the consumer
between batches (operations and tests: a paused consumer is never caught up).
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
from nats.errors import NoRespondersError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import ServiceUnavailableError
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Tracer
from pydantic import ValidationError
from sqlalchemy import (
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, OperationalError

from syllabus_shared.consistency import NOTIFY_CHANNEL as PROJECTION_CHANNEL
from syllabus_shared.contracts import STREAMS, Envelope, Event
from syllabus_shared.db import Database, array_literal
from syllabus_shared.messaging.nats_link import NatsLink, ensure_consumer, ensure_stream
from syllabus_shared.messaging.outbox import (
    Outbox,
    causation_var,
    cause_positions_var,
    stream_name,
    subject_for,
)
from syllabus_shared.messaging.positions import POSITION_HEADER, advance
from syllabus_shared.messaging.tables import KernelTables
from syllabus_shared.observability import Metrics
from syllabus_shared.tracing import context_from, envelope_trace_headers
from syllabus_shared.unit_of_work import UnitOfWork

log = logging.getLogger("syllabus.consumer")

# A handler is a service function: it gets the unit of work and the event.
Handler = Callable[["UnitOfWork", Any], Awaitable[None]]
BatchHandler = Callable[["UnitOfWork", Sequence[Any]], Awaitable[None]]
FaultHook = Callable[[str], Awaitable[None]]


async def _no_fault(point: str) -> None:
    return None


@dataclass(frozen=True)
class Subscription:
    """What one durable consumer reads: events of one producing service."""

    name: str  # durable consumer name, e.g. "content-from-catalog"
    source: str  # producing service, e.g. "catalog"
    handlers: Mapping[type[Event], Handler] = field(default_factory=dict)
    # Optional set-based handlers: given consecutive due events whose types share it (the
    # newest of each aggregate, in delivery order), the same effect as their handlers
    # one by one. One function may serve several types (e.g. every "post state" event).
    many: Mapping[type[Event], BatchHandler] = field(default_factory=dict)
    # A consumer that only tells people (notices of its service's own events, for the live
    # stream): no read waits for it (consistency gate) and ``replay`` skips it.
    tells_only: bool = False
    # Its handlers commute across aggregates (each writes what its own aggregate's newest
    # event says, whatever was applied for other aggregates: a projection's rule): a bulk
    # apply (``replay``) may hand each batch handler ALL its due events of a batch at once,
    # not only consecutive ones. Events without a batch handler keep their order.
    reorderable: bool = False
    _by_name: dict[str, type[Event]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if stray := set(self.many) - set(self.handlers):
            raise ValueError(f"batch handlers without a handler: {sorted(map(str, stray))}")
        names = {cls.type_name(): cls for cls in self.handlers}
        object.__setattr__(self, "_by_name", names)  # frozen: set once, here

    def batch_handler_for(self, event_type: str) -> BatchHandler | None:
        cls = self._by_name.get(event_type)
        return self.many.get(cls) if cls is not None else None

    def handler_for(self, event_type: str) -> tuple[type[Event], Handler] | None:
        cls = self._by_name.get(event_type)
        return (cls, self.handlers[cls]) if cls is not None else None


def then(*handlers: Handler) -> Handler:
    """One handler that runs ``handlers`` in order, in the same transaction (applying an
    event, then telling whom it concerns)."""

    async def handle(uow: UnitOfWork, event: Any) -> None:
        for handler in handlers:
            await handler(uow, event)

    return handle


def then_many(*handlers: BatchHandler) -> BatchHandler:
    """:func:`then` for set-based handlers."""

    async def handle(uow: UnitOfWork, events: Sequence[Any]) -> None:
        for handler in handlers:
            await handler(uow, events)

    return handle


class PoisonMessage(Exception):
    """The message can never be applied (malformed, unknown shape)."""


class Unhandled(PoisonMessage):
    """An event type this consumer has no handler for: not its business. Acknowledged and
    counted (``events_unhandled_total``), never dead-lettered: a server that ignores
    ``filter_subjects`` (before 2.10), or a producer's new event, is not a failure."""


# After a failure of the fetch loop (NATS away, a leader being elected), the first retry
# comes after milliseconds, then backs off to half a second: a new leader is used as soon
# as it is there, not after a multi-second sleep.
FIRST_RETRY_DELAY = 0.01
MAX_RETRY_DELAY = 0.5
# Bound on fetching the messages a first one said were pending behind it: they are on the
# server already, so this is reached only when another process bound to the same durable
# consumer took them meanwhile.
FOLLOW_UP_TIMEOUT = 0.05
# What a fetch answers while the durable consumer has no leader (no responders).
NO_LEADER = (ServiceUnavailableError, NoRespondersError)


@dataclass
class ConsumerOptions:
    max_attempts: int = 5  # handler failures before dead-lettering
    server_max_deliver: int = 1000  # bounded; infrastructure outages retry up to this
    ack_wait: float = 30.0
    max_ack_pending: int = 1000
    batch_size: int = 64
    fetch_timeout: float = 1.0
    # Bound of the fetch of the messages already pending behind a first one (they are
    # there, so it returns at once unless the process is starved or a replica took them).
    follow_up_timeout: float = FOLLOW_UP_TIMEOUT
    backoff: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 5.0)
    stream_replicas: int = 1  # used only if the producer's stream does not exist yet
    lag_interval: float = 5.0  # how often the consumer's info is read for the lag gauges


@dataclass(frozen=True)
class Decoded:
    """One event ready to apply: its envelope, the handler for its type, its parsed data."""

    envelope: Envelope
    handler: Handler
    event: Event
    subject: str
    parent: Context | None = None  # the producer's trace context
    position: int | None = None  # its place among events of its type (None: not numbered)


# What applying one event came to: an outcome ("applied", "duplicate", "stale"), or the
# exception its handler raised when it was applied alone.
Result = str | Exception


class EventConsumer:
    def __init__(
        self,
        subscription: Subscription,
        db: Database,
        outbox: Outbox,
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
        self.outbox = outbox
        self.tables: KernelTables = outbox.tables
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
        self._running = asyncio.Event()
        self._running.set()
        self._psub: Any = None
        self._caught_up_listeners: list[Callable[[], None]] = []

    # ------------------------------------------------------------ caught up, paused

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def pause(self) -> None:
        """Apply nothing more after the batch in hand (until :meth:`resume`): what a
        fetch already in flight brings back is released for redelivery."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def on_caught_up(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each applied batch whose last message left nothing
        pending on the stream (a cheap hint: confirm with :meth:`caught_up`)."""
        self._caught_up_listeners.append(listener)

    async def caught_up(self) -> bool:
        """True when this consumer runs, is not paused, and the server has nothing
        pending for it and nothing delivered but unacknowledged (by any replica bound to
        the same durable consumer): every event in its stream so far is applied."""
        psub = self._psub
        if psub is None or self.paused or not self.ready.is_set():
            return False
        try:
            info = await psub.consumer_info()
        except Exception as exc:
            log.debug("consumer %s: no consumer info: %r", self.durable, exc)
            return False
        return not info.num_pending and not info.num_ack_pending

    async def caught_up_elsewhere(self) -> bool:
        """:meth:`caught_up` asked from a process that does not run this consumer (an API
        process beside a ``consume`` process): True when the server has nothing pending
        for it and nothing delivered but unacknowledged, i.e. every event in its stream
        so far is applied, whether or not a process is fetching right now (requiring an
        idle pull request made the answer "unsure" whenever the consume process was
        applying a batch, and decisions were queued needlessly). False whenever unsure."""
        try:
            js = self.nats.jetstream(timeout=1.0)
            info = await js.consumer_info(self.stream, self.durable)
        except Exception as exc:
            log.debug("consumer %s: no consumer info: %r", self.durable, exc)
            return False
        return not info.num_pending and not info.num_ack_pending

    def _signal_caught_up(self) -> None:
        for listener in self._caught_up_listeners:
            try:
                listener()
            except Exception:  # a listener's bug must not stop consuming
                log.exception("consumer %s: caught-up listener failed", self.durable)

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

    def source_subjects(self) -> list[str]:
        prefix = f"{self.namespace}." if self.namespace else ""
        return [f"{prefix}{self.subscription.source}.>"]

    async def setup(self) -> Any:
        await self.nats.wait_connected()
        js = self.nats.jetstream()
        await ensure_stream(
            js,
            self.stream,
            self.source_subjects(),
            replicas=self.options.stream_replicas,
            update=False,
        )
        await ensure_consumer(js, self.stream, self.consumer_config())
        return await js.pull_subscribe_bind(self.durable, self.stream)

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch and apply until ``stop`` is set; survives NATS and database outages."""
        delay = FIRST_RETRY_DELAY
        psub: Any = None
        while not stop.is_set():
            try:
                if self.paused:
                    await _first_of(self._running.wait(), stop.wait())
                    continue
                if psub is None:
                    psub = await self.setup()
                    self._psub = psub
                    self.ready.set()
                messages = await self._next_batch(psub)
                await self._sample_lag(psub)
                if not messages:
                    continue
                if stop.is_set() or self.paused:
                    # Not started (stopping, or paused while the fetch was in flight): let
                    # them be redelivered promptly rather than after AckWait.
                    for msg in messages:
                        with contextlib.suppress(Exception):
                            await msg.nak()
                    continue
                await self.process_batch(messages)
                delay = FIRST_RETRY_DELAY
                last = messages[-1]
                if last.reply and last.metadata.num_pending == 0:
                    self._signal_caught_up()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if psub is not None and isinstance(exc, NO_LEADER):
                    # Its leader is being elected: the subscription stays good, and the
                    # next fetch after the election gets the backlog (a new setup would
                    # wait out JetStream's request timeouts instead).
                    log.info("consumer %s: no leader yet; retrying in %.2fs", self.durable, delay)
                else:
                    log.warning("consumer %s: %r; retrying in %.2fs", self.durable, exc, delay)
                    psub = self._psub = None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, MAX_RETRY_DELAY)
        self._psub = None  # stopped: never caught up again
        if psub is not None:
            with contextlib.suppress(Exception):
                await psub.unsubscribe()

    async def _next_batch(self, psub: Any) -> list[Msg]:
        """Wait for one message, then take the ones already behind it, without waiting.

        A lingering ``fetch(n)`` returns only when n messages arrived or it expires,
        which would hold the first event for up to ``fetch_timeout``; a second fetch with
        a short timeout would add that timeout to every lone event. Instead the first
        message says how many were pending behind it (``num_pending``): when none, it is
        applied at once; else exactly those are fetched (already there, so at once; the
        short bound only matters when a replica bound to the same consumer took them).
        """
        try:
            first: list[Msg] = await psub.fetch(1, timeout=self.options.fetch_timeout)
        except TimeoutError:
            return []  # no messages: not an error
        behind = _pending_behind(first[-1])
        if self.options.batch_size <= 1 or not behind:
            return first
        try:
            more: list[Msg] = await psub.fetch(
                min(behind, self.options.batch_size - 1), timeout=self.options.follow_up_timeout
            )
        except TimeoutError:
            more = []
        return first + more

    async def _sample_lag(self, psub: Any) -> None:
        now = time.monotonic()
        if self.metrics is None or now < self._next_lag_sample:
            return
        self._next_lag_sample = now + self.options.lag_interval
        try:
            # Bounded: while the consumer's leader is being elected nobody answers, and a
            # metric must not hold the fetch loop for the whole request timeout.
            info = await asyncio.wait_for(psub.consumer_info(), 1.0)
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

    # ------------------------------------------------------------ the one apply path

    def decode(self, payload: bytes, headers: Mapping[str, str] | None = None) -> Decoded:
        """Parse an envelope and its data; :class:`PoisonMessage` when that can never work."""
        try:
            envelope = Envelope.model_validate_json(payload)
        except ValidationError as exc:
            raise PoisonMessage(f"malformed envelope: {exc.errors()[:3]}") from exc
        found = self.subscription.handler_for(envelope.type)
        if found is None:
            raise Unhandled(f"no handler for {envelope.type}")
        cls, handler = found
        try:
            event = cls.model_validate(envelope.data)
        except ValidationError as exc:
            raise PoisonMessage(f"malformed {envelope.type} data: {exc.errors()[:3]}") from exc
        # The relay's span from the headers, else the producer's from the envelope.
        parent = context_from(headers) or context_from(envelope_trace_headers(payload))
        return Decoded(
            envelope,
            handler,
            event,
            subject_for(self.namespace, cls),
            parent,
            _position(headers),
        )

    async def apply(self, events: Sequence[Decoded], *, bulk: bool = False) -> list[Result]:
        """Apply ``events`` exactly once each, in order: THE way events are applied.

        All of them in ONE transaction (inbox row and sequence check, handler; one
        ``NOTIFY`` and one commit), so a consumer that has fallen behind, or a replay,
        catches up in bulk. If that fails, it is rolled back and each event is applied
        alone, in its own transaction, so one failing handler costs only its own event:
        its result is the exception. Raises only when our database is away (nothing was
        applied; not the events' fault).

        ``bulk`` (a replay's window of thousands): in a ``reorderable`` subscription each
        batch handler gets every due event of its types in the batch in one call, in the
        order the handlers first appear (see :meth:`_runs`).
        """
        failed_at: list[int] = []  # the index of the event whose handler raised, if one did
        try:
            return list(await self._apply_together(events, failed_at, bulk=bulk))
        except Exception as exc:
            if _database_away(exc):
                raise
            if len(events) == 1:
                return [exc]
            batch_error = exc
            log.info("consumer %s: batch failed (%r); one event at a time", self.durable, exc)
        results: list[Result] = []
        for index, decoded in enumerate(events):
            if failed_at and index == failed_at[0]:
                # Its handler failed just as it would have alone (the events before it
                # were applied in the same transaction): not run a second time.
                results.append(batch_error)
                continue
            try:
                results.extend(await self._apply_together([decoded]))
            except Exception as exc:
                if _database_away(exc):
                    raise
                results.append(exc)
        return results

    async def _apply_together(
        self, events: Sequence[Decoded], failed_at: list[int] | None = None, *, bulk: bool = False
    ) -> list[str]:
        async with self.db.transaction() as session:
            uow = UnitOfWork.joining(self.db, self.outbox, session)
            outcomes = await self._record_all(session, events)
            due = [i for i, outcome in enumerate(outcomes) if outcome == "applied"]
            grouped = bulk and self.subscription.reorderable
            for many, run in self._runs(events, due, grouped=grouped):
                try:
                    await self._handle_run(uow, [events[i] for i in run], many)
                except Exception:
                    if failed_at is not None and len(run) == 1:
                        failed_at.append(run[0])
                    raise
            # A moved position notifies on commit: wakes requests waiting for it.
            moved = await advance(
                session,
                self.tables.consumer_positions,
                self.subscription.name,
                _handled(events),
                notify=PROJECTION_CHANNEL,
            )
            if not moved and due:
                await session.execute(text(f"NOTIFY {PROJECTION_CHANNEL}"))
            await self.fault("consumer.before_commit")
            # Positions for what the handlers published, and COMMIT, in one round trip.
            await self.outbox.commit_sealed(session)
        return outcomes

    async def _record_all(self, session: Any, events: Sequence[Decoded]) -> list[str]:
        """Record every event in the inbox and advance each aggregate's sequence to the
        newest of the batch: ONE statement. Per event: ``applied`` (its handler is due:
        the newest of its aggregate here, newer than what was applied), ``duplicate``
        (in the inbox already) or ``stale`` (older than what was applied, or than a later
        event of the same aggregate in this batch: events carry their aggregate's state,
        so only the newest needs applying)."""
        # An event twice in one batch: the later copy is a duplicate, as in two batches.
        first: dict[uuid.UUID, int] = {}
        for i, d in enumerate(events):
            first.setdefault(d.envelope.id, i)
        unique = [events[i] for i in first.values()]  # in delivery order
        if not unique:
            return []
        rows = (
            await session.execute(
                RECORD_ALL,
                {
                    "consumer": self.subscription.name,
                    "event_id": array_literal(d.envelope.id for d in unique),
                    "event_type": array_literal(d.envelope.type for d in unique),
                    "aggregate": array_literal(d.envelope.aggregatetype for d in unique),
                    "aggregate_id": array_literal(d.envelope.subject for d in unique),
                    "version": array_literal(d.envelope.sequence for d in unique),
                },
            )
        ).all()
        outcome = {
            unique[int(row.ord) - 1].envelope.id: "duplicate"
            if not row.recorded
            else "applied"
            if row.due
            else "stale"
            for row in rows
        }
        return [
            outcome[d.envelope.id] if first[d.envelope.id] == i else "duplicate"
            for i, d in enumerate(events)
        ]

    def _runs(
        self, events: Sequence[Decoded], due: list[int], *, grouped: bool = False
    ) -> list[tuple[BatchHandler | None, list[int]]]:
        """The due events in order, consecutive ones with the same batch handler grouped
        (each group is one call to it); every other event alone, with None.

        ``grouped``: every due event with a batch handler joins that handler's one group,
        placed where the handler first appears (a window of a replay interleaves types
        in short runs: a post's two events, then its module's order, then the next
        post...). Only for handlers that commute across aggregates (``reorderable``): the
        due events are one per aggregate, and events without a batch handler keep their
        relative order."""
        runs: list[tuple[BatchHandler | None, list[int]]] = []
        groups: dict[BatchHandler, list[int]] = {}
        for i in due:
            many = self.subscription.batch_handler_for(events[i].envelope.type)
            if grouped and many is not None:
                if many in groups:
                    groups[many].append(i)
                else:
                    groups[many] = [i]
                    runs.append((many, groups[many]))
            elif runs and many is not None and many is runs[-1][0]:
                runs[-1][1].append(i)
            else:
                runs.append((many, [i]))
        return runs

    async def _handle_run(
        self, uow: UnitOfWork, run: list[Decoded], many: BatchHandler | None
    ) -> None:
        """A run of one goes to its event's handler; a longer one to ``many``."""
        last = run[-1]
        span_cm = (
            self.tracer.start_as_current_span(
                f"apply {last.subject.rsplit('.', 1)[-1]}",
                context=last.parent,
                kind=SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "nats",
                    "messaging.operation.type": "process",
                    "messaging.destination.name": last.subject,
                    "messaging.consumer.group.name": self.durable,
                    "messaging.batch.message_count": len(run),
                },
            )
            if self.tracer is not None
            else contextlib.nullcontext(None)
        )
        # Events published by the handler name the (last) event they follow from.
        token = causation_var.set((str(last.envelope.id), last.envelope.correlationid))
        positions: dict[str, int] = {}
        for decoded in run:
            if decoded.position is not None:
                kind = decoded.envelope.type
                positions[kind] = max(positions.get(kind, 0), decoded.position)
        cause = cause_positions_var.set(positions)
        try:
            with span_cm as span:
                if many is not None and len(run) > 1:
                    await many(uow, [d.event for d in run])
                else:
                    await last.handler(uow, last.event)
                if span is not None:
                    span.set_attribute("syllabus.outcome", "applied")
        finally:
            causation_var.reset(token)
            cause_positions_var.reset(cause)

    # ------------------------------------------------------------ live messages

    async def process_batch(self, msgs: Sequence[Msg]) -> list[str]:
        """Apply fetched messages (:meth:`apply`), then ack, nak or dead-letter each.

        Acks follow the commit. A malformed message is dead-lettered at once; a message
        whose handler failed is nak'ed with backoff and dead-lettered after
        ``max_attempts`` deliveries; when our database is away every message is nak'ed
        without counting toward that. Returns each message's outcome.
        """
        started = time.perf_counter()
        outcomes: dict[int, str] = {}
        ready: list[tuple[Msg, Decoded]] = []
        for msg in msgs:
            self._observe_delivery(msg)
            try:
                ready.append((msg, self.decode(msg.data, msg.headers)))
            except Unhandled as exc:
                log.debug("consumer %s: %s; acknowledged", self.durable, exc)
                await msg.ack()
                if self.metrics:
                    self.metrics.events_unhandled.labels(self.durable).inc()
                outcomes[id(msg)] = "unhandled"
            except PoisonMessage as exc:
                await self._dead_letter(msg, str(exc), _deliveries(msg))
                await msg.term()
                outcomes[id(msg)] = "dead_lettered"
        if ready:
            try:
                results = await self.apply([decoded for _, decoded in ready])
            except Exception as exc:
                log.warning("consumer %s: database unavailable (%r)", self.durable, exc)
                for msg, _ in ready:
                    await msg.nak(delay=self._backoff(_deliveries(msg)))
                    outcomes[id(msg)] = "retry"
            else:
                for (msg, _), result in zip(ready, results, strict=True):
                    if isinstance(result, Exception):
                        outcomes[id(msg)] = await self._handler_failed(msg, result)
                    else:
                        await self.fault("consumer.before_ack")
                        await msg.ack()
                        outcomes[id(msg)] = result
        if self.metrics:
            share = (time.perf_counter() - started) / max(len(msgs), 1)
            for msg in msgs:
                self.metrics.events_applied.labels(self.durable, outcomes[id(msg)]).inc()
                self.metrics.event_apply_seconds.labels(self.durable).observe(share)
        return [outcomes[id(msg)] for msg in msgs]

    async def _handler_failed(self, msg: Msg, exc: Exception) -> str:
        deliveries = _deliveries(msg)
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

    # ------------------------------------------------------------ stored payloads

    async def apply_payloads(
        self,
        payloads: Sequence[bytes],
        headers: Sequence[Mapping[str, str] | None] | None = None,
        *,
        bulk: bool = False,
    ) -> list[str]:
        """Apply serialized envelopes (a replay, a dead letter) through :meth:`apply`,
        with the message headers they were published with when known.

        A malformed payload's outcome is ``"malformed"``, one of a type without a handler
        ``"unhandled"`` (both skipped; a dead letter of the latter is thereby done); a
        handler that fails raises its exception (nothing after it is lost: the events
        before it committed or none did, and a replay starts again from the inbox)."""
        decoded: list[Decoded | str] = []
        for index, payload in enumerate(payloads):
            try:
                decoded.append(self.decode(payload, headers[index] if headers else None))
            except Unhandled:
                decoded.append("unhandled")
            except PoisonMessage:
                decoded.append("malformed")
        results = iter(await self.apply([d for d in decoded if not isinstance(d, str)], bulk=bulk))
        outcomes: list[str] = []
        for item in decoded:
            result = item if isinstance(item, str) else next(results)
            if isinstance(result, Exception):
                raise result
            outcomes.append(result)
        return outcomes

    async def _dead_letter(self, msg: Msg, error: str, deliveries: int) -> None:
        event_id = event_type = None
        with contextlib.suppress(Exception):
            env = Envelope.model_validate_json(msg.data)
            event_id, event_type = str(env.id), env.type
        position = _position(msg.headers)
        async with self.db.transaction() as session:
            if event_type and position and self.subscription.handler_for(event_type):
                # Handled, the only way it can be: a token naming it is not held for ever
                # (the dead letter and its alert are the record that it was not applied).
                # A moved position wakes requests waiting for it now, not at their bound.
                await advance(
                    session,
                    self.tables.consumer_positions,
                    self.subscription.name,
                    {event_type: [position]},
                    notify=PROJECTION_CHANNEL,
                )
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
                [outcome] = await self.apply_payloads([row.payload])
                if outcome == "malformed":
                    raise PoisonMessage("still malformed")
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


async def _first_of(*waits: Awaitable[Any]) -> None:
    """Wait until the first of ``waits`` finishes (the others are cancelled)."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def _position(headers: Mapping[str, str] | None) -> int | None:
    if not headers:
        return None
    value = headers.get(POSITION_HEADER)
    return int(value) if value and value.isascii() and value.isdigit() else None


def _handled(events: Sequence[Decoded]) -> dict[str, list[int]]:
    handled: dict[str, list[int]] = {}
    for decoded in events:
        if decoded.position is not None:
            handled.setdefault(decoded.envelope.type, []).append(decoded.position)
    return handled


def _pending_behind(msg: Msg) -> int:
    """How many messages the server had pending for this consumer after ``msg``."""
    try:
        return int(msg.metadata.num_pending or 0) if msg.reply else 0
    except Exception:  # not a JetStream message (no metadata): take none more
        return 0


def _deliveries(msg: Msg) -> int:
    return msg.metadata.num_delivered if msg.metadata else 1


def _database_away(exc: BaseException) -> bool:
    """Our database is unreachable (not the event's fault), or by a connection that
    broke: such a failure never counts toward dead-lettering."""
    if isinstance(exc, (OperationalError, OSError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


# The inbox rows and the aggregates' sequences for a whole batch (of distinct event ids),
# in one statement. An event is due when it is recorded now (not a duplicate), is the
# newest recorded event of its aggregate in the batch (highest sequence; of equal ones the
# first delivered, as one by one the later would be stale), and that sequence is newer
# than the one applied before.
RECORD_ALL = text("""
WITH batch AS (
    SELECT * FROM unnest(
        CAST(:event_id AS uuid[]), CAST(:event_type AS text[]), CAST(:aggregate AS text[]),
        CAST(:aggregate_id AS uuid[]), CAST(:version AS bigint[])
    ) WITH ORDINALITY AS b(event_id, event_type, aggregate, aggregate_id, version, ord)
),
recorded AS (
    INSERT INTO inbox (consumer, event_id, event_type)
    SELECT :consumer, event_id, event_type FROM batch ORDER BY ord
    ON CONFLICT DO NOTHING
    RETURNING event_id
),
newest AS (
    SELECT DISTINCT ON (b.aggregate, b.aggregate_id) b.aggregate, b.aggregate_id, b.version,
        b.ord
    FROM batch b JOIN recorded r ON r.event_id = b.event_id
    ORDER BY b.aggregate, b.aggregate_id, b.version DESC, b.ord
),
advanced AS (
    INSERT INTO aggregate_versions AS v (aggregate, aggregate_id, version)
    SELECT aggregate, aggregate_id, version FROM newest ORDER BY aggregate, aggregate_id
    ON CONFLICT (aggregate, aggregate_id) DO UPDATE SET version = excluded.version
    WHERE v.version < excluded.version
    RETURNING v.aggregate, v.aggregate_id
)
SELECT b.ord,
    EXISTS (SELECT FROM recorded r WHERE r.event_id = b.event_id) AS recorded,
    EXISTS (
        SELECT FROM newest n JOIN advanced a USING (aggregate, aggregate_id)
        WHERE n.ord = b.ord
    ) AS due
FROM batch b
""")

"""The transactional outbox: events are written in the same transaction as the state."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from opentelemetry.trace import SpanKind, Tracer
from sqlalchemy import func, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from syllabus_shared.consistency_token import note_written
from syllabus_shared.contracts import Envelope, Event
from syllabus_shared.ids import new_id
from syllabus_shared.messaging.tables import KernelTables
from syllabus_shared.observability import request_id_var
from syllabus_shared.tracing import TRACEPARENT, TRACESTATE, current_trace_headers

NOTIFY_CHANNEL = "syllabus_outbox"
# Envelopes of producers that do not trace carry no trace attributes at all.
_UNTRACED: set[str] = {TRACEPARENT, TRACESTATE}
# The event being handled, so events it causes name it as their cause.
causation_var: ContextVar[tuple[str, str | None] | None] = ContextVar("causation", default=None)
# The positions (per event type) of the events being handled: a consistency token naming
# them makes a read wait until they are applied (notices carry one; consumer sets it).
cause_positions_var: ContextVar[dict[str, int] | None] = ContextVar("cause_positions", default=None)
# Set while a projection is rebuilt (replay): notices are not recorded (syllabus_shared.notify).
notices_quiet: ContextVar[bool] = ContextVar("notices_quiet", default=False)


def subject_for(namespace: str, event: type[Event]) -> str:
    return f"{namespace}.{event.subject_suffix()}" if namespace else event.subject_suffix()


def event_subject(namespace: str, event: Event) -> str:
    """Where ``event`` is published: its type's subject, or the one it routes itself to."""
    routed = event.routed_subject()
    if routed is None:
        return subject_for(namespace, type(event))
    return f"{namespace}.{routed}" if namespace else routed


def stream_name(namespace: str, stream: str) -> str:
    return f"{namespace.upper().replace('.', '_')}_{stream}" if namespace else stream


# Many rows as arrays, unnested, and the relay's wake-up (once) in the same statement.
_INSERT_MANY = text(f"""
WITH inserted AS (
    INSERT INTO outbox (id, subject, event_type, aggregate_id, sequence, payload)
    SELECT * FROM unnest(
        CAST(:id AS uuid[]), CAST(:subject AS text[]), CAST(:event_type AS text[]),
        CAST(:aggregate_id AS text[]), CAST(:sequence AS bigint[]), CAST(:payload AS bytea[]))
    RETURNING 1
)
SELECT pg_notify('{NOTIFY_CHANNEL}', '') WHERE EXISTS (SELECT FROM inserted)
""")


# The outbox row of :meth:`Outbox.stage`, written by a statement of the caller's: its
# parameters (``STAGED_PREFIX`` + column) and the relay's wake-up on commit.
STAGED_PREFIX = "outbox_"
_STAGED_COLUMNS = ("id", "subject", "event_type", "aggregate_id", "sequence", "payload")
STAGED_INSERT = (
    f"INSERT INTO outbox ({', '.join(_STAGED_COLUMNS)}) "
    f"SELECT {', '.join(f':{STAGED_PREFIX}{c}' for c in _STAGED_COLUMNS)}"
)
STAGED_RETURNING = f"RETURNING pg_notify('{NOTIFY_CHANNEL}', '')"

# Events added in a session's transaction and not yet given positions: (id, event type).
_UNSEALED = "syllabus.outbox.unsealed"

# Positions for one transaction's events, in ONE statement: each event type's counter row
# is advanced by how many events of that type the transaction adds (rows locked in type
# order, so two transactions never wait on each other in a cycle), and each outbox row
# gets its place in that run. The row lock is held until commit, so positions of a type
# are handed out in commit order and a rollback gives them back: 1, 2, 3, ... no gaps.
# Only events still in the outbox are numbered (one added inside a savepoint that rolled
# back is gone: counting it would leave a gap no consumer position could ever pass);
# ``rank`` is each one's place among its type's, in the order they were added.
_SEAL_SQL = """
WITH batch AS (
    SELECT b.id, b.event_type,
        row_number() OVER (PARTITION BY b.event_type ORDER BY b.ord) AS rank
    FROM unnest({id}, {event_type})
        WITH ORDINALITY AS b(id, event_type, ord)
    JOIN outbox o ON o.id = b.id
),
counted AS (
    SELECT event_type, count(*) AS n FROM batch GROUP BY event_type
),
clock AS (
    INSERT INTO outbox_positions AS p (event_type, position)
    SELECT event_type, n FROM counted ORDER BY event_type
    ON CONFLICT (event_type) DO UPDATE SET position = p.position + excluded.position
    RETURNING p.event_type, p.position
),
placed AS (
    UPDATE outbox o SET position = clock.position - counted.n + batch.rank
    FROM batch JOIN counted USING (event_type) JOIN clock USING (event_type)
    WHERE o.id = batch.id
    RETURNING o.event_type, o.position
)
SELECT event_type, max(position) AS position FROM placed GROUP BY event_type
"""
_SEAL = text(_SEAL_SQL.format(id="CAST(:id AS uuid[])", event_type="CAST(:event_type AS text[])"))
# What an event type may look like to be written into the sealing statement as a literal.
_LITERAL_TYPE = re.compile(r"[A-Za-z0-9_.]+")


class Outbox:
    """Adds events to a service's outbox table inside the caller's transaction."""

    def __init__(
        self,
        tables: KernelTables,
        *,
        source: str,
        namespace: str = "",
        tracer: Tracer | None = None,
    ) -> None:
        self.tables = tables
        self.source = source
        self.namespace = namespace
        self.tracer = tracer

    def envelope(self, event: Event, sequence: int) -> Envelope:
        cause = causation_var.get()
        correlation = cause[1] if cause else request_id_var.get()
        trace_context = current_trace_headers()
        return Envelope(
            id=new_id(),
            source=self.source,
            type=event.type_name(),
            subject=str(event.subject_id()),
            time=dt.datetime.now(dt.UTC),
            aggregatetype=event.aggregate,
            sequence=sequence,
            correlationid=correlation,
            causationid=cause[0] if cause else None,
            traceparent=trace_context.get(TRACEPARENT),
            tracestate=trace_context.get(TRACESTATE),
            data=event.model_dump(mode="json"),
        )

    async def add(self, session: AsyncSession, event: Event, *, sequence: int) -> uuid.UUID:
        """Record ``event`` (the aggregate now at ``sequence``); it is published after commit."""
        if event.source != self.source:
            raise ValueError(f"{self.source} cannot publish {event.type_name()}")
        if self.tracer is None:
            return await self._add(session, event, sequence)
        with self._span(event, sequence) as span:
            event_id = await self._add(session, event, sequence)
            span.set_attribute("messaging.message.id", str(event_id))
            return event_id

    def _span(self, event: Event, sequence: int) -> Any:
        """An ``outbox.add <Event>`` span: the event's envelope records it as its creator."""
        assert self.tracer is not None
        return self.tracer.start_as_current_span(
            f"outbox.add {event.name}",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "nats",
                "messaging.operation.type": "create",
                "messaging.destination.name": event_subject(self.namespace, event),
                "syllabus.event.type": event.type_name(),
                "syllabus.aggregate.id": str(event.subject_id()),
                "syllabus.aggregate.sequence": sequence,
            },
        )

    def _traced_row(self, event: Event, sequence: int) -> dict[str, object]:
        if self.tracer is None:
            return self._row(event, sequence)
        with self._span(event, sequence) as span:
            row = self._row(event, sequence)
            span.set_attribute("messaging.message.id", str(row["id"]))
            return row

    async def _add(self, session: AsyncSession, event: Event, sequence: int) -> uuid.UUID:
        row = self._row(event, sequence)
        await session.execute(
            insert(self.tables.outbox)
            .values(**row)
            # The relay's wake-up, in the same statement (one round trip less per event):
            # delivered on commit only, so the relay wakes exactly when there is work.
            .returning(func.pg_notify(NOTIFY_CHANNEL, ""))
        )
        event_id = uuid.UUID(str(row["id"]))
        if event.numbered:
            session.info.setdefault(_UNSEALED, []).append((event_id, row["event_type"]))
        return event_id

    def _row(self, event: Event, sequence: int) -> dict[str, object]:
        if event.source != self.source:
            raise ValueError(f"{self.source} cannot publish {event.type_name()}")
        envelope = self.envelope(event, sequence)
        return {
            "id": envelope.id,
            "subject": event_subject(self.namespace, event),
            "event_type": envelope.type,
            "aggregate_id": envelope.subject,
            "sequence": sequence,
            "payload": envelope.model_dump_json(
                exclude=_UNTRACED if envelope.traceparent is None else None
            ).encode(),
        }

    def stage(self, session: AsyncSession, event: Event, *, sequence: int) -> dict[str, object]:
        """Bind parameters of the outbox row for ``event`` (its aggregate now at
        ``sequence``), for a caller that writes it inside a statement of its own, with the
        state it belongs to (one round trip less), as a CTE ``STAGED_INSERT + " FROM <cte>
        " + STAGED_RETURNING``; noted for :meth:`seal` as :meth:`add` notes it. The
        statement must insert the row exactly once, or raise so the transaction rolls back."""
        row = self._traced_row(event, sequence)
        if event.numbered:
            session.info.setdefault(_UNSEALED, []).append(
                (uuid.UUID(str(row["id"])), str(row["event_type"]))
            )
        return {f"{STAGED_PREFIX}{name}": value for name, value in row.items()}

    async def add_many(
        self, session: AsyncSession, events: Sequence[tuple[Event, int]]
    ) -> list[uuid.UUID]:
        """Record many ``(event, sequence)`` at once: ONE statement (the rows as arrays,
        unnested) and one wake-up, so a set-based change (re-deriving thousands of rows)
        emits one event per row without a round trip per event."""
        if not events:
            return []
        # One span per event when tracing, as with add(): each event names its own creator.
        rows = [self._traced_row(event, sequence) for event, sequence in events]
        await session.execute(
            _INSERT_MANY,
            {
                name: [row[name] for row in rows]
                for name in ("id", "subject", "event_type", "aggregate_id", "sequence", "payload")
            },
        )
        ids = [uuid.UUID(str(row["id"])) for row in rows]
        session.info.setdefault(_UNSEALED, []).extend(
            (event_id, row["event_type"])
            for event_id, row, (event, _) in zip(ids, rows, events, strict=True)
            if event.numbered
        )
        return ids

    async def seal(self, session: AsyncSession) -> dict[str, int]:
        """Give this transaction's events their positions; call it last, just before
        commit (the unit of work and the consumer do). Returns the highest position per
        event type, and records them in the current request's consistency token."""
        unsealed: list[tuple[uuid.UUID, str]] = session.info.pop(_UNSEALED, [])
        if not unsealed:
            return {}
        result = await session.execute(
            _SEAL,
            {
                "id": [event_id for event_id, _ in unsealed],
                "event_type": [event_type for _, event_type in unsealed],
            },
        )
        positions = {row.event_type: int(row.position) for row in result}
        note_written(positions)
        return positions

    async def commit_sealed(self, session: AsyncSession) -> dict[str, int] | None:
        """Seal this transaction's events and COMMIT it, both in ONE round trip; None when
        there was nothing to seal (the caller commits as usual).

        The seal row-locks each event type's counter until commit, so every writer of that
        type queues behind it. Sent as one simple query (``<seal>; COMMIT``), the lock is
        held for the server's time alone, never across the client's scheduling latency
        between two round trips (under load, a busy event loop's milliseconds: a convoy
        that capped every writer of one event type at 1 / that latency). The statement
        carries its values as literals (a simple query takes no parameters): UUIDs made
        here and event type names checked against ``_LITERAL_TYPE``; anything else falls
        back to :meth:`seal` (the caller then commits)."""
        unsealed: list[tuple[uuid.UUID, str]] = session.info.get(_UNSEALED, [])
        if not unsealed:
            return None
        types = [event_type for _, event_type in unsealed]
        if not all(_LITERAL_TYPE.fullmatch(event_type) for event_type in types):
            await self.seal(session)
            return None
        await session.flush()  # nothing of the ORM may be left to write after COMMIT
        session.info.pop(_UNSEALED, None)
        ids = ",".join(f"'{uuid.UUID(str(event_id))}'" for event_id, _ in unsealed)
        names = ",".join(f"'{event_type}'" for event_type in types)
        statement = _SEAL_SQL.format(
            id=f"ARRAY[{ids}]::uuid[]", event_type=f"ARRAY[{names}]::text[]"
        )
        conn = await session.connection()
        # The session still believes its transaction open; its commit then finds the
        # connection idle and sends nothing (psycopg's commit() on an idle connection).
        result = await conn.exec_driver_sql(statement + ";\nCOMMIT")
        positions = {row.event_type: int(row.position) for row in result}
        note_written(positions)
        return positions

    @staticmethod
    def forget_unsealed(session: AsyncSession) -> None:
        """Drop the record of unsealed events (their transaction rolled back)."""
        session.info.pop(_UNSEALED, None)

"""The transactional outbox: events are written in the same transaction as the state."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from opentelemetry.trace import SpanKind, Tracer
from sqlalchemy import func, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

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


def subject_for(namespace: str, event: type[Event]) -> str:
    return f"{namespace}.{event.subject_suffix()}" if namespace else event.subject_suffix()


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
                "messaging.destination.name": subject_for(self.namespace, type(event)),
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
        return uuid.UUID(str(row["id"]))

    def _row(self, event: Event, sequence: int) -> dict[str, object]:
        if event.source != self.source:
            raise ValueError(f"{self.source} cannot publish {event.type_name()}")
        envelope = self.envelope(event, sequence)
        return {
            "id": envelope.id,
            "subject": subject_for(self.namespace, type(event)),
            "event_type": envelope.type,
            "aggregate_id": envelope.subject,
            "sequence": sequence,
            "payload": envelope.model_dump_json(
                exclude=_UNTRACED if envelope.traceparent is None else None
            ).encode(),
        }

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
        return [uuid.UUID(str(row["id"])) for row in rows]

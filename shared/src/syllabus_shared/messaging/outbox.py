"""The transactional outbox: events are written in the same transaction as the state."""

from __future__ import annotations

import datetime as dt
import uuid
from contextvars import ContextVar

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from syllabus_shared.contracts import Envelope, Event
from syllabus_shared.ids import new_id
from syllabus_shared.messaging.tables import KernelTables
from syllabus_shared.observability import request_id_var

NOTIFY_CHANNEL = "syllabus_outbox"
# The event being handled, so events it causes name it as their cause.
causation_var: ContextVar[tuple[str, str | None] | None] = ContextVar("causation", default=None)


def subject_for(namespace: str, event: type[Event]) -> str:
    return f"{namespace}.{event.subject_suffix()}" if namespace else event.subject_suffix()


def stream_name(namespace: str, stream: str) -> str:
    return f"{namespace.upper().replace('.', '_')}_{stream}" if namespace else stream


class Outbox:
    """Adds events to a service's outbox table inside the caller's transaction."""

    def __init__(self, tables: KernelTables, *, source: str, namespace: str = "") -> None:
        self.tables = tables
        self.source = source
        self.namespace = namespace

    def envelope(self, event: Event, sequence: int) -> Envelope:
        cause = causation_var.get()
        correlation = cause[1] if cause else request_id_var.get()
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
            data=event.model_dump(mode="json"),
        )

    async def add(self, session: AsyncSession, event: Event, *, sequence: int) -> uuid.UUID:
        """Record ``event`` (the aggregate now at ``sequence``); it is published after commit."""
        if event.source != self.source:
            raise ValueError(f"{self.source} cannot publish {event.type_name()}")
        envelope = self.envelope(event, sequence)
        await session.execute(
            insert(self.tables.outbox).values(
                id=envelope.id,
                subject=subject_for(self.namespace, type(event)),
                event_type=envelope.type,
                aggregate_id=envelope.subject,
                sequence=sequence,
                payload=envelope.model_dump_json().encode(),
            )
        )
        # Delivered on commit only, so the relay wakes exactly when there is work.
        await session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
        return envelope.id

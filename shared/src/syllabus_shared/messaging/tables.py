"""Kernel tables that live in every service's own database.

Built per service ``MetaData`` (each service has its own database and migrations),
as SQLAlchemy Core tables so the kernel's mechanisms need no ORM classes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB


@dataclass(frozen=True)
class KernelTables:
    outbox: Table
    inbox: Table
    aggregate_versions: Table
    dead_letters: Table
    idempotency_keys: Table
    outbox_positions: Table
    consumer_positions: Table
    deleted_users: Table


def kernel_tables(metadata: MetaData) -> KernelTables:
    """Declare the outbox, inbox, version tracker, dead letters and idempotency keys."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", Uuid, primary_key=True),  # = event id = Nats-Msg-Id
        Column("subject", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("aggregate_id", Text, nullable=False),
        Column("sequence", BigInteger, nullable=False),
        Column("payload", LargeBinary, nullable=False),  # the serialized envelope
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("last_error", Text),
        # Its place among the events of its type (1, 2, 3, ... with no gaps), given just
        # before commit: what a consistency token names (docs/events.md).
        Column("position", BigInteger),
        Index(
            "ix_outbox_unpublished",
            "created_at",
            "id",
            postgresql_where=text("published_at IS NULL"),
        ),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", Uuid, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
    )
    aggregate_versions = Table(
        "aggregate_versions",
        metadata,
        Column("aggregate", Text, nullable=False),
        Column("aggregate_id", Uuid, nullable=False),
        Column("version", BigInteger, nullable=False),
        PrimaryKeyConstraint("aggregate", "aggregate_id"),
    )
    dead_letters = Table(
        "dead_letters",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("consumer", Text, nullable=False),
        Column("stream", Text, nullable=False),
        Column("stream_sequence", BigInteger),
        Column("subject", Text, nullable=False),
        Column("event_id", Text),
        Column("event_type", Text),
        Column("payload", LargeBinary, nullable=False),
        Column("error", Text, nullable=False),
        Column("deliveries", Integer, nullable=False),
        Column("failed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("replayed_at", DateTime(timezone=True)),
    )
    idempotency_keys = Table(
        "idempotency_keys",
        metadata,
        Column("scope", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("request_hash", Text, nullable=False),
        Column("status_code", Integer),
        Column("body", JSONB),
        Column("headers", JSONB),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("scope", "key"),
    )
    # The last position given to each event type this service publishes.
    outbox_positions = Table(
        "outbox_positions",
        metadata,
        Column("event_type", Text, primary_key=True),
        Column("position", BigInteger, nullable=False),
    )
    # Per consumer and event type: every event of that type up to ``position`` has been
    # handled here; ``ahead`` holds positions handled out of order beyond it.
    consumer_positions = Table(
        "consumer_positions",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("position", BigInteger, nullable=False),
        Column("ahead", ARRAY(BigInteger), nullable=False, server_default="{}"),
        PrimaryKeyConstraint("consumer", "event_type"),
    )
    # Accounts deleted (UserDeleted): their tokens are refused and no projection keeps or
    # brings back their rows (syllabus_shared.accounts). Never emptied by a replay.
    deleted_users = Table(
        "deleted_users",
        metadata,
        Column("user_id", Uuid, primary_key=True),
        Column("deleted_at", DateTime(timezone=True), nullable=False),
        Index("ix_deleted_users_deleted_at", "deleted_at"),
    )
    return KernelTables(
        outbox,
        inbox,
        aggregate_versions,
        dead_letters,
        idempotency_keys,
        outbox_positions,
        consumer_positions,
        deleted_users,
    )

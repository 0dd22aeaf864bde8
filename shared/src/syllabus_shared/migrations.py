"""Alembic helpers: each service has its own migration history and runs it as its own step.

Also the kernel's frozen migration operations (``create_kernel_tables_v1``) and the
schema-drift check (``schema_differences``) every service's tests run.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from alembic.operations import Operations
from sqlalchemy import MetaData, pool
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(migrations_dir: Path, database_url: str, revision: str = "head") -> None:
    """Bring the database at ``database_url`` to ``revision``."""
    command.upgrade(alembic_config(migrations_dir, database_url), revision)


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py`` (online, async engine)."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run())


# ------------------------------------------------------------------ schema drift


def schema_differences(database_url: str, metadata: MetaData) -> list[str]:
    """How the database at ``database_url`` differs from ``metadata``, one line each.

    Alembic's autogenerate comparison (what ``alembic revision --autogenerate`` would
    write), so an empty list means the migrations produce exactly what the models declare:
    tables, columns, types, nullability, server defaults, indexes (incl. partial and
    expression ones by name), unique constraints, foreign keys and comments. Not compared,
    because alembic cannot: CHECK constraints, computed-column expressions, sequences.
    ``database_url`` is a synchronous SQLAlchemy URL (``postgresql+psycopg://...``);
    an ``+asyncpg`` URL is read through psycopg instead.
    """
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    url = database_url.replace("+asyncpg://", "+psycopg://", 1)
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "target_metadata": metadata,
                    "compare_type": True,
                    # Reliable here: every server default is a literal or now(), which
                    # PostgreSQL reflects in a form alembic normalises on both sides.
                    "compare_server_default": True,
                },
            )
            diffs = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    return [_describe(diff) for diff in _flatten(diffs)]


def _flatten(diffs: list[Any]) -> list[tuple[Any, ...]]:
    # Column modifications come grouped in a list per column; the rest are tuples.
    flat: list[tuple[Any, ...]] = []
    for diff in diffs:
        flat.extend(diff if isinstance(diff, list) else [diff])
    return flat


def _show(value: Any) -> str:
    # Server defaults come as DefaultClause(TextClause | str); types and flags as such.
    arg = getattr(value, "arg", value)
    return repr(getattr(arg, "text", arg))


def _describe(diff: tuple[Any, ...]) -> str:
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        where = "only in the models" if kind == "add_table" else "only in the database"
        return f"table {diff[1].name}: {where}"
    if kind in ("add_column", "remove_column"):
        where = "only in the models" if kind == "add_column" else "only in the database"
        return f"column {diff[2]}.{diff[3].name}: {where}"
    if kind.startswith("modify_"):
        _, _, table, column, _existing, database, model = diff
        what = kind.removeprefix("modify_").replace("_", " ")
        return (
            f"column {table}.{column}: {what} is {_show(database)} in the database,"
            f" {_show(model)} in the models"
        )
    if kind in ("add_index", "remove_index"):
        index = diff[1]
        where = "only in the models" if kind == "add_index" else "only in the database"
        columns = ", ".join(getattr(e, "name", None) or str(e) for e in index.expressions)
        unique = "unique " if index.unique else ""
        return f"{unique}index {index.name} on {index.table.name} ({columns}): {where}"
    if kind in ("add_constraint", "remove_constraint", "add_fk", "remove_fk"):
        constraint = diff[1]
        where = "only in the models" if kind.startswith("add") else "only in the database"
        label = "foreign key" if kind.endswith("_fk") else type(constraint).__name__
        columns = ", ".join(c.name for c in constraint.columns)
        return f"{label} {constraint.name} on {constraint.table.name} ({columns}): {where}"
    return repr(diff)


# ------------------------------------------------------------------ kernel tables


def create_kernel_tables_v1(op: Operations) -> None:
    """Create the kernel tables, version 1 (every service's ``0001`` migration).

    Frozen: released migrations call this, so it must keep doing exactly what it does
    (it is a copy of what autogenerate wrote for ``kernel_tables()`` when they were
    first released, not derived from it). A later change to the kernel tables is a new
    function ``..._v2`` (the operations from v1 to v2) applied by a new migration in
    each service; the drift test (``schema_differences``) shows which services lack it.
    """
    op.create_table(
        "aggregate_versions",
        sa.Column("aggregate", sa.Text(), nullable=False),
        sa.Column("aggregate_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("aggregate", "aggregate_id", name=op.f("pk_aggregate_versions")),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("stream", sa.Text(), nullable=False),
        sa.Column("stream_sequence", sa.BigInteger(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("event_type", sa.Text(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column(
            "failed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_inbox")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("aggregate_id", sa.Text(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
    )


def drop_kernel_tables_v1(op: Operations) -> None:
    """Undo ``create_kernel_tables_v1`` (every service's ``0001`` downgrade). Frozen too."""
    op.drop_index(
        "ix_outbox_unpublished",
        table_name="outbox",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox")
    op.drop_table("inbox")
    op.drop_table("idempotency_keys")
    op.drop_table("dead_letters")
    op.drop_table("aggregate_versions")


def kernel_tables_v2(op: Operations) -> None:
    """Kernel tables v1 → v2: positions for consistency tokens (issue 15). Frozen."""
    op.add_column("outbox", sa.Column("position", sa.BigInteger(), nullable=True))
    op.create_table(
        "outbox_positions",
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_type", name=op.f("pk_outbox_positions")),
    )
    op.create_table(
        "consumer_positions",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("ahead", postgresql.ARRAY(sa.BigInteger()), server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_type", name=op.f("pk_consumer_positions")),
    )


def drop_kernel_tables_v2(op: Operations) -> None:
    """Undo ``kernel_tables_v2``. Frozen too."""
    op.drop_table("consumer_positions")
    op.drop_table("outbox_positions")
    op.drop_column("outbox", "position")


def kernel_tables_v3(op: Operations) -> None:
    """Kernel tables v2 → v3: deleted accounts (issue 17). Frozen."""
    op.create_table(
        "deleted_users",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_deleted_users")),
    )
    op.create_index("ix_deleted_users_deleted_at", "deleted_users", ["deleted_at"], unique=False)


def drop_kernel_tables_v3(op: Operations) -> None:
    """Undo ``kernel_tables_v3``. Frozen too."""
    op.drop_index("ix_deleted_users_deleted_at", table_name="deleted_users")
    op.drop_table("deleted_users")


def kernel_tables_v4(op: Operations) -> None:
    """Kernel tables v3 → v4: the relay's index covers its whole order (issue 16). Frozen.

    The relay takes ``ORDER BY created_at, id LIMIT n``; on ``(created_at)`` alone
    PostgreSQL read and sorted every unpublished row for each batch (a backlog of N rows
    cost O(N) per batch, O(N²) to drain: 20 ms per batch at 20,000 rows)."""
    op.drop_index(
        "ix_outbox_unpublished",
        table_name="outbox",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["created_at", "id"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
    )


def drop_kernel_tables_v4(op: Operations) -> None:
    """Undo ``kernel_tables_v4``. Frozen too."""
    op.drop_index(
        "ix_outbox_unpublished",
        table_name="outbox",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
    )

"""Database access: engine and sessions built from settings in the app's lifespan."""

from __future__ import annotations

import datetime as dt
import functools
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

from sqlalchemy import (
    DateTime,
    Engine,
    Integer,
    MetaData,
    Table,
    TextClause,
    Uuid,
    event,
    func,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlmodel import Field, SQLModel

from syllabus_shared.ids import new_id

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_metadata() -> MetaData:
    """Each service owns its own MetaData (its own database, its own migrations)."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class Entity(SQLModel):
    """SQLModel fields every entity table has: a UUIDv7 key, audit timestamps and an
    optimistic-concurrency ``version``. A table model inherits it beside its service's
    own table base (which carries the service's MetaData)::

        class Course(CatalogTable, Entity, table=True): ...
    """

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    created_at: dt.datetime = Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now()},
        nullable=False,
    )
    updated_at: dt.datetime = Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now()},
        nullable=False,
    )
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"}, nullable=False)

    def touch(self) -> None:
        """Record a change: bump ``version`` and ``updated_at``."""
        self.version += 1
        self.updated_at = utcnow()


class EntityMixin:
    """UUIDv7 key, audit timestamps and an optimistic-concurrency ``version``."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    def touch(self) -> None:
        """Record a change: bump ``version`` and ``updated_at``."""
        self.version += 1
        self.updated_at = utcnow()


# A pooled connection unused for longer than this is pinged before it is handed out.
PING_AFTER_IDLE = 1.0


def _ping_when_idle(engine: Engine, idle: float) -> None:
    """``pool_pre_ping``, for connections that sat unused for more than ``idle`` seconds.

    ``pool_pre_ping`` pings on every checkout: a round trip (and two autocommit switches)
    before every transaction, which under load is a fifth of a short request's work. A
    connection that was back in the pool only a moment ago is as alive as the last
    statement it ran, unless the server has closed it meanwhile (a crash or a shutdown
    does): that is seen without a round trip, by reading the socket. One that fails its
    ping or was closed is replaced, as with ``pool_pre_ping`` (the pool retries the
    checkout with a new connection), and so is every other connection pooled before it; a
    connection that dies while in use fails that use, and the pool then drops every
    connection older than the failure (see :func:`_treat_server_shutdown_as_disconnect`).
    """

    @event.listens_for(engine, "connect")
    def _connected(dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if idle > 0 and returned is not None and time.monotonic() - returned <= idle:
            # No round trip, but read what the server may have sent meanwhile: a server
            # that crashed or shut down closed the socket (often after a FATAL 57P01).
            if not _socket_closed(dbapi_connection):
                return
            raise InvalidatePoolError("the server closed the connection while it was pooled")
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # Every connection to a server that went away is dead: drop them all (the pool
            # replaces each one older than this at its next checkout).
            raise InvalidatePoolError(f"connection failed its ping: {exc!r}") from exc
        if not alive:
            raise InvalidatePoolError("connection failed its ping")


# SQLSTATEs of a server going away: admin_shutdown (a fast shutdown, or the backend told
# that the postmaster died), crash_shutdown, cannot_connect_now (starting up, recovering).
DISCONNECT_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def is_disconnect_error(exc: BaseException | None) -> bool:
    """A server-side end of the connection: SQLSTATE 57P01/57P02/57P03 or class 08
    (connection exception). SQLAlchemy's psycopg dialect only sees a disconnect once libpq
    has noticed the closed socket; the server's FATAL can arrive first."""
    sqlstate = getattr(exc, "sqlstate", None)
    return isinstance(sqlstate, str) and (
        sqlstate in DISCONNECT_SQLSTATES or sqlstate.startswith("08")
    )


def _socket_closed(dbapi_connection: Any) -> bool:
    """Whether the server has closed this idle connection, without a round trip: libpq
    reads what is waiting on the socket (non-blocking) and notices an end of file."""
    conn = getattr(dbapi_connection, "_connection", dbapi_connection)  # SQLAlchemy's adapter
    pgconn = getattr(conn, "pgconn", None)
    if pgconn is None:
        return False
    try:
        if getattr(conn, "broken", False) or getattr(conn, "closed", False):
            return True
        # Twice: one read may return the server's FATAL message, the next its end of file.
        pgconn.consume_input()
        pgconn.consume_input()
    except Exception:
        return True
    return bool(pgconn.status != 0)  # CONNECTION_OK


def _treat_server_shutdown_as_disconnect(engine: Engine) -> None:
    """Mark errors of a server going away as disconnects (see :func:`is_disconnect_error`):
    SQLAlchemy then invalidates the connection and every pooled connection older than it,
    so no later request meets another connection of the dead server."""

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        if not context.is_disconnect and is_disconnect_error(context.original_exception):
            context.is_disconnect = True


class Database:
    """An async engine and session factory for one service's database."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 20,
        max_overflow: int = 0,
        ping_after_idle: float = PING_AFTER_IDLE,
    ) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_recycle=1800,
        )
        # Survive a database restart without restarting the service (see ``_ping_when_idle``).
        _ping_when_idle(self.engine.sync_engine, ping_after_idle)
        _treat_server_shutdown_as_disconnect(self.engine.sync_engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Same pool, autocommit: a read needs no BEGIN/COMMIT round trips (see ``read``).
        self.reader: AsyncEngine = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection in autocommit, for a read that is ONE statement.

        No transaction is opened, so there are no ``BEGIN``/``COMMIT`` round trips; each
        statement sees its own snapshot, so a read that needs several statements to agree
        belongs in :meth:`transaction`.
        """
        async with self.reader.connect() as conn:
            yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL as a plain libpq conninfo URL (for psycopg LISTEN connections)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a SQLModel table class."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


async def upsert(session: AsyncSession, model: type[SQLModel], values: dict[str, Any]) -> None:
    """Insert the row, or overwrite every non-key column named in ``values`` (projections
    write the whole state their event carries, so the newest event alone decides a row)."""
    await upsert_many(session, model, [values])


async def upsert_many(
    session: AsyncSession, model: type[SQLModel], rows: Sequence[dict[str, Any]]
) -> None:
    """:func:`upsert` for many rows (all naming the same columns) in one round trip: one
    statement, executed for all of them (SQLAlchemy sends them as one multi-row INSERT).
    Of rows with the same key, the last wins."""
    if not rows:
        return
    table = table_of(model)
    keys = tuple(c.name for c in table.primary_key.columns)
    latest = {tuple(row[k] for k in keys): row for row in rows}
    names = tuple(rows[0])
    await session.execute(_upsert_statement(table, keys, names), list(latest.values()))


@functools.lru_cache(maxsize=256)
def _upsert_statement(table: Table, keys: tuple[str, ...], names: tuple[str, ...]) -> Any:
    stmt = pg_insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: stmt.excluded[name] for name in names if name not in keys},
    )


async def write_rows(
    session: AsyncSession,
    model: type[SQLModel],
    rows: Sequence[dict[str, Any]],
    *,
    upsert: bool = True,
) -> None:
    """Insert (``upsert``: or update, of rows with the same key the last wins) ``rows``,
    all naming the same columns: ONE statement however many, each column one array
    parameter sent as an :func:`array_literal` (a replay's window writes thousands;
    :func:`upsert_many`'s multi-row INSERT binds every value apart). For columns whose
    values :func:`array_literal` writes as PostgreSQL reads them back: UUIDs, numbers,
    text, booleans, timestamps, arrays of UUIDs (not JSON or enums: use
    :func:`upsert_many`)."""
    if not rows:
        return
    table = table_of(model)
    keys = tuple(c.name for c in table.primary_key.columns)
    if upsert:
        rows = list({tuple(row[k] for k in keys): row for row in rows}.values())
    names = tuple(rows[0])
    arrays = _array_columns(table)
    params = {
        name: array_literal(
            (_array_literal(r[name]) for r in rows) if name in arrays else (r[name] for r in rows)
        )
        for name in names
    }
    await session.execute(_rows_statement(table, names, upsert), params)


def _array_columns(table: Table) -> frozenset[str]:
    return frozenset(c.name for c in table.columns if isinstance(c.type, postgresql.ARRAY))


def _array_literal(values: Sequence[Any]) -> str:
    """An array column's value as PostgreSQL's array text (``unnest`` would flatten an
    array of arrays): ``{a,b}`` of uuids, cast back in the statement."""
    return "{" + ",".join(str(v) for v in values) + "}"


@functools.cache
def _rows_statement(table: Table, names: tuple[str, ...], upsert: bool) -> TextClause:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    arrays = _array_columns(table)
    types = {c.name: c.type.compile(dialect=dialect) for c in table.columns}
    keys = [c.name for c in table.primary_key.columns]
    quoted = ", ".join(f'"{n}"' for n in names)
    order = ", ".join(f't."{k}"' for k in keys)
    params = ", ".join(f"CAST(:{n} AS {'text' if n in arrays else types[n]}[])" for n in names)
    values = ", ".join(f'CAST(t."{n}" AS {types[n]})' if n in arrays else f't."{n}"' for n in names)
    sql = (
        f'INSERT INTO "{table.name}" ({quoted}) SELECT {values} FROM unnest({params}) '
        f"AS t({quoted}) ORDER BY {order}"
    )
    if upsert:
        updates = ", ".join(f'"{n}" = EXCLUDED."{n}"' for n in names if n not in keys)
        conflict = ", ".join(f'"{k}"' for k in keys)
        sql += f" ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    return text(sql)


async def lock_for_transaction(session: AsyncSession, name: str) -> None:
    """A transaction-scoped advisory lock on ``name`` (every replica takes the same one):
    serializes work on one thing that spans several aggregates, e.g. a course's deletion
    and its outline events."""
    key = func.hashtextextended(name, 0)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


def array_literal(values: Iterable[Any]) -> str:
    """``values`` as one PostgreSQL array literal (text; None is NULL), for a statement
    that casts it (``CAST(:ids AS uuid[])``): psycopg dumps a Python list element by
    element in Python, ~6x the time (a replay's window of 10,000 events spent ~30 µs an
    event dumping the inbox's five arrays). Strings are quoted; numbers and UUIDs as is."""
    out: list[str] = []
    for value in values:
        if value is None:
            out.append("NULL")
        elif isinstance(value, (uuid.UUID, int, float)):
            out.append(str(value))
        else:
            out.append('"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(out) + "}"

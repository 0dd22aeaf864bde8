"""Deleted accounts, the mechanism every service shares (issue 17).

Identity deletes an account and publishes ``UserDeleted``. Every service consumes it
with a handler built by :func:`forgetting`: the deletion is recorded in the kernel table
``deleted_users`` (in the same transaction as the service's own cascade, which is the
service's rule), and a ``NOTIFY`` tells every process of the service at once.

- **Tokens**: :class:`RevokedUsers` keeps, in memory, the users deleted within the
  longest token lifetime (older deletions cannot have an unexpired token left); the
  :class:`~syllabus_shared.auth.TokenVerifier` refuses their tokens, cached or not.
  No service calls identity: each learns it from the event, within the event lag.
- **Data**: a projection never writes a row for a deleted user. Events from other
  streams can arrive after ``UserDeleted`` (an enrollment still in flight, or a replay
  that reads the streams one after another), so handlers that create per-user rows ask
  :func:`is_deleted` / :func:`deleted_among` first. ``deleted_users`` is not part of
  any projection: a replay keeps it, so a rebuild does not bring the user's data back.
- **No write skew**: the check and the deletion run in different transactions (two
  consumers, or a consumer and a request), so a plain read could miss a deletion not
  yet committed while the deletion's cascade misses the row being written. A per-user
  advisory lock closes it: :func:`record_user_deleted` takes it exclusively, the checks
  take it shared, both until their transaction ends, each before it reads. Whichever
  comes second waits for the first to commit and then sees its rows (READ COMMITTED
  takes each statement's snapshot after the lock is granted).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence

import psycopg
from sqlalchemy import ColumnElement, exists, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from syllabus_shared.auth import unauthorized
from syllabus_shared.contracts.identity import UserDeleted, UserProfileChanged, UserRegistered
from syllabus_shared.db import Database, libpq_url, upsert_many
from syllabus_shared.messaging.tables import KernelTables
from syllabus_shared.unit_of_work import UnitOfWork

log = logging.getLogger("syllabus.accounts")

NOTIFY_CHANNEL = "syllabus_accounts"

Cascade = Callable[[UnitOfWork, UserDeleted], Awaitable[None]]

# Per-user transaction locks (one 64-bit key per user id), taken in key order.
_LOCK_EXCLUSIVE = text(
    "SELECT pg_advisory_xact_lock(hashtextextended('syllabus.user:' || :user_id, 0))"
)
_LOCK_SHARED = text("""
SELECT count(pg_advisory_xact_lock_shared(k)) FROM (
    SELECT hashtextextended('syllabus.user:' || u, 0) AS k
    FROM unnest(CAST(:user_ids AS text[])) AS u ORDER BY 1
) AS keys
""")


async def record_user_deleted(uow: UnitOfWork, user_id: uuid.UUID, deleted_at: dt.datetime) -> bool:
    """Record the deletion in this transaction (tokens refused once it commits). True
    when it is new here (a redelivered event records nothing)."""
    table = uow.tables.deleted_users
    await uow.session.execute(_LOCK_EXCLUSIVE, {"user_id": str(user_id)})
    inserted = await uow.session.execute(
        pg_insert(table)
        .values(user_id=user_id, deleted_at=deleted_at)
        .on_conflict_do_nothing()
        .returning(table.c.user_id)
    )
    if inserted.first() is None:
        return False
    await uow.session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
    return True


def forgetting(
    cascade: Cascade, *, first: Cascade | None = None
) -> Callable[[UnitOfWork, UserDeleted], Awaitable[None]]:
    """The service's ``UserDeleted`` handler: record the deletion, then run the service's
    own ``cascade`` (which deletes the user's rows and nulls their authorship).

    ``first`` runs in the same transaction *before* the user's lock is taken: row locks
    that writers take before the user's lock (e.g. a consumer's batch that upserts a row,
    then checks a user) must be taken in that order here too, or the two deadlock."""

    async def handle(uow: UnitOfWork, event: UserDeleted) -> None:
        async with uow:
            if first is not None:
                await first(uow, event)
            await record_user_deleted(uow, event.user_id, event.deleted_at)
            await cascade(uow, event)

    handle.__name__ = f"forgetting_{getattr(cascade, '__name__', 'cascade')}"
    return handle


UserState = UserRegistered | UserProfileChanged


def remembering_names(
    model: type[SQLModel],
) -> tuple[
    Callable[[UnitOfWork, UserState], Awaitable[None]],
    Callable[[UnitOfWork, Sequence[UserState]], Awaitable[None]],
]:
    """Handlers (one event, many) that keep ``model`` (``user_id``, ``username``,
    ``display_name``) as identity's ``UserRegistered``/``UserProfileChanged`` carry them,
    for the lists that name people (rosters, gradebooks): one multi-row upsert. A deleted
    account's late or replayed event writes nothing (its row went with ``UserDeleted``)."""

    async def remember_many(uow: UnitOfWork, events: Sequence[UserState]) -> None:
        async with uow:
            session = uow.session
            deleted = await deleted_among(session, uow.tables, [e.user_id for e in events])
            rows = [
                {"user_id": e.user_id, "username": e.username, "display_name": e.display_name}
                for e in events
                if e.user_id not in deleted
            ]
            await upsert_many(session, model, rows)

    async def remember(uow: UnitOfWork, event: UserState) -> None:
        await remember_many(uow, [event])

    return remember, remember_many


async def is_deleted(session: AsyncSession, tables: KernelTables, user_id: uuid.UUID) -> bool:
    """Whether ``user_id`` is a deleted account; holds the user's lock (shared) until the
    transaction ends, so a deletion cannot commit between this check and the write it
    guards. Call it before writing rows for the user, in the same transaction."""
    await lock_users(session, [user_id])
    found = await session.execute(select(deleted_flag(tables, user_id)))
    return bool(found.scalar())


async def refuse_deleted(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    """401 for a deleted account whose token was accepted a moment before its deletion
    reached this process (the kernel refuses the token itself after that). Call it in the
    transaction, before writing a row that names the caller (as its creator, its grader):
    it holds the user's lock, so the deletion's cascade sees that row or comes first."""
    if await is_deleted(uow.session, uow.tables, user_id):
        raise unauthorized("this account was deleted")


async def lock_users(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> None:
    """Take the users' locks (shared) until the transaction ends: the first half of
    :func:`is_deleted`, for a caller that reads :func:`deleted_flag` in the statement it
    runs next anyway (that statement's snapshot is taken after the lock is granted, so it
    sees any deletion that committed before): one round trip instead of two."""
    await session.execute(_LOCK_SHARED, {"user_ids": [str(i) for i in set(user_ids)]})


def deleted_flag(tables: KernelTables, user_id: uuid.UUID) -> ColumnElement[bool]:
    """A column expression: whether ``user_id`` is a deleted account. Read it only after
    :func:`lock_users` in the same transaction (see there)."""
    table = tables.deleted_users
    return exists(select(table.c.user_id).where(table.c.user_id == user_id)).label("deleted")


async def deleted_among(
    session: AsyncSession, tables: KernelTables, user_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``user_ids`` are deleted accounts (one query)."""
    ids = list(set(user_ids))
    if not ids:
        return set()
    await session.execute(_LOCK_SHARED, {"user_ids": [str(i) for i in ids]})
    table = tables.deleted_users
    rows = await session.execute(select(table.c.user_id).where(table.c.user_id.in_(ids)))
    return {row.user_id for row in rows}


class RevokedUsers:
    """Users whose tokens this process refuses: those deleted within ``window`` seconds
    (the longest a token can live, plus leeway), kept in memory, refreshed on ``NOTIFY``
    (and every ``poll_interval`` seconds in case a notification was lost)."""

    def __init__(
        self, db: Database, tables: KernelTables, *, window: float, poll_interval: float = 30.0
    ) -> None:
        self.db = db
        self.table = tables.deleted_users
        self.window = window
        self.poll_interval = poll_interval
        self._deleted: dict[uuid.UUID, float] = {}  # user id -> deleted at (epoch seconds)
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    def revoked(self, user_id: uuid.UUID) -> bool:
        return user_id in self._deleted

    def add(self, user_id: uuid.UUID, deleted_at: dt.datetime) -> None:
        """Refuse ``user_id`` in this process at once (identity, deleting it here)."""
        self._deleted[user_id] = deleted_at.timestamp()

    async def refresh(self) -> None:
        since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=self.window)
        async with self.db.read() as conn:
            rows = await conn.execute(
                select(self.table.c.user_id, self.table.c.deleted_at).where(
                    self.table.c.deleted_at > since
                )
            )
            fresh = {row.user_id: row.deleted_at.timestamp() for row in rows}
        cutoff = time.time() - self.window
        # Keep what this process added itself (its commit may not be visible yet to a
        # read that started first); drop what aged out of the window.
        kept = {u: at for u, at in self._deleted.items() if at > cutoff}
        self._deleted = {**kept, **fresh}

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="revoked-users")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = 0.05
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    libpq_url(self.db.url), autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    await self.refresh()  # after LISTEN: nothing falls between the two
                    delay = 0.05
                    while True:
                        # Ends at the first notification (coalescing a burst into one
                        # refresh) or after the poll interval, whichever comes first.
                        async for _ in conn.notifies(timeout=self.poll_interval, stop_after=1):
                            pass
                        await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "deleted-accounts listener lost (%r); reconnecting in %.2fs", exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

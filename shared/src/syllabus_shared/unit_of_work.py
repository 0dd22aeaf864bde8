"""The unit of work: one business transaction, its state and its events together.

After cosmicpython's ``service_layer/unit_of_work.py``, with the outbox inside it: a
service function takes a :class:`UnitOfWork`, opens it with ``async with uow:`` and
everything it writes (rows and the events recorded with :meth:`UnitOfWork.publish`)
commits together or not at all. Routes get a fresh, unopened one per request
(``UnitOfWorkDep``); the event consumer hands handlers one it has already opened (its
batch's transaction), and ``async with uow:`` inside a handler joins that transaction
instead of opening another, so one service function serves both entrypoints.

Read-your-writes waits (:meth:`UnitOfWork.wait_for`) belong before the transaction:
waiting holds no connection.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from syllabus_shared.consistency import ProjectionWatcher
from syllabus_shared.contracts import Event
from syllabus_shared.db import Database
from syllabus_shared.messaging.outbox import Outbox
from syllabus_shared.messaging.tables import KernelTables


class UnitOfWork:
    """A session and the outbox, for one transaction (re-entrant: inner blocks join)."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        *,
        watcher: ProjectionWatcher | None = None,
        wait_seconds: float = 0.0,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.watcher = watcher
        self.wait_seconds = wait_seconds
        self._session: AsyncSession | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._depth = 0

    @classmethod
    def joining(cls, db: Database, outbox: Outbox, session: AsyncSession) -> UnitOfWork:
        """A unit of work inside a transaction someone else owns (the consumer's batch):
        ``async with`` joins it; the owner commits or rolls back."""
        uow = cls(db, outbox)
        uow._session = session
        uow._depth = 1
        return uow

    @property
    def tables(self) -> KernelTables:
        return self.outbox.tables

    @property
    def session(self) -> AsyncSession:
        """The open transaction's session (only inside ``async with uow:``)."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use `async with uow:`")
        return self._session

    @property
    def is_open(self) -> bool:
        return self._session is not None

    async def __aenter__(self) -> Self:
        if self._depth == 0:
            stack = contextlib.AsyncExitStack()
            try:
                session = await stack.enter_async_context(self.db.sessions())
                await stack.enter_async_context(session.begin())
            except BaseException:
                await stack.aclose()
                raise
            self._stack, self._session = stack, session
        self._depth += 1
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth > 0 or self._stack is None:
            return  # an inner block, or a joined transaction: its owner ends it
        stack, session = self._stack, self._session
        self._stack = self._session = None
        if exc_type is None and session is not None:
            try:
                # The events' positions (consistency tokens) and COMMIT in one round
                # trip; the session's own commit below then has nothing left to send.
                await self.outbox.commit_sealed(session)
            except BaseException as error:
                await stack.__aexit__(type(error), error, error.__traceback__)
                raise
        # Commits on a clean exit, rolls back on an exception (session.begin()'s rule).
        await stack.__aexit__(exc_type, exc, tb)

    async def publish(self, event: Event, *, sequence: int) -> uuid.UUID:
        """Record ``event`` (its aggregate now at ``sequence``) in this transaction's outbox."""
        return await self.outbox.add(self.session, event, sequence=sequence)

    async def publish_many(self, events: Sequence[tuple[Event, int]]) -> list[uuid.UUID]:
        """Record many ``(event, sequence)`` in this transaction's outbox, batched."""
        return await self.outbox.add_many(self.session, events)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """An autocommit connection for a read that is ONE statement (no transaction)."""
        async with self.db.read() as conn:
            yield conn

    async def wait_for(self, check: Callable[[], Awaitable[bool]]) -> bool:
        """Read-your-writes: wait, bounded by the service's consistency wait, until the
        local projection makes ``check`` true (woken by every applied event). False when
        the bound passed first; True at once when ``check`` already holds."""
        if self.watcher is None:
            return await check()
        return await self.watcher.wait_until(check, self.wait_seconds)

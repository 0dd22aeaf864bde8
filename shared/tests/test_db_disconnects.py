"""A connection the server ended (crash, shutdown, terminated backend) is a disconnect:
the pool discards it, and the other connections of that server, before a request uses them."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from syllabus_devkit.testing.plugin import Databases
from syllabus_shared.db import Database, is_disconnect_error, libpq_url


async def _backend_pid(db: Database) -> int:
    async with db.read() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(url: str, pid: int) -> None:
    async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


class _Err(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "disconnect"),
    [
        ("57P01", True),  # admin_shutdown: "terminating connection due to ... postmaster exit"
        ("57P02", True),  # crash_shutdown
        ("57P03", True),  # cannot_connect_now: starting up / in recovery
        ("08006", True),  # connection_failure
        ("08000", True),
        ("57014", False),  # query_canceled
        ("23505", False),
        (None, False),
    ],
)
def test_server_going_away_is_a_disconnect(sqlstate: str | None, disconnect: bool) -> None:
    assert is_disconnect_error(_Err(sqlstate)) is disconnect


async def test_a_connection_the_server_ended_while_pooled_is_replaced_without_an_error(
    databases: Databases,
) -> None:
    # Used a moment ago, so not pinged: still, the closed socket is noticed at checkout.
    url = await databases.create_empty()
    db = Database(url, pool_size=1, ping_after_idle=60.0)
    try:
        pid = await _backend_pid(db)
        await _terminate(url, pid)
        await asyncio.sleep(0.2)
        assert await _backend_pid(db) != pid
    finally:
        await db.dispose()


async def test_a_shutdown_sqlstate_invalidates_the_connection_and_the_pool(
    databases: Databases,
) -> None:
    """A server's FATAL 57P0x can reach the client before libpq sees the socket close: the
    error alone makes it a disconnect, and every connection pooled before it is replaced."""
    url = await databases.create_empty()
    db = Database(url, pool_size=3, ping_after_idle=60.0)
    try:
        async with db.read() as a, db.read() as b:
            before = {
                int((await a.execute(text("SELECT pg_backend_pid()"))).scalar_one()),
                int((await b.execute(text("SELECT pg_backend_pid()"))).scalar_one()),
            }
        with pytest.raises(DBAPIError) as failed:
            async with db.read() as conn:
                # The server answers 57P01 but keeps the connection: only the SQLSTATE says so.
                await conn.execute(
                    text("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '57P01'; END $$")
                )
        assert failed.value.connection_invalidated
        async with db.read() as a, db.read() as b:
            after = {
                int((await a.execute(text("SELECT pg_backend_pid()"))).scalar_one()),
                int((await b.execute(text("SELECT pg_backend_pid()"))).scalar_one()),
            }
        assert not before & after
    finally:
        await db.dispose()

"""Deleted accounts: the deletion record, the per-user lock that closes the write skew
between "is this user deleted?" and the deletion's cascade, and the revoked-token set."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from sqlalchemy import insert, select
from syllabus_shared.accounts import (
    RevokedUsers,
    deleted_among,
    is_deleted,
    record_user_deleted,
    refuse_deleted,
)
from syllabus_shared.ids import new_id
from syllabus_shared.problems import Problem
from syllabus_shared.unit_of_work import UnitOfWork

from conftest import Kernel


def uow(kernel: Kernel) -> UnitOfWork:
    return UnitOfWork(kernel.db, kernel.outbox)


async def test_a_deletion_is_recorded_once(kernel: Kernel) -> None:
    user, now = new_id(), dt.datetime.now(dt.UTC)
    async with uow(kernel) as u:
        assert await record_user_deleted(u, user, now)
    async with uow(kernel) as u:
        assert not await record_user_deleted(u, user, now)  # redelivered: nothing new
        assert await is_deleted(u.session, kernel.tables, user)
        assert await deleted_among(u.session, kernel.tables, [user, new_id()]) == {user}
        assert await deleted_among(u.session, kernel.tables, []) == set()


async def test_a_deleted_caller_is_refused_in_the_transaction(kernel: Kernel) -> None:
    """A token accepted a moment before the deletion reached the process: the write that
    would name the caller (a course's creator, a grade's grader) answers 401 instead."""
    user, other = new_id(), new_id()
    async with uow(kernel) as u:
        await record_user_deleted(u, user, dt.datetime.now(dt.UTC))
    async with uow(kernel) as u:
        await refuse_deleted(u, other)  # not deleted: nothing happens
        with pytest.raises(Problem) as refused:
            await refuse_deleted(u, user)
        assert refused.value.status == 401


async def test_a_check_and_a_deletion_never_miss_each_other(kernel: Kernel) -> None:
    """A consumer checks the user and writes a row for them while, in another
    transaction, the user's deletion commits: the deletion waits for the check's
    transaction, so its cascade (run after it) sees the row and can delete it."""
    user = new_id()
    widgets = kernel.widgets
    checked, deletion_done = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with uow(kernel) as u:
            assert not await is_deleted(u.session, kernel.tables, user)
            checked.set()
            await asyncio.sleep(0.3)  # the deletion tries to commit meanwhile
            assert not deletion_done.is_set()  # ... and is still waiting for us
            await u.session.execute(insert(widgets).values(id=user, name="row of the user"))

    async def deleter() -> None:
        await checked.wait()
        async with uow(kernel) as u:
            await record_user_deleted(u, user, dt.datetime.now(dt.UTC))
            # The cascade, after the lock: the writer's row is committed and visible.
            rows = (await u.session.execute(select(widgets.c.id))).scalars().all()
            assert user in rows
        deletion_done.set()

    await asyncio.gather(writer(), deleter())


async def test_a_check_after_a_deletion_waits_for_its_commit(kernel: Kernel) -> None:
    user = new_id()
    locked, seen = asyncio.Event(), []

    async def deleter() -> None:
        async with uow(kernel) as u:
            await record_user_deleted(u, user, dt.datetime.now(dt.UTC))
            locked.set()
            await asyncio.sleep(0.3)

    async def checker() -> None:
        await locked.wait()
        async with uow(kernel) as u:
            seen.append(await is_deleted(u.session, kernel.tables, user))

    await asyncio.gather(deleter(), checker())
    assert seen == [True]  # waited for the commit, then saw it


async def test_revoked_users_learn_of_a_deletion_by_notify(kernel: Kernel) -> None:
    revoked = RevokedUsers(kernel.db, kernel.tables, window=3600, poll_interval=60)
    user = new_id()
    revoked.start()
    try:
        await asyncio.sleep(0.5)  # listening
        assert not revoked.revoked(user)
        async with uow(kernel) as u:
            await record_user_deleted(u, user, dt.datetime.now(dt.UTC))
        for _ in range(100):
            if revoked.revoked(user):
                break
            await asyncio.sleep(0.02)
        assert revoked.revoked(user)  # within 2 s, long before the 60 s poll
        # A deletion older than the window is forgotten (no token can outlive it).
        old = uuid.uuid4()
        async with uow(kernel) as u:
            await record_user_deleted(u, old, dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
        await revoked.refresh()
        assert not revoked.revoked(old) and revoked.revoked(user)
    finally:
        await revoked.stop()

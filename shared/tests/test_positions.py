"""Event positions: the consumer's fold (pure) and ``Outbox.seal`` against real PostgreSQL.

The claim under test (docs/events.md, "Positions"): the positions of a type that ever
commit are exactly 1..N, whatever the concurrency, however many writers roll back.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections import defaultdict

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import IntegrityError
from syllabus_shared.consistency_token import ConsistencyToken, written_var
from syllabus_shared.contracts import Event
from syllabus_shared.contracts.catalog import ModuleCreated, ModuleDeleted
from syllabus_shared.messaging.positions import MAX_AHEAD, fold
from syllabus_shared.unit_of_work import UnitOfWork

from conftest import Kernel

MC, MD = ModuleCreated.type_name(), ModuleDeleted.type_name()

# ---------------------------------------------------------------- fold (pure)


def test_fold_in_order() -> None:
    assert fold(0, [], [1, 2, 3]) == (3, [])
    assert fold(3, [], [4]) == (4, [])
    assert fold(0, [], []) == (0, [])


def test_fold_out_of_order_waits_for_the_gap() -> None:
    assert fold(0, [], [2, 3]) == (0, [2, 3])  # 1 not handled yet
    assert fold(0, [2, 3], [5]) == (0, [2, 3, 5])
    assert fold(0, [2, 3, 5], [1]) == (3, [5])  # the gap fills: up to the next gap
    assert fold(3, [5], [4]) == (5, [])
    assert fold(0, [], [3, 1, 2]) == (3, [])  # one batch in any order


def test_fold_ignores_duplicates_and_positions_already_passed() -> None:
    assert fold(5, [], [1, 3, 5]) == (5, [])
    assert fold(5, [7], [7, 7, 2]) == (5, [7])
    assert fold(0, [], [1, 1, 2, 2]) == (2, [])
    assert fold(4, [2, 3], [5]) == (5, [])  # stale entries in ahead are dropped


def test_fold_counts_past_a_gap_that_never_fills(caplog: pytest.LogCaptureFixture) -> None:
    # Exactly MAX_AHEAD waiting: still waiting for position 1.
    waiting = list(range(2, MAX_AHEAD + 2))
    assert fold(0, waiting[:-1], waiting[-1:]) == (0, waiting)
    # One more: the gap (position 1) is taken as lost, counting resumes past it.
    with caplog.at_level(logging.WARNING, logger="syllabus.positions"):
        assert fold(0, waiting, [MAX_AHEAD + 2]) == (MAX_AHEAD + 2, [])
    assert "never arrived" in caplog.text
    # A skip jumps only the first gap; a later gap is waited for again.
    ahead = [*range(10, 10 + MAX_AHEAD), 20_000]
    assert fold(3, ahead, []) == (9 + MAX_AHEAD, [20_000])


# ---------------------------------------------------------------- seal (PostgreSQL)


async def outbox_positions(kernel: Kernel) -> dict[uuid.UUID, tuple[str, int | None]]:
    ob = kernel.tables.outbox
    async with kernel.db.transaction() as s:
        rows = await s.execute(select(ob.c.id, ob.c.event_type, ob.c.position))
        return {r.id: (r.event_type, r.position) for r in rows}


async def counters(kernel: Kernel) -> dict[str, int]:
    t = kernel.tables.outbox_positions
    async with kernel.db.transaction() as s:
        return {r.event_type: r.position for r in await s.execute(select(t))}


def created() -> ModuleCreated:
    return ModuleCreated(module_id=uuid.uuid4(), title="m", creator_id=uuid.uuid4())


def deleted() -> ModuleDeleted:
    return ModuleDeleted(module_id=uuid.uuid4())


async def test_a_unit_of_work_numbers_its_events_per_type_in_order(kernel: Kernel) -> None:
    uow = UnitOfWork(kernel.db, kernel.outbox)
    collecting = ConsistencyToken()
    reset = written_var.set(collecting)
    try:
        async with uow:
            a = await uow.publish(created(), sequence=1)
            b = await uow.publish(deleted(), sequence=2)
            c, d = await uow.publish_many([(created(), 1), (created(), 1)])
            assert (await outbox_positions(kernel)) == {}  # nothing visible before commit
        async with uow:
            e = await uow.publish(deleted(), sequence=2)
    finally:
        written_var.reset(reset)
    assert await outbox_positions(kernel) == {
        a: (MC, 1),
        c: (MC, 2),
        d: (MC, 3),
        b: (MD, 1),
        e: (MD, 2),
    }
    assert await counters(kernel) == {MC: 3, MD: 2}
    # What the commits produced went into the request's token.
    assert collecting == ConsistencyToken.of_types({MC: 3, MD: 2})


async def test_a_unit_of_work_without_events_takes_no_positions(kernel: Kernel) -> None:
    uow = UnitOfWork(kernel.db, kernel.outbox)
    async with uow:
        await uow.session.execute(insert(kernel.widgets).values(id=uuid.uuid4(), name="w"))
    assert await counters(kernel) == {}
    async with kernel.db.transaction() as session:
        assert await kernel.outbox.seal(session) == {}  # nothing added: no statement


async def test_a_rolled_back_unit_of_work_gives_nothing_and_leaves_nothing(
    kernel: Kernel,
) -> None:
    uow = UnitOfWork(kernel.db, kernel.outbox)
    with pytest.raises(RuntimeError):
        async with uow:
            await uow.publish(created(), sequence=1)
            raise RuntimeError("rule broken")
    async with uow:
        kept = await uow.publish(created(), sequence=1)
    assert await outbox_positions(kernel) == {kept: (MC, 1)}


async def _deferred_unique(kernel: Kernel) -> Table:
    """A table whose unique constraint is checked at COMMIT: a transaction inserting a
    duplicate fails after ``seal`` numbered its events, while it holds the counters."""
    t = Table("commit_check", MetaData(), Column("n", Integer))
    async with kernel.db.engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE commit_check (n integer,"
                " CONSTRAINT commit_check_n UNIQUE (n) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    return t


async def test_a_commit_that_fails_after_sealing_gives_its_positions_back(
    kernel: Kernel,
) -> None:
    check = await _deferred_unique(kernel)
    uow = UnitOfWork(kernel.db, kernel.outbox)
    with pytest.raises(IntegrityError):
        async with uow:
            await uow.publish(created(), sequence=1)
            await uow.session.execute(insert(check).values(n=1))
            await uow.session.execute(insert(check).values(n=1))  # fails only at commit
    async with uow:
        kept = await uow.publish(created(), sequence=1)
    assert await outbox_positions(kernel) == {kept: (MC, 1)}
    assert await counters(kernel) == {MC: 1}


async def test_an_event_rolled_back_with_its_savepoint_leaves_no_gap(kernel: Kernel) -> None:
    """An event added inside a nested transaction (``session.begin_nested()``, as the
    services use for 'a concurrent create may take the same slug') that rolls back is
    not in the outbox at commit: it must not take a position."""
    uow = UnitOfWork(kernel.db, kernel.outbox)
    async with uow:
        first = await uow.publish(created(), sequence=1)
        with pytest.raises(RuntimeError):
            async with uow.session.begin_nested():
                await uow.publish_many([(created(), 1), (deleted(), 1)])
                await uow.publish(created(), sequence=1)
                raise RuntimeError("taken: try again")
        second, third = await uow.publish_many([(created(), 1), (created(), 1)])
    assert await outbox_positions(kernel) == {first: (MC, 1), second: (MC, 2), third: (MC, 3)}
    assert await counters(kernel) == {MC: 3}


async def test_concurrent_writers_get_gap_free_positions_without_deadlock(
    kernel: Kernel,
) -> None:
    """20 transactions at once, each adding 1-3 events of two types in its own order;
    every one has added its events before any commits (so all contend for the two
    counter rows at once). A fifth fail at commit, after sealing. The committed
    positions of each type are exactly 1..N; each transaction's events of a type are
    consecutive, in the order it added them; each commit's token names its highest."""
    check = await _deferred_unique(kernel)
    rng = random.Random(15)
    writers = 20
    everyone_added = asyncio.Barrier(writers)
    plans: list[list[Event]] = []
    for _ in range(writers):
        plan: list[Event] = [created() for _ in range(rng.randint(0, 3))]
        plan += [deleted() for _ in range(rng.randint(0 if plan else 1, 3))]
        rng.shuffle(plan)
        plans.append(plan)
    failing = set(rng.sample(range(writers), writers // 5))

    async def write(index: int) -> tuple[list[uuid.UUID], ConsistencyToken]:
        collecting = ConsistencyToken()
        written_var.set(collecting)  # this task's own context
        uow = UnitOfWork(kernel.db, kernel.outbox)
        async with uow:
            ids = [await uow.publish(event, sequence=1) for event in plans[index]]
            if index in failing:
                await uow.session.execute(insert(check).values(n=index))
                await uow.session.execute(insert(check).values(n=index))
            await everyone_added.wait()
        return ids, collecting

    results = await asyncio.wait_for(
        asyncio.gather(*(write(i) for i in range(writers)), return_exceptions=True), 30
    )
    for index, result in enumerate(results):
        if index in failing:
            assert isinstance(result, IntegrityError), result
        else:
            assert not isinstance(result, BaseException), result  # no deadlock, no error

    rows = await outbox_positions(kernel)
    by_type: dict[str, list[int]] = defaultdict(list)
    for event_type, position in rows.values():
        assert position is not None
        by_type[event_type].append(position)
    committed = [r for i, r in enumerate(results) if i not in failing]
    for event_type in (MC, MD):
        expected = sum(
            1
            for i in range(writers)
            if i not in failing
            for e in plans[i]
            if e.type_name() == event_type
        )
        assert sorted(by_type[event_type]) == list(range(1, expected + 1)), event_type
    assert await counters(kernel) == {t: len(p) for t, p in by_type.items()}

    for result in committed:
        assert not isinstance(result, BaseException)
        ids, token = result
        mine: dict[str, list[int]] = defaultdict(list)
        for event_id in ids:  # in the order the transaction added them
            event_type, position = rows[event_id]
            assert position is not None
            mine[event_type].append(position)
        for positions in mine.values():
            assert positions == list(range(positions[0], positions[0] + len(positions)))
        assert token == ConsistencyToken.of_types({t: p[-1] for t, p in mine.items()})

"""The consistency gate against real PostgreSQL (and NATS for the consumer it waits on):
a request carrying a token waits, bounded, until this service has handled what the
token names of the event types it consumes (docs/events.md, "The wait")."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest_asyncio
from sqlalchemy import event, text
from syllabus_shared.consistency import ConsistencyGate, ProjectionWatcher
from syllabus_shared.consistency_token import ConsistencyToken
from syllabus_shared.contracts.catalog import CourseCreated, ModuleCreated, ModuleUpdated
from syllabus_shared.messaging.consumer import ConsumerOptions, EventConsumer, Subscription
from syllabus_shared.messaging.positions import POSITION_HEADER, advance
from syllabus_shared.unit_of_work import UnitOfWork

from conftest import Kernel

MC, MU, CC = ModuleCreated.type_name(), ModuleUpdated.type_name(), CourseCreated.type_name()
NAME = "gate-from-catalog"


@contextmanager
def counting_queries(kernel: Kernel) -> Iterator[list[str]]:
    """Every statement the kernel's engine (and its autocommit reader) runs meanwhile."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = kernel.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest_asyncio.fixture
async def watcher(kernel: Kernel) -> AsyncIterator[ProjectionWatcher]:
    """A started watcher that only a NOTIFY can wake in time (its poll is 30 s)."""
    w = ProjectionWatcher(kernel.db.url, poll_interval=30.0)
    w.start()
    try:
        await listening(kernel)
        yield w
    finally:
        await w.stop()


async def listening(kernel: Kernel) -> None:
    """Until the watcher's LISTEN is in place (else a NOTIFY before it would be lost)."""
    for _ in range(250):
        async with kernel.db.read() as conn:
            found = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()"
                )
            )
        if found:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the watcher never listened")


def is_gate_read(statement: str) -> bool:
    """The gate's read of consumer positions (the consumer's own read locks its rows)."""
    return "consumer_positions" in statement and "FOR UPDATE" not in statement


async def gate_reads(queries: list[str], n: int) -> None:
    """Until the gate has read the positions ``n`` times."""
    async with asyncio.timeout(5):
        while len([q for q in queries if is_gate_read(q)]) < n:
            await asyncio.sleep(0.005)


def gate(kernel: Kernel, watcher: ProjectionWatcher, wait: float = 5.0) -> ConsistencyGate:
    return ConsistencyGate(
        kernel.db, kernel.tables.consumer_positions, [(NAME, MC), (NAME, MU)], watcher, wait
    )


async def handled(kernel: Kernel, positions: dict[str, list[int]]) -> None:
    async with kernel.db.transaction() as s:
        await advance(s, kernel.tables.consumer_positions, NAME, positions)


def consumer(kernel: Kernel, **options: object) -> EventConsumer:
    async def fine(uow: UnitOfWork, event: ModuleCreated) -> None:
        if event.title == "poison":
            raise ValueError("handler bug")

    sub = Subscription(name=NAME, source="catalog", handlers={ModuleCreated: fine})
    opts = ConsumerOptions(**{"fetch_timeout": 0.2, "backoff": (0.05,), **options})  # type: ignore[arg-type]
    return EventConsumer(
        sub, kernel.db, kernel.outbox, kernel.nats, namespace=kernel.namespace, options=opts
    )


def module_created(title: str = "m") -> ModuleCreated:
    return ModuleCreated(module_id=uuid.uuid4(), title=title, creator_id=uuid.uuid4())


async def test_a_satisfied_token_passes_at_once_and_then_costs_no_query(
    kernel: Kernel, watcher: ProjectionWatcher
) -> None:
    g = gate(kernel, watcher)
    await handled(kernel, {MC: [1, 2, 3, 4, 5], MU: [1]})
    token = ConsistencyToken.of_types({MC: 3, MU: 1})
    with counting_queries(kernel) as cold:
        started = time.monotonic()
        assert await g.wait(token)
        assert time.monotonic() - started < 1.0  # the bound is 5 s
    assert len(cold) == 1 and is_gate_read(cold[0])  # one read of both rows
    with counting_queries(kernel) as warm:
        assert await g.wait(token)
        assert await g.wait(ConsistencyToken.of_types({MC: 5}))  # exactly reached
        assert g.pending(ConsistencyToken.of_types({MC: 5, MU: 1})) == {}
    assert warm == []  # known positions only grow: answered from memory


async def test_a_type_this_service_does_not_consume_is_not_waited_for(
    kernel: Kernel, watcher: ProjectionWatcher
) -> None:
    g = gate(kernel, watcher)
    with counting_queries(kernel) as queries:
        started = time.monotonic()
        assert await g.wait(ConsistencyToken.of_types({CC: 10**9}))
        assert await g.wait(ConsistencyToken.parse("1.deadbeef" + "f" * 15))  # unknown code
        assert await g.wait(ConsistencyToken())
        assert time.monotonic() - started < 0.5
    assert queries == []


async def test_an_unreachable_position_gives_up_after_the_bound(
    kernel: Kernel, watcher: ProjectionWatcher
) -> None:
    g = gate(kernel, watcher, wait=0.3)
    await handled(kernel, {MC: [1, 2]})
    started = time.monotonic()
    assert not await g.wait(ConsistencyToken.of_types({MC: 3}))
    assert 0.25 < time.monotonic() - started < 1.5
    # One entry reached and one not is not enough.
    started = time.monotonic()
    assert not await g.wait(ConsistencyToken.of_types({MC: 2, MU: 1}))
    assert 0.25 < time.monotonic() - started < 1.5


async def test_a_waiting_gate_wakes_when_the_consumer_applies_the_event(
    kernel: Kernel, watcher: ProjectionWatcher
) -> None:
    g = gate(kernel, watcher, wait=60.0)  # nor the bound: only a NOTIFY wakes it in time
    c = consumer(kernel)
    first = kernel.outbox.envelope(module_created(), 1).model_dump_json().encode()
    second = kernel.outbox.envelope(module_created(), 1).model_dump_json().encode()
    token = ConsistencyToken.of_types({MC: 2})
    waiting = asyncio.create_task(g.wait(token))
    try:
        with counting_queries(kernel) as queries:
            await gate_reads(queries, 1)  # it looked and found the position short
            assert await c.apply_payloads([first], [{POSITION_HEADER: "1"}]) == ["applied"]
            await gate_reads(queries, 2)  # woken, looked again: 1 is not enough
            assert not waiting.done()
            assert await c.apply_payloads([second], [{POSITION_HEADER: "2"}]) == ["applied"]
            assert await asyncio.wait_for(waiting, 10)
    finally:
        waiting.cancel()


async def test_a_waiting_gate_wakes_when_the_event_is_dead_lettered(
    kernel: Kernel, watcher: ProjectionWatcher
) -> None:
    """A token naming an event no handler can apply is not held until the bound: its
    dead letter counts it, and the waiting request is told at once."""
    g = gate(kernel, watcher, wait=60.0)  # only a NOTIFY wakes it in time
    uow = UnitOfWork(kernel.db, kernel.outbox)
    async with uow:
        await uow.publish(module_created("poison"), sequence=1)
    assert await kernel.relay().drain() == 1
    c = consumer(kernel, max_attempts=1)
    stop = asyncio.Event()
    with counting_queries(kernel) as queries:
        waiting = asyncio.create_task(g.wait(ConsistencyToken.of_types({MC: 1})))
        await gate_reads(queries, 1)  # waiting before the consumer starts
    running = asyncio.create_task(c.run(stop))
    try:
        assert await asyncio.wait_for(waiting, 10)  # woken by the dead letter's NOTIFY
    finally:
        waiting.cancel()
        stop.set()
        await asyncio.wait_for(running, 5)


def test_a_token_string_once_satisfied_is_remembered() -> None:
    """The request path's shortcut: a token string the gate saw satisfied is answered
    from a set (positions only grow); absent values count as satisfied."""
    gate = ConsistencyGate.__new__(ConsistencyGate)
    gate._satisfied = set()
    assert gate.known_satisfied(None)
    assert not gate.known_satisfied("1.deadbeef1")
    gate.remember_satisfied("1.deadbeef1", None)
    assert gate.known_satisfied("1.deadbeef1")
    assert not gate.known_satisfied("1.deadbeef2")

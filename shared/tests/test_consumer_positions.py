"""Consumer positions end to end, against real PostgreSQL and NATS: the relay publishes
each event's position, the consumer folds what it handled into ``consumer_positions``
in the transaction that applies it (docs/events.md, "Consumer positions")."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
from pydantic import BaseModel
from sqlalchemy import Column, Integer, Table, Text, Uuid, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from syllabus_shared.contracts import Envelope
from syllabus_shared.contracts.catalog import ModuleCreated, ModuleDeleted, ModuleUpdated
from syllabus_shared.messaging.consumer import ConsumerOptions, EventConsumer, Subscription
from syllabus_shared.messaging.positions import POSITION_HEADER
from syllabus_shared.unit_of_work import UnitOfWork

from conftest import Kernel

MC, MU, MD = ModuleCreated.type_name(), ModuleUpdated.type_name(), ModuleDeleted.type_name()
NAME = "positions-from-catalog"

Handler = Callable[[UnitOfWork, ModuleCreated | ModuleUpdated], Awaitable[None]]


async def make_titles(kernel: Kernel) -> Table:
    t = Table(
        "titles",
        kernel.metadata,
        Column("module_id", Uuid, primary_key=True),
        Column("title", Text),
        Column("applied", Integer, nullable=False),
    )
    async with kernel.db.engine.begin() as conn:
        await conn.run_sync(t.create)
    return t


def upsert_title(t: Table) -> Handler:
    async def handle(uow: UnitOfWork, event: ModuleCreated | ModuleUpdated) -> None:
        stmt = pg_insert(t).values(module_id=event.module_id, title=event.title, applied=1)
        await uow.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[t.c.module_id],
                set_={"title": event.title, "applied": t.c.applied + 1},
            )
        )

    return handle


def consumer(kernel: Kernel, handler: Handler, **options: object) -> EventConsumer:
    sub = Subscription(
        name=NAME, source="catalog", handlers={ModuleCreated: handler, ModuleUpdated: handler}
    )
    opts = ConsumerOptions(**{"fetch_timeout": 0.2, "backoff": (0.05,), **options})  # type: ignore[arg-type]
    return EventConsumer(
        sub, kernel.db, kernel.outbox, kernel.nats, namespace=kernel.namespace, options=opts
    )


async def positions(kernel: Kernel, name: str = NAME) -> dict[str, tuple[int, list[int]]]:
    t = kernel.tables.consumer_positions
    async with kernel.db.transaction() as s:
        rows = await s.execute(select(t).where(t.c.consumer == name))
        return {r.event_type: (r.position, list(r.ahead)) for r in rows}


async def titles(kernel: Kernel, t: Table) -> dict[uuid.UUID, tuple[str, int]]:
    async with kernel.db.transaction() as s:
        return {r.module_id: (r.title, r.applied) for r in await s.execute(select(t))}


async def run_until(
    c: EventConsumer, condition: Callable[[], Awaitable[bool]], seconds: float = 10.0
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(c.run(stop))
    try:
        for _ in range(int(seconds / 0.02)):
            if await condition():
                return
            await asyncio.sleep(0.02)
        raise AssertionError("condition not reached in time")
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def write(kernel: Kernel, *events: tuple[BaseModel, int]) -> list[uuid.UUID]:
    """One committed unit of work publishing ``events`` (numbered at its commit)."""
    uow = UnitOfWork(kernel.db, kernel.outbox)
    async with uow:
        return [await uow.publish(e, sequence=s) for e, s in events]  # type: ignore[arg-type]


def created(module_id: uuid.UUID | None = None, title: str = "m") -> ModuleCreated:
    return ModuleCreated(module_id=module_id or uuid.uuid4(), title=title, creator_id=uuid.uuid4())


def payload(
    kernel: Kernel, event: ModuleCreated | ModuleUpdated, sequence: int = 1
) -> tuple[bytes, Envelope]:
    envelope = kernel.outbox.envelope(event, sequence)
    return envelope.model_dump_json().encode(), envelope


def at(position: int) -> dict[str, str]:
    return {POSITION_HEADER: str(position)}


async def test_relayed_events_carry_their_position_and_the_consumer_reaches_the_max(
    kernel: Kernel,
) -> None:
    t = await make_titles(kernel)
    first, second = uuid.uuid4(), uuid.uuid4()
    await write(kernel, (created(first, "a1"), 1), (created(second, "b1"), 1))
    await write(kernel, (ModuleUpdated(module_id=first, title="a2", creator_id=first), 2))
    await write(kernel, (created(title="c1"), 1))
    await write(kernel, (ModuleUpdated(module_id=first, title="a3", creator_id=first), 3))
    assert await kernel.relay().drain() == 5

    ob = kernel.tables.outbox
    async with kernel.db.transaction() as s:
        numbered = {str(r.id): r.position for r in await s.execute(select(ob.c.id, ob.c.position))}
    msgs = await kernel.stream_messages()
    assert len(msgs) == 5
    for msg in msgs:
        assert msg.headers is not None
        assert msg.headers[POSITION_HEADER] == str(numbered[msg.headers["Nats-Msg-Id"]])
    assert sorted(numbered.values()) == [1, 1, 2, 2, 3]  # MC 1..3, MU 1..2

    # The five are in the stream before it starts, so they come as one batch (a starved
    # process, on a loaded machine, could otherwise take the rest in a second fetch).
    c = consumer(kernel, upsert_title(t), follow_up_timeout=10.0)

    async def caught_up() -> bool:
        return await positions(kernel) == {MC: (3, []), MU: (2, [])}

    await run_until(c, caught_up)
    # Reached together with the projection it stands for (one transaction); a1 and a2,
    # superseded by a3 in the same batch, count as handled without their handler running.
    rows = await titles(kernel, t)
    assert len(rows) == 3 and rows[first] == ("a3", 1)


async def test_a_first_event_out_of_order_does_not_pass_the_gap(kernel: Kernel) -> None:
    t = await make_titles(kernel)
    c = consumer(kernel, upsert_title(t))
    one, _ = payload(kernel, created(title="one"))
    two, _ = payload(kernel, created(title="two"))
    assert await c.apply_payloads([two], [at(2)]) == ["applied"]
    assert await positions(kernel) == {MC: (0, [2])}  # 1 not handled yet
    assert await c.apply_payloads([one], [at(1)]) == ["applied"]
    assert await positions(kernel) == {MC: (2, [])}


async def test_out_of_order_deliveries_wait_for_the_gap(kernel: Kernel) -> None:
    t = await make_titles(kernel)
    c = consumer(kernel, upsert_title(t))
    p = [payload(kernel, created(title=f"m{i}"))[0] for i in range(1, 7)]
    assert await c.apply_payloads([p[0]], [at(1)]) == ["applied"]
    assert await positions(kernel) == {MC: (1, [])}
    assert await c.apply_payloads([p[2]], [at(3)]) == ["applied"]
    assert await positions(kernel) == {MC: (1, [3])}  # 2 not handled yet: held at 1
    assert await c.apply_payloads([p[2]], [at(3)]) == ["duplicate"]  # redelivered
    assert await positions(kernel) == {MC: (1, [3])}
    assert await c.apply_payloads([p[1]], [at(2)]) == ["applied"]
    assert await positions(kernel) == {MC: (3, [])}  # the gap filled
    # One batch, out of order: folded together.
    assert await c.apply_payloads([p[5], p[3], p[4]], [at(6), at(4), at(5)]) == ["applied"] * 3
    assert await positions(kernel) == {MC: (6, [])}
    assert len(await titles(kernel, t)) == 6


async def test_duplicates_and_stale_events_count_as_handled(kernel: Kernel) -> None:
    t = await make_titles(kernel)
    c = consumer(kernel, upsert_title(t))
    mid = uuid.uuid4()
    newer, _ = payload(kernel, ModuleUpdated(module_id=mid, title="v3", creator_id=mid), 3)
    older, _ = payload(kernel, ModuleUpdated(module_id=mid, title="v2", creator_id=mid), 2)
    assert await c.apply_payloads([newer], [at(1)]) == ["applied"]
    assert await c.apply_payloads([older], [at(2)]) == ["stale"]
    assert await positions(kernel) == {MU: (2, [])}
    # The same event delivered again (a redelivery carries its own position again).
    assert await c.apply_payloads([newer], [at(1)]) == ["duplicate"]
    assert await positions(kernel) == {MU: (2, [])}
    assert (await titles(kernel, t))[mid] == ("v3", 1)


async def test_events_without_a_position_leave_positions_alone(kernel: Kernel) -> None:
    """Events published before positions existed (no header) are applied, not counted."""
    t = await make_titles(kernel)
    c = consumer(kernel, upsert_title(t))
    old, _ = payload(kernel, created(title="old"))
    odd, _ = payload(kernel, created(title="odd"))
    assert await c.apply_payloads([old]) == ["applied"]
    assert await c.apply_payloads([odd], [{POSITION_HEADER: "x1"}]) == ["applied"]
    assert await positions(kernel) == {}


async def test_a_failed_batch_counts_nothing_and_gives_its_positions_back(
    kernel: Kernel,
) -> None:
    """The consumer advances its position and numbers what its handlers published in the
    batch's transaction: a failure before commit undoes both."""

    class Crash(Exception):
        pass

    async def publish_deleted(uow: UnitOfWork, event: ModuleCreated | ModuleUpdated) -> None:
        async with uow:  # joins the batch's transaction, as a service function would
            await uow.publish(ModuleDeleted(module_id=event.module_id), sequence=2)

    c = consumer(kernel, publish_deleted)
    crashing = {"on": True}

    async def fault(point: str) -> None:
        if point == "consumer.before_commit" and crashing["on"]:
            raise Crash

    c.fault = fault
    event, _ = payload(kernel, created())
    with pytest.raises(Crash):
        await c.apply_payloads([event], [at(1)])
    assert await positions(kernel) == {}
    crashing["on"] = False
    assert await c.apply_payloads([event], [at(1)]) == ["applied"]
    assert await positions(kernel) == {MC: (1, [])}
    ob = kernel.tables.outbox
    async with kernel.db.transaction() as s:
        published = (await s.execute(select(ob.c.event_type, ob.c.position))).all()
    assert [tuple(r) for r in published] == [(MD, 1)]  # numbered by the consumer, no gap


async def test_a_dead_lettered_event_advances_the_position(kernel: Kernel) -> None:
    t = await make_titles(kernel)
    good = upsert_title(t)
    attempts: list[str] = []

    async def flaky(uow: UnitOfWork, event: ModuleCreated | ModuleUpdated) -> None:
        if event.title == "poison":
            attempts.append(event.title)
            raise ValueError("handler bug")
        await good(uow, event)

    await write(kernel, (created(title="ok1"), 1))
    await write(kernel, (created(title="poison"), 1))
    await write(kernel, (created(title="ok3"), 1))
    assert await kernel.relay().drain() == 3
    c = consumer(kernel, flaky, max_attempts=2)

    async def dead_lettered_and_counted() -> bool:
        async with kernel.db.transaction() as s:
            letters = await s.scalar(select(func.count()).select_from(kernel.tables.dead_letters))
        return bool(letters) and await positions(kernel) == {MC: (3, [])}

    await run_until(c, dead_lettered_and_counted)
    assert attempts == ["poison", "poison"]
    assert sorted(title for title, _ in (await titles(kernel, t)).values()) == ["ok1", "ok3"]


async def test_a_malformed_event_of_a_handled_type_is_dead_lettered_and_counted(
    kernel: Kernel,
) -> None:
    """Its envelope names a type this consumer handles but its data can never be read:
    dead-lettered at once, and its position counts (a token naming it is not held)."""
    t = await make_titles(kernel)
    envelope = kernel.outbox.envelope(created(), 1)
    broken = envelope.model_copy(update={"data": {"module_id": "not a uuid"}})
    js = kernel.nc.jetstream()
    await js.publish(
        f"{kernel.namespace}.catalog.module.ModuleCreated",
        broken.model_dump_json().encode(),
        headers={"Nats-Msg-Id": str(envelope.id), **at(1)},
    )
    c = consumer(kernel, upsert_title(t))

    async def counted() -> bool:
        return await positions(kernel) == {MC: (1, [])}

    await run_until(c, counted)
    async with kernel.db.transaction() as s:
        letter = (await s.execute(select(kernel.tables.dead_letters))).one()
    assert letter.event_type == MC and "malformed" in letter.error

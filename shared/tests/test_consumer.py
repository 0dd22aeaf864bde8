"""The idempotent consumer runner against real PostgreSQL and NATS (RELIABILITY.md 3-6)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import Column, Integer, Table, Text, Uuid, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from syllabus_shared.contracts import Envelope
from syllabus_shared.contracts.catalog import ModuleCreated, ModuleDeleted, ModuleUpdated
from syllabus_shared.messaging.consumer import ConsumerOptions, EventConsumer, Subscription
from syllabus_shared.messaging.outbox import subject_for
from syllabus_shared.unit_of_work import UnitOfWork

from conftest import Kernel

Handler = Callable[[UnitOfWork, ModuleCreated | ModuleUpdated], Awaitable[None]]


def projection(kernel: Kernel) -> Table:
    """A consumer-side projection: module titles, plus how often the handler ran."""
    return kernel.metadata.tables["module_titles"]


async def make_projection(kernel: Kernel) -> Table:
    t = Table(
        "module_titles",
        kernel.metadata,
        Column("module_id", Uuid, primary_key=True),
        Column("title", Text),
        Column("applied", Integer, nullable=False),
    )
    async with kernel.db.engine.begin() as conn:
        await conn.run_sync(t.create)
    return t


def consumer(
    kernel: Kernel, handler: Handler, deleted: Handler | None = None, **options: object
) -> EventConsumer:
    async def on_deleted(uow: UnitOfWork, event: ModuleDeleted) -> None:
        t = projection(kernel)
        await uow.session.execute(t.delete().where(t.c.module_id == event.module_id))

    sub = Subscription(
        name="test-from-catalog",
        source="catalog",
        handlers={
            ModuleCreated: handler,
            ModuleUpdated: handler,
            ModuleDeleted: deleted or on_deleted,
        },
    )
    opts = ConsumerOptions(**{"fetch_timeout": 0.2, "backoff": (0.05,), **options})  # type: ignore[arg-type]
    return EventConsumer(
        sub, kernel.db, kernel.outbox, kernel.nats, namespace=kernel.namespace, options=opts
    )


def upsert_title(kernel: Kernel) -> Handler:
    async def handle(uow: UnitOfWork, event: ModuleCreated | ModuleUpdated) -> None:
        t = projection(kernel)
        stmt = pg_insert(t).values(module_id=event.module_id, title=event.title, applied=1)
        await uow.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[t.c.module_id],
                set_={"title": event.title, "applied": t.c.applied + 1},
            )
        )

    return handle


async def publish(
    kernel: Kernel,
    event: ModuleCreated | ModuleUpdated | ModuleDeleted,
    sequence: int,
    *,
    msg_id: str | None = None,
    envelope: Envelope | None = None,
) -> Envelope:
    envelope = envelope or kernel.outbox.envelope(event, sequence)
    await kernel.nc.jetstream().publish(
        subject_for(kernel.namespace, type(event)),
        envelope.model_dump_json().encode(),
        headers={"Nats-Msg-Id": msg_id or str(uuid.uuid4())},
    )
    return envelope


async def run_until(
    c: EventConsumer, condition: Callable[[], Awaitable[bool]], seconds: float = 5.0
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(c.run(stop))
    try:
        for _ in range(int(seconds / 0.05)):
            if await condition():
                return
            await asyncio.sleep(0.05)
        raise AssertionError("condition not reached in time")
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def rows(kernel: Kernel) -> dict[uuid.UUID, tuple[str, int]]:
    t = projection(kernel)
    async with kernel.db.transaction() as s:
        return {r.module_id: (r.title, r.applied) for r in (await s.execute(select(t))).all()}


async def test_event_delivered_three_times_is_applied_once(kernel: Kernel) -> None:
    await make_projection(kernel)
    mid, creator = uuid.uuid4(), uuid.uuid4()
    env = await publish(kernel, ModuleCreated(module_id=mid, title="A", creator_id=creator), 1)
    # The same event twice more, past the stream's dedupe (as after a window expiry or replay).
    await publish(
        kernel, ModuleCreated(module_id=mid, title="A", creator_id=creator), 1, envelope=env
    )
    await publish(
        kernel, ModuleCreated(module_id=mid, title="A", creator_id=creator), 1, envelope=env
    )
    later = ModuleUpdated(module_id=mid, title="B", creator_id=creator)
    await publish(kernel, later, 2)
    c = consumer(kernel, upsert_title(kernel))
    await run_until(c, lambda: _title_is(kernel, mid, "B"))
    # All four came in one batch: A recorded once (the copies are duplicates) and
    # superseded by B, the newest state of the same module: one handler run in all.
    assert (await rows(kernel))[mid] == ("B", 1)
    async with kernel.db.transaction() as s:
        inbox = kernel.tables.inbox
        recorded = await s.scalar(select(func.count()).select_from(inbox))
    assert recorded == 2  # A and B, each once


async def _title_is(kernel: Kernel, mid: uuid.UUID, title: str) -> bool:
    return (await rows(kernel)).get(mid, ("", 0))[0] == title


async def test_out_of_order_events_never_regress(kernel: Kernel) -> None:
    await make_projection(kernel)
    mid, creator = uuid.uuid4(), uuid.uuid4()
    await publish(kernel, ModuleUpdated(module_id=mid, title="v3", creator_id=creator), 3)
    await publish(kernel, ModuleCreated(module_id=mid, title="v1", creator_id=creator), 1)
    await publish(kernel, ModuleUpdated(module_id=mid, title="v2", creator_id=creator), 2)
    other = uuid.uuid4()
    await publish(kernel, ModuleCreated(module_id=other, title="done", creator_id=creator), 1)
    c = consumer(kernel, upsert_title(kernel))
    await run_until(c, lambda: _title_is(kernel, other, "done"))
    assert (await rows(kernel))[mid] == ("v3", 1)


async def test_delete_then_late_create_stays_deleted(kernel: Kernel) -> None:
    await make_projection(kernel)
    mid, creator, marker = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await publish(kernel, ModuleDeleted(module_id=mid), 2)
    await publish(kernel, ModuleCreated(module_id=mid, title="zombie", creator_id=creator), 1)
    await publish(kernel, ModuleCreated(module_id=marker, title="marker", creator_id=creator), 1)
    c = consumer(kernel, upsert_title(kernel))
    await run_until(c, lambda: _title_is(kernel, marker, "marker"))
    assert mid not in await rows(kernel)


async def test_failing_handler_is_retried_then_dead_lettered_and_replayable(kernel: Kernel) -> None:
    await make_projection(kernel)
    attempts: list[str] = []
    good = upsert_title(kernel)
    broken = {"on": True}

    async def flaky(uow: UnitOfWork, event: ModuleCreated | ModuleUpdated) -> None:
        if event.title == "poison" and broken["on"]:
            attempts.append(event.title)
            raise ValueError("handler bug")
        await good(uow, event)

    creator = uuid.uuid4()
    bad, after = uuid.uuid4(), uuid.uuid4()
    await publish(kernel, ModuleCreated(module_id=bad, title="poison", creator_id=creator), 1)
    await publish(kernel, ModuleCreated(module_id=after, title="after", creator_id=creator), 1)
    c = consumer(kernel, flaky, max_attempts=3)

    async def dead_lettered() -> bool:
        async with kernel.db.transaction() as s:
            return bool(
                await s.scalar(select(func.count()).select_from(kernel.tables.dead_letters))
            )

    await run_until(c, dead_lettered)
    assert len(attempts) == 3  # retried up to the limit, then parked
    assert await _title_is(kernel, after, "after")  # later events still apply
    assert bad not in await rows(kernel)
    async with kernel.db.transaction() as s:
        dl = (await s.execute(select(kernel.tables.dead_letters))).one()
    assert (
        dl.deliveries == 3
        and "handler bug" in dl.error
        and dl.event_type.endswith("ModuleCreated.v1")
    )

    broken["on"] = False  # the fix ships
    assert await c.replay_dead_letters() == (1, 0)
    assert (await rows(kernel))[bad] == ("poison", 1)
    assert await c.replay_dead_letters() == (0, 0)  # replayed rows are marked, not replayed twice


async def test_a_fetched_batch_commits_once_and_a_failure_stays_its_own(kernel: Kernel) -> None:
    """The live path applies a fetch in one transaction; when one event's handler fails,
    the others apply one by one and the failing one is failed once, as if alone."""
    await make_projection(kernel)
    creator = uuid.uuid4()
    a, b, c_id, bad = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await publish(kernel, ModuleCreated(module_id=a, title="a1", creator_id=creator), 1)
    await publish(kernel, ModuleCreated(module_id=b, title="b1", creator_id=creator), 1)
    await publish(kernel, ModuleUpdated(module_id=a, title="a2", creator_id=creator), 2)
    c = consumer(kernel, upsert_title(kernel))
    psub = await c.setup()
    msgs = await psub.fetch(3, timeout=2)
    # a1 is superseded by a2 (same module, newer) in the same batch: not run, but handled.
    assert await c.process_batch(msgs) == ["stale", "applied", "applied"]
    assert (await rows(kernel))[a] == ("a2", 1)
    async with kernel.db.transaction() as s:
        transactions = await s.scalar(
            select(func.count(func.distinct(text("xmin::text")))).select_from(kernel.tables.inbox)
        )
    assert transactions == 1  # one commit for the three

    calls: list[str] = []
    good = upsert_title(kernel)

    async def flaky(uow: UnitOfWork, event: ModuleCreated | ModuleUpdated) -> None:
        calls.append(event.title)
        if event.title == "poison":
            raise ValueError("handler bug")
        await good(uow, event)

    first = await publish(kernel, ModuleCreated(module_id=c_id, title="c1", creator_id=creator), 1)
    await publish(kernel, ModuleCreated(module_id=bad, title="poison", creator_id=creator), 1)
    await publish(kernel, ModuleUpdated(module_id=b, title="b2", creator_id=creator), 2)
    await publish(
        kernel, ModuleCreated(module_id=c_id, title="c1", creator_id=creator), 1, envelope=first
    )
    await publish(kernel, ModuleUpdated(module_id=a, title="stale", creator_id=creator), 1)
    c2 = consumer(kernel, flaky)
    msgs = await psub.fetch(5, timeout=2)
    assert await c2.process_batch(msgs) == ["applied", "retry", "applied", "duplicate", "stale"]
    assert calls.count("poison") == 1  # failed once, not re-run alone
    assert (await rows(kernel))[b] == ("b2", 2) and bad not in await rows(kernel)
    redelivered = await psub.fetch(1, timeout=2)  # nak'd with backoff: back it comes
    assert redelivered[0].metadata.num_delivered == 2


async def test_malformed_message_is_dead_lettered_at_once(kernel: Kernel) -> None:
    await make_projection(kernel)
    js = kernel.nc.jetstream()
    await js.publish(
        f"{kernel.namespace}.catalog.module.ModuleCreated",
        b"{not json",
        headers={"Nats-Msg-Id": "x1"},
    )
    good = uuid.uuid4()
    await publish(kernel, ModuleCreated(module_id=good, title="fine", creator_id=uuid.uuid4()), 1)
    c = consumer(kernel, upsert_title(kernel))
    await run_until(c, lambda: _title_is(kernel, good, "fine"))
    async with kernel.db.transaction() as s:
        dl = (await s.execute(select(kernel.tables.dead_letters))).one()
    assert dl.deliveries == 1 and "malformed envelope" in dl.error


async def test_crash_after_commit_before_ack_applies_nothing_twice(kernel: Kernel) -> None:
    await make_projection(kernel)
    mid = uuid.uuid4()
    await publish(kernel, ModuleCreated(module_id=mid, title="once", creator_id=uuid.uuid4()), 1)

    class Crash(BaseException):
        """Escapes the runner like a killed process would: no ack, no nak."""

    async def crash(point: str) -> None:
        if point == "consumer.before_ack":
            raise Crash

    c = consumer(kernel, upsert_title(kernel), ack_wait=1.0)
    c.fault = crash
    psub = await c.setup()
    msgs = await psub.fetch(1, timeout=2)
    with contextlib.suppress(Crash):
        await c.process_batch(msgs[:1])
    assert (await rows(kernel))[mid] == ("once", 1)  # committed, never acked
    # Redelivered after AckWait to a healthy consumer: the inbox makes it a no-op.
    healthy = consumer(kernel, upsert_title(kernel), ack_wait=1.0)
    psub2 = await healthy.setup()
    redelivered = await psub2.fetch(1, timeout=5)
    assert redelivered[0].metadata.num_delivered == 2
    assert await healthy.process_batch(redelivered[:1]) == ["duplicate"]
    assert (await rows(kernel))[mid] == ("once", 1)


async def test_crash_before_commit_applies_once_after_redelivery(kernel: Kernel) -> None:
    await make_projection(kernel)
    mid = uuid.uuid4()
    await publish(kernel, ModuleCreated(module_id=mid, title="once", creator_id=uuid.uuid4()), 1)

    class Crash(BaseException):
        pass

    async def crash(point: str) -> None:
        if point == "consumer.before_commit":
            raise Crash

    c = consumer(kernel, upsert_title(kernel), ack_wait=1.0)
    c.fault = crash
    psub = await c.setup()
    msgs = await psub.fetch(1, timeout=2)
    with contextlib.suppress(Crash):
        await c.process_batch(msgs[:1])
    assert mid not in await rows(kernel)  # rolled back: nothing half-applied
    healthy = consumer(kernel, upsert_title(kernel), ack_wait=1.0)
    await run_until(healthy, lambda: _title_is(kernel, mid, "once"))
    assert (await rows(kernel))[mid] == ("once", 1)


async def test_consumer_config_is_created_explicitly_and_corrected(kernel: Kernel) -> None:
    c = consumer(kernel, upsert_title(kernel), max_ack_pending=50)
    await c.setup()
    js = kernel.nc.jetstream()
    info = await js.consumer_info(c.stream, c.durable)
    assert info.config.max_deliver == c.options.server_max_deliver
    assert info.config.max_ack_pending == 50
    assert str(getattr(info.config.ack_policy, "value", info.config.ack_policy)) == "explicit"
    changed = consumer(kernel, upsert_title(kernel), max_ack_pending=70)
    await changed.setup()
    assert (await js.consumer_info(c.stream, c.durable)).config.max_ack_pending == 70


async def test_caught_up_pause_and_the_caught_up_hook(kernel: Kernel) -> None:
    """``caught_up()`` is true only while the consumer runs, is not paused and has
    nothing pending; the hook fires after a batch that left nothing pending; a paused
    consumer applies nothing (what an in-flight fetch brings back is redelivered later)."""
    await make_projection(kernel)
    c = consumer(kernel, upsert_title(kernel))
    assert not await c.caught_up()  # not running
    hooked: list[int] = []
    c.on_caught_up(lambda: hooked.append(1))
    stop = asyncio.Event()
    task = asyncio.create_task(c.run(stop))
    try:
        await asyncio.wait_for(c.ready.wait(), 5)
        first = uuid.uuid4()
        await publish(kernel, ModuleCreated(module_id=first, title="A", creator_id=first), 1)
        for _ in range(100):
            if first in await rows(kernel) and hooked and await c.caught_up():
                break
            await asyncio.sleep(0.05)
        assert hooked and await c.caught_up()

        c.pause()
        assert c.paused and not await c.caught_up()
        second = uuid.uuid4()
        await publish(kernel, ModuleCreated(module_id=second, title="B", creator_id=second), 1)
        await asyncio.sleep(0.6)  # longer than a fetch: an in-flight fetch came back
        assert second not in await rows(kernel)
        assert not await c.caught_up()

        c.resume()
        for _ in range(100):
            if second in await rows(kernel) and await c.caught_up():
                break
            await asyncio.sleep(0.05)
        assert second in await rows(kernel) and await c.caught_up()
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_consecutive_events_of_a_type_with_a_batch_handler_are_applied_in_one_call(
    kernel: Kernel,
) -> None:
    """A batch handler gets each run of consecutive due events of its type (the newest of
    each aggregate, in delivery order) in one call; a lone event goes to the handler."""
    await make_projection(kernel)
    creator = uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(4)]
    calls: list[list[str]] = []
    one = upsert_title(kernel)

    async def single(uow: UnitOfWork, event: ModuleCreated | ModuleUpdated) -> None:
        calls.append([event.title])
        await one(uow, event)

    async def many(uow: UnitOfWork, events: list[ModuleCreated]) -> None:
        calls.append([e.title for e in events])
        for event in events:
            await one(uow, event)

    sub = Subscription(
        name="test-from-catalog",
        source="catalog",
        handlers={ModuleCreated: single, ModuleUpdated: single},
        many={ModuleCreated: many},
    )
    c = EventConsumer(sub, kernel.db, kernel.outbox, kernel.nats, namespace=kernel.namespace)
    await publish(kernel, ModuleCreated(module_id=ids[0], title="a", creator_id=creator), 1)
    await publish(kernel, ModuleCreated(module_id=ids[1], title="b", creator_id=creator), 1)
    await publish(kernel, ModuleUpdated(module_id=ids[0], title="a2", creator_id=creator), 2)
    await publish(kernel, ModuleCreated(module_id=ids[2], title="c", creator_id=creator), 1)
    await publish(kernel, ModuleCreated(module_id=ids[3], title="d", creator_id=creator), 1)
    psub = await c.setup()
    msgs = await psub.fetch(5, timeout=2)
    assert await c.process_batch(msgs) == ["stale", "applied", "applied", "applied", "applied"]
    # "a" is superseded by "a2"; "b" is then a run of one (handler); "c", "d" one call.
    assert calls == [["b"], ["a2"], ["c", "d"]]
    assert {mid: title for mid, (title, _) in (await rows(kernel)).items()} == {
        ids[0]: "a2",
        ids[1]: "b",
        ids[2]: "c",
        ids[3]: "d",
    }


async def test_a_failing_batch_handler_falls_back_to_each_event_alone(kernel: Kernel) -> None:
    """When the batch call fails, the batch is rolled back and each event is applied
    alone through its handler: only the bad one fails."""
    await make_projection(kernel)
    creator = uuid.uuid4()
    one = upsert_title(kernel)

    async def single(uow: UnitOfWork, event: ModuleCreated | ModuleUpdated) -> None:
        if event.title == "poison":
            raise ValueError("handler bug")
        await one(uow, event)

    async def many(uow: UnitOfWork, events: list[ModuleCreated]) -> None:
        for event in events:
            await single(uow, event)

    sub = Subscription(
        name="test-from-catalog",
        source="catalog",
        handlers={ModuleCreated: single},
        many={ModuleCreated: many},
    )
    c = EventConsumer(
        sub,
        kernel.db,
        kernel.outbox,
        kernel.nats,
        namespace=kernel.namespace,
        options=ConsumerOptions(backoff=(0.05,)),
    )
    good, bad = uuid.uuid4(), uuid.uuid4()
    await publish(kernel, ModuleCreated(module_id=good, title="fine", creator_id=creator), 1)
    await publish(kernel, ModuleCreated(module_id=bad, title="poison", creator_id=creator), 1)
    psub = await c.setup()
    msgs = await psub.fetch(2, timeout=2)
    assert await c.process_batch(msgs) == ["applied", "retry"]
    assert set(await rows(kernel)) == {good}


def test_a_batch_handler_needs_a_handler_for_its_type() -> None:
    async def many(uow: UnitOfWork, events: list[ModuleCreated]) -> None:
        return None

    with pytest.raises(ValueError, match="without a handler"):
        Subscription(name="x", source="catalog", handlers={}, many={ModuleCreated: many})

"""Outbox and relay against real PostgreSQL and NATS (RELIABILITY.md items 1, 2)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from nats.errors import NoRespondersError
from nats.js.api import DiscardPolicy, StreamConfig
from nats.js.errors import APIError, NoStreamResponseError
from sqlalchemy import func, insert, select
from syllabus_shared.contracts.catalog import ModuleCreated
from syllabus_shared.faults import InjectedFault
from syllabus_shared.messaging.nats_link import PublishBatch

from conftest import Kernel


def module_created(title: str = "m") -> ModuleCreated:
    return ModuleCreated(module_id=uuid.uuid4(), title=title, creator_id=uuid.uuid4())


async def count(k: Kernel, table: str) -> int:
    async with k.db.transaction() as s:
        t = k.widgets if table == "widgets" else k.tables.outbox
        return int(await s.scalar(select(func.count()).select_from(t)) or 0)


async def test_state_and_outbox_commit_together_or_not_at_all(kernel: Kernel) -> None:
    with pytest.raises(RuntimeError):
        async with kernel.db.transaction() as s:
            await s.execute(insert(kernel.widgets).values(id=uuid.uuid4(), name="lost"))
            await kernel.outbox.add(s, module_created(), sequence=1)
            raise RuntimeError("failure between the change and the commit")
    assert await count(kernel, "widgets") == 0
    assert await count(kernel, "outbox") == 0

    async with kernel.db.transaction() as s:
        await s.execute(insert(kernel.widgets).values(id=uuid.uuid4(), name="kept"))
        await kernel.outbox.add(s, module_created(), sequence=1)
    assert await count(kernel, "widgets") == 1
    assert await count(kernel, "outbox") == 1


async def test_relay_publishes_each_event_once_with_msg_id(kernel: Kernel) -> None:
    ids = []
    async with kernel.db.transaction() as s:
        for i in range(5):
            ids.append(await kernel.outbox.add(s, module_created(f"m{i}"), sequence=1))
    assert await kernel.relay().drain() == 5
    assert await kernel.relay().drain() == 0  # nothing left unpublished
    msgs = await kernel.stream_messages()
    assert [m.headers["Nats-Msg-Id"] for m in msgs if m.headers] == [str(i) for i in ids]
    envelope = json.loads(msgs[0].data)
    assert envelope["specversion"] == "1.0"
    assert envelope["type"] == "syllabus.catalog.ModuleCreated.v1"
    assert envelope["aggregatetype"] == "module" and envelope["sequence"] == 1
    assert msgs[0].subject == f"{kernel.namespace}.catalog.module.ModuleCreated"


async def test_a_backlog_is_drained_by_batches_in_flight_together_each_event_once(
    kernel: Kernel,
) -> None:
    """Pipelined: with a backlog, two batches are in flight at once (each skips the rows
    the other holds); every row is published once and marked, whatever the order."""
    ids = []
    async with kernel.db.transaction() as s:
        for i in range(23):
            ids.append(await kernel.outbox.add(s, module_created(f"m{i}"), sequence=1))
    relay = kernel.relay(batch_size=5, lanes=2)
    assert await relay.drain() == 23
    assert await relay.drain() == 0
    msgs = await kernel.stream_messages()
    published = [m.headers["Nats-Msg-Id"] for m in msgs if m.headers]
    assert sorted(published) == sorted(str(i) for i in ids)  # each once, none lost
    async with kernel.db.transaction() as s:
        ob = kernel.tables.outbox
        unmarked = await s.scalar(
            select(func.count()).select_from(ob).where(ob.c.published_at.is_(None))
        )
    assert unmarked == 0


async def test_a_failing_lane_stops_the_pass_and_nothing_is_lost(kernel: Kernel) -> None:
    """A publish failing in one lane ends the whole pass with that error (the other lane
    is cancelled, its transaction rolled back); the next pass publishes the rest."""
    async with kernel.db.transaction() as s:
        for i in range(12):
            await kernel.outbox.add(s, module_created(f"m{i}"), sequence=1)
    calls = 0

    async def fail_the_third_pass(point: str) -> None:
        nonlocal calls
        if point == "relay.after_publish":
            calls += 1
            if calls == 3:
                raise InjectedFault(point)

    relay = kernel.relay(batch_size=3, lanes=2, fault=fail_the_third_pass)
    with pytest.raises(InjectedFault):
        await relay.drain()
    left = await unpublished(kernel)
    assert 0 < left < 12  # some batches committed, the failed one did not
    assert await kernel.relay(batch_size=3).drain() == left
    assert await unpublished(kernel) == 0
    msgs = await kernel.stream_messages()
    ids = {m.headers["Nats-Msg-Id"] for m in msgs if m.headers}
    assert len(ids) == 12  # every event on the stream, duplicates dropped by Nats-Msg-Id


async def unpublished(k: Kernel) -> int:
    async with k.db.transaction() as s:
        ob = k.tables.outbox
        return int(
            await s.scalar(select(func.count()).select_from(ob).where(ob.c.published_at.is_(None)))
            or 0
        )


async def test_relay_crash_between_publish_and_mark_does_not_duplicate(kernel: Kernel) -> None:
    async with kernel.db.transaction() as s:
        for i in range(3):
            await kernel.outbox.add(s, module_created(f"m{i}"), sequence=1)

    async def crash(point: str) -> None:
        if point == "relay.after_publish":
            raise InjectedFault(point)

    with pytest.raises(InjectedFault):
        await kernel.relay(fault=crash).publish_batch()
    # Published, but the mark rolled back: the rows are still pending.
    async with kernel.db.transaction() as s:
        pending = await s.scalar(
            select(func.count())
            .select_from(kernel.tables.outbox)
            .where(kernel.tables.outbox.c.published_at.is_(None))
        )
    assert pending == 3
    assert len(await kernel.stream_messages()) == 3

    assert await kernel.relay().drain() == 3  # the restarted relay publishes again...
    assert len(await kernel.stream_messages()) == 3  # ...and the stream drops the duplicates


async def test_relay_never_skips_a_row_that_commits_late(kernel: Kernel) -> None:
    early = kernel.db.sessions()
    await early.begin()
    late_id = await kernel.outbox.add(early, module_created("late"), sequence=1)  # uncommitted
    async with kernel.db.transaction() as s:
        await kernel.outbox.add(s, module_created("quick"), sequence=1)
    assert await kernel.relay().drain() == 1
    await early.commit()
    await early.close()
    assert await kernel.relay().drain() == 1
    ids = [m.headers["Nats-Msg-Id"] for m in await kernel.stream_messages() if m.headers]
    assert str(late_id) in ids and len(ids) == 2


async def test_relay_wakes_on_notify_without_polling(kernel: Kernel) -> None:
    relay = kernel.relay(poll_interval=60.0)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.sleep(0.3)  # let it LISTEN and go idle on an empty outbox
        async with kernel.db.transaction() as s:
            await kernel.outbox.add(s, module_created(), sequence=1)
        for _ in range(100):
            if await kernel.stream_messages():
                break
            await asyncio.sleep(0.02)
        assert len(await kernel.stream_messages()) == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_relay_keeps_rows_while_nats_rejects_and_recovers(kernel: Kernel) -> None:
    # Publishing to a subject no stream captures fails (no responders): rows stay pending.
    async with kernel.db.transaction() as s:
        await kernel.outbox.add(s, module_created(), sequence=1)
    await kernel.nc.jetstream().delete_stream(kernel.stream)
    with pytest.raises(Exception, match="publishes failed"):
        await kernel.relay().publish_batch()
    async with kernel.db.transaction() as s:
        row = (await s.execute(select(kernel.tables.outbox))).one()
    assert row.published_at is None and row.attempts == 1 and row.last_error
    from syllabus_shared.messaging.nats_link import ensure_stream

    await ensure_stream(kernel.nc.jetstream(), kernel.stream, [f"{kernel.namespace}.catalog.>"])
    assert await kernel.relay().drain() == 1


async def test_many_events_at_once_are_published_like_single_ones(kernel: Kernel) -> None:
    async with kernel.db.transaction() as s:
        assert await kernel.outbox.add_many(s, []) == []
        ids = await kernel.outbox.add_many(s, [(module_created(f"m{i}"), 1) for i in range(3)])
    assert await count(kernel, "outbox") == 3
    assert await kernel.relay().drain() == 3
    msgs = await kernel.stream_messages()
    assert [m.headers["Nats-Msg-Id"] for m in msgs if m.headers] == [str(i) for i in ids]


async def test_unanswered_publishes_time_out_and_free_their_slots(kernel: Kernel) -> None:
    """Acknowledgements that never come (a subscriber that does not answer, like a stream
    mid-election) end the batch at publish_timeout with a TimeoutError each, and no
    pending publish is kept."""
    silent = await kernel.nc.subscribe("silent.>")  # takes the messages, never answers
    # The server must know the subscriber before the publishes come, or they are answered
    # at once with "no responders" (a race seen with the other test lane loading the CPU).
    await kernel.nc.flush()
    # And the relay's own connection must see that interest (under load it was seen to
    # answer the first publishes "no responders"): a probe request that times out (nobody
    # answers, but somebody listens) says it does.
    publisher_nc = kernel.nats.nc
    assert publisher_nc is not None
    for _ in range(100):
        try:
            await publisher_nc.request("silent.probe", b"", timeout=0.05)
        except NoRespondersError:
            await asyncio.sleep(0.02)
            continue
        except TimeoutError:
            break
    try:
        relay = kernel.relay(publish_timeout=0.3)
        js = await kernel.nats.publisher()
        results = await relay._publish_all(js, [("silent.x", b"{}", {}) for _ in range(10)])
        assert all(isinstance(r, TimeoutError) for r in results) and len(results) == 10, [
            repr(r) for r in results
        ]
        assert js.pending() == 0  # the abandoned acknowledgements are forgotten

        # A pass cancelled while it waits (its other lane failed) frees them too: here
        # wait_for cancels it long before its own 30 s bound.
        relay = kernel.relay(publish_timeout=30)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(
                relay._publish_all(js, [("silent.y", b"{}", {}) for _ in range(10)]), 0.3
            )
        assert js.pending() == 0
    finally:
        await silent.unsubscribe()


async def test_acknowledgements_carry_the_sequence_or_the_streams_refusal(kernel: Kernel) -> None:
    """The relay's publisher: a stream's acknowledgement is its sequence, a duplicate id's
    the first one's, a subject no stream takes NoStreamResponseError; the batch is done
    once sealed and answered, and nothing stays pending."""
    js = await kernel.nats.publisher()
    subject = f"{kernel.namespace}.catalog.probe"
    batch = PublishBatch()
    await js.publish(batch, subject, b"{}", {"Nats-Msg-Id": "probe-1"})
    await js.publish(batch, subject, b"{}", {"Nats-Msg-Id": "probe-2"})
    await js.publish(batch, subject, b"{}", {"Nats-Msg-Id": "probe-1"})
    await js.publish(batch, "nostream.probe", b"{}", {})
    await asyncio.sleep(0.2)
    assert not batch.done.done()  # not sealed: more may come
    batch.seal()
    await asyncio.wait_for(batch.done, 5)
    first, second, again, nowhere = batch.results
    assert isinstance(first, int) and second == first + 1
    assert again == first  # the duplicate window
    assert isinstance(nowhere, NoStreamResponseError)
    assert js.pending() == 0


async def test_a_streams_refusal_answers_its_message_at_once(kernel: Kernel) -> None:
    """A stream that refuses a message (here: full, discard new) answers it with its API
    error, which reaches the batch at once (not as a timeout)."""
    js = kernel.nc.jetstream()
    name = f"{kernel.namespace.upper()}_FULL"
    subject = f"{kernel.namespace}.full.x"
    await js.add_stream(
        StreamConfig(name=name, subjects=[subject], max_msgs=1, discard=DiscardPolicy.NEW)
    )
    try:
        publisher = await kernel.nats.publisher()
        batch = PublishBatch()
        await publisher.publish(batch, subject, b"{}", {"Nats-Msg-Id": "full-1"})
        await publisher.publish(batch, subject, b"{}", {"Nats-Msg-Id": "full-2"})
        batch.seal()
        await asyncio.wait_for(batch.done, 2)
        stored, refused = batch.results
        assert isinstance(stored, int)
        assert isinstance(refused, APIError), refused
        assert publisher.pending() == 0
    finally:
        await js.delete_stream(name)

"""A client that does not read fast enough: its backlog is dropped and it is sent
``reset``; the process never holds more than the queue per stream. Driven through a
``Connection`` and a ``Stream`` of the running app's hub (a socket's buffers would need
megabytes of events to fill)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncGenerator
from typing import cast

from syllabus_live.hub import Connection, Item
from syllabus_live.stream import Stream

from conftest import HEARTBEAT, QUEUE_SIZE, Live, envelope, notice


def _item(seq: int) -> Item:
    return Item(seq, "progress", json.dumps({"n": seq}))


def _parse(chunk: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in chunk.decode().splitlines():
        if line and not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value
    return fields


def test_offer_past_the_queue_size_drops_the_backlog() -> None:
    conn = Connection(str(uuid.uuid4()), time.time() + 60, QUEUE_SIZE)
    for seq in range(1, QUEUE_SIZE + 1):
        conn.offer(_item(seq))
    assert len(conn.queue) == QUEUE_SIZE and not conn.overflowed
    conn.offer(_item(QUEUE_SIZE + 1))
    assert not conn.queue and conn.overflowed
    assert conn.woken
    # What comes after is queued again; an ended connection takes nothing.
    conn.offer(_item(QUEUE_SIZE + 2))
    assert len(conn.queue) == 1
    conn.end("shutdown")
    conn.offer(_item(QUEUE_SIZE + 3))
    assert len(conn.queue) == 1 and conn.ended == "shutdown"


async def test_a_slow_stream_sends_reset_instead_of_its_backlog(live: Live) -> None:
    user = uuid.uuid4()
    _, last = await live.position()
    conn = live.hub.open(user, time.time() + 60)
    stream = Stream(
        live.hub,
        conn,
        start=last,
        reset=False,
        heartbeat=HEARTBEAT,
        replay_limit=10,
        roster_interval=0.5,
    )
    events = cast(AsyncGenerator[bytes, None], stream.events())
    try:
        ready = _parse(await anext(events))
        assert ready == {"id": str(last), "event": "ready", "data": "{}"}
        # The client reads one event, then stalls while more than the queue arrive
        # (handed to the connection by the hub, as the notices of the LIVE stream are).
        conn.offer(_item(last + 1))
        assert _parse(await anext(events))["id"] == str(last + 1)
        subject = live.hub.subject_of(str(user))
        for seq in range(last + 2, last + 3 + QUEUE_SIZE):
            live.hub.deliver(seq, subject, envelope(notice(user, "progress")))
        assert not conn.queue  # nothing held for it any more
        reset = _parse(await anext(events))
        assert reset == {"id": str(last + 1), "event": "reset", "data": "{}"}
        # Then it goes on with what comes next; nothing of the dropped backlog.
        nxt = last + 3 + QUEUE_SIZE
        conn.offer(_item(nxt))
        assert _parse(await anext(events))["id"] == str(nxt)
        assert not conn.overflowed
    finally:
        await events.aclose()
    await live.no_open_streams()

"""Read-your-writes: the bounded wait on a projection."""

from __future__ import annotations

import asyncio
import time
import uuid

import uuid_utils
from syllabus_shared.consistency import ProjectionWatcher, recently_minted
from syllabus_shared.ids import new_id

from conftest import Kernel


def test_only_fresh_uuid7_ids_are_in_flight() -> None:
    assert recently_minted(new_id())
    assert not recently_minted(uuid.uuid4())
    old = uuid.UUID(bytes=uuid_utils.uuid7(nanoseconds=(int(time.time()) - 3600) * 10**9).bytes)
    assert not recently_minted(old)


async def test_waiter_wakes_on_notify_from_another_connection(kernel: Kernel) -> None:
    watcher = ProjectionWatcher(
        kernel.db.url, poll_interval=30.0
    )  # only a NOTIFY can wake it in time
    watcher.start()
    try:
        await asyncio.sleep(0.3)
        state = {"ready": False}

        async def check() -> bool:
            return state["ready"]

        async def apply_later() -> None:
            await asyncio.sleep(0.2)
            state["ready"] = True
            from sqlalchemy import text

            async with kernel.db.transaction() as s:
                await s.execute(text("NOTIFY syllabus_projection"))

        started = time.monotonic()
        writer = asyncio.create_task(apply_later())
        assert await watcher.wait_until(check, timeout=5.0)
        assert time.monotonic() - started < 2.0
        await writer
    finally:
        await watcher.stop()


async def test_waiter_gives_up_after_the_bound(kernel: Kernel) -> None:
    watcher = ProjectionWatcher(kernel.db.url, poll_interval=0.05)
    watcher.start()
    try:

        async def never() -> bool:
            return False

        started = time.monotonic()
        assert not await watcher.wait_until(never, timeout=0.3)
        assert 0.25 < time.monotonic() - started < 1.5
    finally:
        await watcher.stop()

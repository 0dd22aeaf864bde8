"""RELIABILITY items 7-9: nats-server killed under load, NATS away for a long time, one
service's PostgreSQL restarted."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest

import checker
from chaos import chaos
from harness import ReliabilityStack, eventually

from conftest import World, settle

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _pids(stack: ReliabilityStack) -> dict[str, int | None]:
    return {i.child.name: i.child.pid for i in stack.stage.instances}


async def _readyz(url: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as c:
        r = await c.get(f"{url}/readyz")
        return r.status_code, r.json()


# ---------------------------------------------------------------- 7


async def test_7_nats_killed_and_restarted_under_load_repeatedly(
    stack: ReliabilityStack, world: World
) -> None:
    await settle(stack)
    pids = _pids(stack)
    result = await chaos(
        stack,
        duration=9,
        instructors=2,
        students=3,
        seed=7,
        interval=(2.0, 2.6),
        kinds=("kill-nats",),
        drain_timeout=60,
        nats_down=(0.5, 2.0),
    )
    assert result.faults["kill-nats"] >= 3
    assert result.acknowledged > 50
    assert result.converged, "\n".join(result.projections.samples)
    assert result.projections.ok and result.history.ok, (
        result.projections.samples + result.history.samples
    )
    # Nothing was restarted: the services reconnected and their consumers resumed by themselves.
    assert _pids(stack) == pids


# ---------------------------------------------------------------- 8


async def nats_outage(stack: ReliabilityStack, world: World, seconds: float, mode: str) -> None:
    await settle(stack)
    pids = _pids(stack)
    nats = stack.nats
    started = time.monotonic()
    if mode == "stop":
        nats.kill()
    else:
        nats.pause()
    written: list[str] = []
    try:
        # /readyz of every service names NATS as what is down; the database is fine.
        async def all_say_nats_down() -> bool:
            for instance in stack.stage.instances:
                if instance.service == "web":
                    continue  # the web talks to the API only, never to NATS
                status, body = await _readyz(instance.url)
                if status != 503 or body.get("checks", {}).get("nats") != "down":
                    return False
                # live has no database; every other service's is fine.
                assert body["checks"].get("database", "ok") == "ok"
            return True

        # A stopped server is noticed at once (connection refused); a frozen one only by
        # the client's pings, so /readyz must say so within a few ping intervals.
        if mode == "stop" or seconds >= 60:
            within = 15 if mode == "stop" else 45
            await eventually(all_say_nats_down, within, 0.3, "readyz reporting nats down")
            status, body = await _readyz(stack.gateway_url)
            assert status == 503, body
        round_no = 0
        while True:
            round_no += 1
            async with stack.client(world.instructor) as c:
                # Writes commit (to the owner and its outbox)...
                r = await c.post("/api/v1/courses", json={"title": f"outage {round_no}"})
                assert r.status_code == 201, r.text
                written.append(r.json()["id"])
                r = await c.patch(
                    f"/api/v1/modules/{world.module}",
                    json={"title": f"renamed in outage {round_no}"},
                )
                assert r.status_code == 200, r.text
                # ...a read that needs what NATS has not carried yet is refused, never
                # stale: this client's consistency token names the rename, which content
                # cannot apply while NATS is away (503 after the bound, with Retry-After).
                r = await c.get(f"/api/v1/modules/{world.module}/posts")
                assert r.status_code == 503, r.text
                assert r.json()["type"].endswith("/consistency-timeout"), r.text
                assert r.headers["retry-after"]
            async with stack.client(world.instructor) as c:
                # ...and reads that need nothing in flight keep working, on every service
                # (a new client: no token).
                assert (await c.get(f"/api/v1/courses/{world.course}")).status_code == 200
                assert (await c.get(f"/api/v1/modules/{world.module}/posts")).status_code == 200
            async with stack.client(world.student) as c:
                assert (
                    await c.get(f"/api/v1/me/courses/{world.course}/progress")
                ).status_code == 200
                assert (await c.get("/api/v1/me/enrollments")).status_code == 200
                r = await c.put(f"/api/v1/me/completions/{world.post}")
                assert r.status_code in (200, 201), r.text
            if time.monotonic() - started >= seconds:
                break
            await asyncio.sleep(min(10.0, max(0.0, seconds - (time.monotonic() - started))))
        pending = await stack.unpublished()
        assert pending["catalog"] >= 2 * round_no, pending
    finally:
        if mode == "stop":
            nats.start()
        else:
            nats.resume()
    down_for = time.monotonic() - started

    # Back: every service reconnects by itself (same processes) and everything converges.
    async def all_ready() -> bool:
        statuses = [(await _readyz(i.url))[0] for i in stack.stage.instances]
        return all(status == 200 for status in statuses)

    await eventually(all_ready, 60, 0.5, "services ready again")
    ready_after = time.monotonic() - started - down_for
    report = await settle(stack, timeout=90)
    settled_after = time.monotonic() - started - down_for
    assert _pids(stack) == pids
    progress_courses = await stack.query(
        "progress",
        "SELECT course_id FROM courses WHERE course_id = ANY(%s)",
        ([uuid.UUID(w) for w in written],),
    )
    assert len(progress_courses) == len(written)
    print(
        f"NATS {mode} for {down_for:.0f}s: {len(written)} rounds of writes; ready again "
        f"{ready_after:.1f}s and converged {settled_after:.1f}s after it returned: {report.line()}"
    )


async def test_8_nats_down_short(stack: ReliabilityStack, world: World) -> None:
    await nats_outage(stack, world, 6.0, "stop")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["stop", "pause"])
async def test_8_nats_down_longer_than_two_minutes(
    stack: ReliabilityStack, world: World, mode: str, request: pytest.FixtureRequest
) -> None:
    seconds = request.config.getoption("--nats-outage") or 130.0
    await nats_outage(stack, world, seconds, mode)


# ---------------------------------------------------------------- 9


@pytest.mark.parametrize("how", [pytest.param("restart", marks=pytest.mark.slow), "crash"])
async def test_9_one_services_postgres_restarted(
    stack: ReliabilityStack, world: World, how: str
) -> None:
    """catalog runs on its own PostgreSQL server; it is restarted (a clean fast shutdown, as
    for an upgrade) or crashed (SIGKILL) and started again. catalog recovers by itself (same
    process, its very next request succeeds, no request answers 503 once the server is back);
    the others keep serving meanwhile."""
    await settle(stack)
    pids = _pids(stack)
    catalog = stack.instance("catalog")
    pg = stack.own_pg["catalog"]
    async with stack.client(world.instructor) as c:  # pooled connections to be broken
        await asyncio.gather(*(c.get(f"/api/v1/courses/{world.course}") for _ in range(12)))
    if how == "crash":
        pg.kill()
    else:
        pg.stop()
    try:

        async def catalog_db_down() -> bool:
            status, body = await _readyz(catalog.url)
            return status == 503 and body["checks"]["database"] != "ok"

        await eventually(catalog_db_down, 15, 0.3, "catalog reporting its database down")
        async with stack.client(world.instructor) as c:
            r = await c.post("/api/v1/courses", json={"title": "while the database is down"})
            assert r.status_code == 503, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
        # The others are unaffected.
        for service in ("identity", "content", "progress"):
            status, body = await _readyz(stack.instance(service).url)
            assert status == 200, (service, body)
        async with stack.client(world.student) as c:
            assert (await c.get(f"/api/v1/me/courses/{world.course}/progress")).status_code == 200
            assert (await c.get(f"/api/v1/modules/{world.module}/posts")).status_code == 200
            assert (await c.get("/api/v1/users/me")).status_code == 200
    finally:
        pg.start()

    async def catalog_ready() -> bool:
        return (await _readyz(catalog.url))[0] == 200

    await eventually(catalog_ready, 30, 0.3, "catalog ready again without a restart")
    student = await stack.user("student")
    async with stack.client(world.instructor) as c:
        # No 503 once the server is back: the pool discards every connection of the dead
        # server (a closed socket is seen at checkout, a FATAL 57P0x/08xxx is a disconnect),
        # so no request meets one, however recently it was used.
        for _ in range(5):
            reads = await asyncio.gather(
                *(c.get(f"/api/v1/courses/{world.course}") for _ in range(12))
            )
            assert [r.status_code for r in reads] == [200] * 12, [r.text for r in reads]
            await asyncio.sleep(0.2)
        r = await c.post("/api/v1/courses", json={"title": "after the database came back"})
        assert r.status_code == 201, r.text
    async with stack.client(student) as c:  # catalog's consumer works again too
        assert (await c.post(f"/api/v1/courses/{world.course}/enrollments")).status_code == 201
    report = await settle(stack)
    assert report.per_check["catalog.courses.enrollment_count <- progress"]["ok"] >= 1
    assert _pids(stack) == pids
    snap = await asyncio.to_thread(checker.load, stack.database_urls())
    assert checker.check_projections(snap).ok

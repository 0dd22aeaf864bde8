"""Overload sheds instead of queueing, the bench's floor endpoints, and the ``consume``
process's app: a tiny service built by the kernel's own ``ServiceDeclaration.create_app``,
behind a real uvicorn, on real PostgreSQL and NATS (docs/performance.md, round 3)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI
from pydantic import ValidationError
from sqlalchemy import select
from syllabus_shared.declaration import ServiceDeclaration
from syllabus_shared.problems import PROBLEM_MEDIA_TYPE
from syllabus_shared.settings import ServiceSettings

from conftest import Kernel

HELD = asyncio.Event()
ENTERED: list[int] = []  # one entry per request the slow route has begun


def slow_router() -> APIRouter:
    router = APIRouter()

    @router.get("/slow")
    async def slow() -> dict[str, str]:
        ENTERED.append(1)
        await HELD.wait()
        return {"status": "done"}

    return router


def declaration(kernel: Kernel) -> ServiceDeclaration[ServiceSettings]:
    return ServiceDeclaration(
        name="catalog",
        title="overload",
        description="a service with one slow route",
        settings=ServiceSettings,
        metadata=kernel.metadata,
        tables=kernel.tables,
        migrations=Path("unused"),
        routers=[slow_router()],
    )


def settings(kernel: Kernel, nats_url: str, **overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "service_name": "catalog",
        "database_url": kernel.db.url,
        "nats_url": nats_url,
        "event_namespace": kernel.namespace,
        "run_relay": False,
        "run_consumers": False,
        "log_json": False,
        "service_env": "test",
        **overrides,
    }
    return ServiceSettings(**values)


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app behind a real uvicorn, lifespan included (the runtime starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            yield c
    finally:
        server.should_exit = True
        await task


def shed_count(metrics: str) -> float:
    for line in metrics.splitlines():
        if line.startswith("http_requests_shed_total "):
            return float(line.split()[1])
    raise AssertionError("no http_requests_shed_total in /metrics")


async def test_requests_over_the_bound_are_shed_at_once(kernel: Kernel, nats_url: str) -> None:
    HELD.clear()
    ENTERED.clear()
    app = declaration(kernel).create_app(settings(kernel, nats_url, max_in_flight_requests=2))
    async with served(app) as client:
        held = [asyncio.create_task(client.get("/api/v1/slow")) for _ in range(2)]
        for _ in range(500):  # both admitted and waiting
            if len(ENTERED) == 2:
                break
            await asyncio.sleep(0.01)
        r = await client.get("/api/v1/slow")
        assert r.status_code == 503
        assert len(ENTERED) == 2  # refused before the route ran
        assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
        assert r.headers["retry-after"] == "1"
        body = r.json()
        assert body["type"].endswith("/overloaded") and body["status"] == 503
        assert "2 requests" in body["detail"]
        # The operations routes are never shed, however busy the process.
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz?only=database")).status_code == 200
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200
        assert shed_count(metrics.text) >= 1
        # The admitted ones finish; then there is room again.
        HELD.set()
        assert [(await t).status_code for t in held] == [200, 200]
        assert (await client.get("/api/v1/slow")).status_code == 200


async def test_no_bound_with_zero(kernel: Kernel, nats_url: str) -> None:
    HELD.clear()
    app = declaration(kernel).create_app(settings(kernel, nats_url, max_in_flight_requests=0))
    async with served(app) as client:
        held = [asyncio.create_task(client.get("/api/v1/slow")) for _ in range(5)]
        await asyncio.sleep(0.3)
        assert not any(t.done() for t in held)  # all five admitted, none refused
        HELD.set()
        assert [(await t).status_code for t in held] == [200] * 5
        assert shed_count((await client.get("/metrics")).text) == 0


async def test_floor_endpoints_only_when_enabled(kernel: Kernel, nats_url: str) -> None:
    app = declaration(kernel).create_app(settings(kernel, nats_url, bench_endpoints=True))
    async with served(app) as client:
        w = await client.post("/api/v1/_floor/write")
        assert w.status_code == 201
        key = w.json()["key"]
        assert "syllabus-consistency" in w.headers  # the same middleware as any write
        r = await client.get(f"/api/v1/_floor/read/{key}")
        assert r.status_code == 200 and r.json()["key"] == key
        missing = await client.get(f"/api/v1/_floor/read/{uuid.uuid4()}")
        assert missing.status_code == 404
        assert "/api/v1/_floor/write" not in (await client.get("/openapi.json")).text
    ob = kernel.tables.outbox
    async with kernel.db.transaction() as s:
        rows = (await s.execute(select(ob.c.event_type, ob.c.aggregate_id))).all()
    assert rows == [("syllabus.catalog.FloorWritten.v1", key)]

    off = declaration(kernel).create_app(settings(kernel, nats_url))
    async with served(off) as client:
        assert (await client.post("/api/v1/_floor/write")).status_code == 404
    with pytest.raises(ValidationError, match="bench_endpoints"):
        ServiceSettings(service_env="production", bench_endpoints=True)


async def test_the_consume_app_relays_and_serves_only_operations(
    kernel: Kernel, nats_url: str
) -> None:
    """An API process without a relay leaves its event in the outbox; the ``consume``
    process's app (``api=False``) publishes it, and serves no API."""
    api = declaration(kernel).create_app(settings(kernel, nats_url, bench_endpoints=True))
    async with served(api) as client:
        assert (await client.post("/api/v1/_floor/write")).status_code == 201
    ob = kernel.tables.outbox
    async with kernel.db.transaction() as s:
        assert await s.scalar(select(ob.c.published_at)) is None  # RUN_RELAY=false

    consume = declaration(kernel).create_app(
        settings(kernel, nats_url, run_relay=True, run_consumers=True, bench_endpoints=True),
        api=False,
    )
    async with served(consume) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200
        assert (await client.get("/api/v1/slow")).status_code == 404
        assert (await client.post("/api/v1/_floor/write")).status_code == 404
        assert (await client.get("/openapi.json")).status_code == 404
        for _ in range(500):
            async with kernel.db.transaction() as s:
                if await s.scalar(select(ob.c.published_at)) is not None:
                    break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the consume process did not relay the event")
    assert any(
        m.subject.endswith("catalog._floor.FloorWritten") for m in await kernel.stream_messages()
    )


async def test_caught_up_asked_from_a_process_that_does_not_run_the_consumer(
    kernel: Kernel,
) -> None:
    """``caught_up_elsewhere`` (what an API process beside a consume process asks): true
    exactly when the durable consumer has nothing pending and nothing unacknowledged,
    i.e. every event so far was applied by whichever process runs it."""
    from syllabus_shared.contracts.catalog import ModuleCreated
    from test_consumer import consumer, make_projection, publish, rows, upsert_title

    await make_projection(kernel)
    running = consumer(kernel, upsert_title(kernel))  # the consume process's
    here = consumer(kernel, upsert_title(kernel))  # the API process's: never run
    assert not await here.caught_up_elsewhere()  # no durable consumer yet

    async def until(check: Any, want: bool) -> None:
        for _ in range(100):
            if await check() is want:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"not {want} in time")

    stop = asyncio.Event()
    task = asyncio.create_task(running.run(stop))
    try:
        await asyncio.wait_for(running.ready.wait(), 5)
        first = uuid.uuid4()
        await publish(kernel, ModuleCreated(module_id=first, title="A", creator_id=first), 1)
        await until(lambda: here.caught_up_elsewhere(), True)
        assert first in await rows(kernel)
        assert not await here.caught_up()  # its own runner is not running

        running.pause()  # held back: an event published now stays pending
        second = uuid.uuid4()
        await publish(kernel, ModuleCreated(module_id=second, title="B", creator_id=second), 1)
        await until(lambda: here.caught_up_elsewhere(), False)
        assert second not in await rows(kernel)
        running.resume()
        await until(lambda: here.caught_up_elsewhere(), True)
        assert second in await rows(kernel)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    # Stopped with nothing pending: everything so far is applied, still caught up.
    assert await here.caught_up_elsewhere()
    third = uuid.uuid4()
    await publish(kernel, ModuleCreated(module_id=third, title="C", creator_id=third), 1)
    await until(lambda: here.caught_up_elsewhere(), False)  # stopped, and behind

"""An expected 503 (a dependency down) is answered inside the app and logged once, as a
warning with its reason: no traceback, and nothing for uvicorn to log as "Exception in ASGI
application" (a handler for ``Exception`` alone answers from Starlette's outermost
middleware, which then re-raises to the server)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from syllabus_shared.problems import PROBLEM_MEDIA_TYPE, Problem, install_problem_handlers

OUTAGES = {
    "database": lambda: OperationalError(
        "SELECT 1",
        {},
        psycopg.OperationalError("consuming input failed: server closed the connection"),
    ),
    "pool": lambda: PoolTimeout("QueuePool limit of size 20 overflow 0 reached"),
    "refused": lambda: ConnectionRefusedError(111, "Connection refused"),
}


def app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/down/{what}")
    async def down(what: str) -> None:
        raise OUTAGES[what]()

    @app.get("/busy")
    async def busy() -> None:
        raise Problem(503, "not caught up yet; retry shortly", kind="consistency-timeout")

    return app


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The app behind a real uvicorn (it is uvicorn that logs what escapes an app)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.mark.parametrize("what", sorted(OUTAGES))
async def test_a_dependency_outage_is_one_warning_without_a_traceback(
    what: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with served(app()) as url, httpx.AsyncClient(base_url=url) as client:
        r = await client.get(f"/down/{what}")
    assert r.status_code == 503
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert r.headers["retry-after"] == "2"
    assert r.json()["type"].endswith("/unavailable")
    problems = [rec for rec in caplog.records if rec.levelno >= logging.WARNING]
    assert len(problems) == 1, [rec.getMessage() for rec in problems]
    (warning,) = problems
    assert warning.levelno == logging.WARNING
    assert warning.name == "syllabus.problems"
    assert warning.exc_info is None
    assert "GET /down/" in warning.getMessage()
    reason = {"database": "server closed the connection", "pool": "QueuePool", "refused": "111"}
    assert reason[what] in warning.getMessage()
    assert not any("Exception in ASGI application" in rec.getMessage() for rec in caplog.records)
    assert not any(rec.exc_info for rec in caplog.records)


async def test_a_problem_503_is_one_warning_with_its_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with served(app()) as url, httpx.AsyncClient(base_url=url) as client:
        r = await client.get("/busy")
    assert r.status_code == 503
    warnings = [rec for rec in caplog.records if rec.levelno >= logging.WARNING]
    assert [rec.getMessage() for rec in warnings] == [
        "GET /busy answered 503 (consistency-timeout): not caught up yet; retry shortly"
    ]
    assert warnings[0].exc_info is None


async def test_the_app_itself_raises_nothing_for_an_outage() -> None:
    # In-process: ASGITransport re-raises whatever escapes the app.
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for what in OUTAGES:
            assert (await client.get(f"/down/{what}")).status_code == 503

"""Assertions and waits every service's tests use."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import MetaData
from syllabus_shared.migrations import schema_differences
from syllabus_shared.problems import PROBLEM_MEDIA_TYPE

T = TypeVar("T")


def assert_problem(r: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """``r`` is an RFC 9457 problem with ``status``; with ``field``, ``errors`` names it."""
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    assert r.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys(), body
    if field is not None:
        assert field in {e.get("field") for e in body.get("errors", [])}, body
    return body


async def eventually(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    timeout: float = 5.0,
    interval: float = 0.05,
) -> T:
    """Poll ``probe`` until ``done(result)`` (bounded, never a fixed sleep); returns the
    last result either way, so the caller's assertion shows what was seen."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if done(result) or time.monotonic() > deadline:
            return result
        await asyncio.sleep(interval)


async def assert_migrations_match_models(
    databases: Any, migrations: Path, metadata: MetaData
) -> None:
    """A database freshly migrated with ``migrations`` is exactly what ``metadata`` declares
    (the service's tables and the kernel's): a model change needs a new migration."""
    url = await databases.create(migrations)
    differences = await asyncio.to_thread(schema_differences, url, metadata)
    assert not differences, (
        "the migrations and the models differ (a model change needs a new migration):\n  "
        + "\n  ".join(differences)
    )

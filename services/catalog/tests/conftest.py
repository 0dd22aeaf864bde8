from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest_asyncio
from sqlalchemy import select
from syllabus_catalog.main import create_app
from syllabus_catalog.models import CourseModule
from syllabus_catalog.settings import Settings
from syllabus_devkit.testing.plugin import Databases, serve_app
from syllabus_devkit.testing.tokens import TokenFactory
from syllabus_shared.runtime import Runtime

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
API = "/api/v1"

T = TypeVar("T")


@dataclass
class Catalog:
    client: httpx.AsyncClient
    runtime: Runtime
    tokens: TokenFactory
    settings: Settings

    def as_(self, role: str | None, user_id: uuid.UUID | None = None) -> dict[str, str]:
        """Headers for a caller with ``role`` (None: a guest)."""
        if role is None:
            return {}
        return self.tokens.headers(user_id or uuid.uuid4(), role)

    # ------------------------------------------------------------ builders

    async def course(
        self,
        owner: uuid.UUID,
        title: str | None = None,
        *,
        status: str = "draft",
        role: str = "instructor",
        **fields: Any,
    ) -> dict[str, Any]:
        """A course created by ``owner``, then moved to ``status``."""
        headers = self.as_(role, owner)
        body = {"title": title or f"Course {uuid.uuid4().hex[:8]}", **fields}
        r = await self.client.post(f"{API}/courses", json=body, headers=headers)
        assert r.status_code == 201, r.text
        course: dict[str, Any] = r.json()
        path = ["published", "archived"] if status == "archived" else [status]
        for step in path:
            if step == "draft":
                continue
            r = await self.client.patch(
                f"{API}/courses/{course['id']}", json={"status": step}, headers=headers
            )
            assert r.status_code == 200, r.text
            course = r.json()
        return course

    async def module(
        self, owner: uuid.UUID, title: str | None = None, description: str = ""
    ) -> dict[str, Any]:
        r = await self.client.post(
            f"{API}/modules",
            json={"title": title or f"Module {uuid.uuid4().hex[:8]}", "description": description},
            headers=self.as_("instructor", owner),
        )
        assert r.status_code == 201, r.text
        module: dict[str, Any] = r.json()
        return module

    async def attach(
        self, course_id: str, module_id: str, owner: uuid.UUID, position: int | None = None
    ) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"module_id": module_id}
        if position is not None:
            body["position"] = position
        r = await self.client.post(
            f"{API}/courses/{course_id}/modules", json=body, headers=self.as_("instructor", owner)
        )
        assert r.status_code == 201, r.text
        entries: list[dict[str, Any]] = r.json()
        return entries

    async def outline_ids(self, course_id: str) -> list[str]:
        """The course's module ids in order, read as an admin (checks positions are 1..n)."""
        r = await self.client.get(f"{API}/courses/{course_id}/modules", headers=self.as_("admin"))
        assert r.status_code == 200, r.text
        entries = r.json()
        assert [e["position"] for e in entries] == list(range(1, len(entries) + 1))
        return [e["module_id"] for e in entries]

    async def db_positions(self, course_id: str) -> list[tuple[str, int]]:
        """(module_id, position) rows straight from the database, by position."""
        async with self.runtime.db.transaction() as session:
            rows = await session.execute(
                select(CourseModule.module_id, CourseModule.position)
                .where(CourseModule.course_id == uuid.UUID(course_id))
                .order_by(CourseModule.position)
            )
            return [(str(r.module_id), r.position) for r in rows]

    async def outbox(self) -> list[Any]:
        ob = self.runtime.tables.outbox
        async with self.runtime.db.transaction() as session:
            return list(
                (await session.execute(select(ob).order_by(ob.c.created_at, ob.c.id))).all()
            )


@contextlib.asynccontextmanager
async def running_catalog(
    databases: Databases, nats_url: str, namespace: str, tokens: TokenFactory, **overrides: Any
) -> AsyncIterator[Catalog]:
    settings = Settings(
        database_url=await databases.create(MIGRATIONS),
        nats_url=nats_url,
        event_namespace=namespace,
        auth_jwks_json=tokens.jwks_json,
        service_env="test",
        log_json=False,
        **overrides,
    )
    app = create_app(settings)
    async with serve_app(app, "http://catalog") as client:
        runtime: Runtime = app.state.runtime
        try:
            yield Catalog(client, runtime, tokens, settings)
        finally:
            await _fast_stop(runtime)


async def _fast_stop(runtime: Runtime) -> None:
    """Stop the background work before the app's own (graceful, slower) shutdown.

    A consumer notices ``stop`` only when its pending fetch times out (1 s), which would
    add a second to every test; this test's database and namespace are dropped anyway,
    so cancel the consumers and close NATS without draining the cancelled fetches.
    """
    runtime.stop.set()
    names = {c.durable for c in runtime.consumers}
    consumers = [t for t in runtime.tasks if t.get_name() in names]
    for task in consumers:
        task.cancel()
    await asyncio.wait(runtime.tasks, timeout=5)
    if runtime.nats.nc is not None and not runtime.nats.nc.is_closed:
        await runtime.nats.nc.close()


@pytest_asyncio.fixture
async def catalog(
    databases: Databases, nats_url: str, namespace: str, tokens: TokenFactory
) -> AsyncIterator[Catalog]:
    async with running_catalog(databases, nats_url, namespace, tokens) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def shared_catalog(
    databases: Databases, nats_url: str, tokens: TokenFactory
) -> AsyncIterator[Catalog]:
    """One app for a whole test module (each test builds its own data in it)."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    # No relay or consumers: tests on a shared app check HTTP behaviour, not events,
    # and publishing hundreds of events in the background would only slow them down.
    async with running_catalog(
        databases, nats_url, namespace, tokens, run_relay=False, run_consumers=False
    ) as running:
        yield running

"""Contract tests: every service's real app, in-process, against a real PostgreSQL.

Apps run without their relay or consumers: a test reads the events a service wrote to
its outbox (exactly what the relay would publish) and hands them to other services'
consumer runners itself (``EventConsumer.apply``: envelope parsing, inbox, sequence
check, the real handler), so no NATS timing is involved.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from syllabus_devkit.testing.plugin import Databases, serve_app
from syllabus_devkit.testing.tokens import TokenFactory
from syllabus_shared.messaging.consumer import EventConsumer
from syllabus_shared.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
PACTS_DIR = CONTRACTS / "pacts"
SCHEMAS_DIR = CONTRACTS / "schemas"
SERVICES = ("identity", "catalog", "content", "progress", "assessment")
API = "/api/v1"
ADMIN = ("contract_admin", "contract-admin-password")


@dataclass
class Service:
    """One service's app, its runtime, and helpers to read and feed events."""

    name: str
    app: FastAPI
    client: httpx.AsyncClient
    runtime: Runtime
    tokens: TokenFactory

    def headers(self, user_id: uuid.UUID, role: str) -> dict[str, str]:
        return self.tokens.headers(user_id, role)

    async def call(
        self, method: str, path: str, user: tuple[uuid.UUID, str] | None, expect: int, **kw: Any
    ) -> Any:
        headers = self.headers(*user) if user else {}
        r = await self.client.request(method, f"{API}{path}", headers=headers, **kw)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    async def outbox(self) -> list[bytes]:
        """Every envelope this service wrote, in the order it wrote them."""
        ob = self.runtime.tables.outbox
        async with self.runtime.db.transaction() as session:
            rows = await session.execute(select(ob.c.payload).order_by(ob.c.created_at, ob.c.id))
            return [bytes(r.payload) for r in rows]

    def consumers_for(self, event_type: str) -> list[EventConsumer]:
        return [c for c in self.runtime.consumers if c.subscription.handler_for(event_type)]

    async def feed(self, payloads: list[bytes]) -> list[tuple[str, str]]:
        """Apply every payload this service consumes; returns (event type, outcome).

        A handler that raises is an outcome too ("failed: ..."), so one broken consumer
        does not hide what the other checks would say.
        """
        outcomes = []
        for payload in payloads:
            event_type = json.loads(payload)["type"]
            for consumer in self.consumers_for(event_type):
                try:
                    [outcome] = await consumer.apply_payloads([payload])
                except Exception as exc:
                    outcome = f"failed: {exc!r}"
                outcomes.append((event_type, outcome))
        return outcomes


def _settings(name: str, database_url: str, nats_url: str, tokens: TokenFactory) -> Any:
    module = importlib.import_module(f"syllabus_{name}.settings")
    values: dict[str, Any] = {
        "database_url": database_url,
        "nats_url": nats_url,
        "event_namespace": f"t{uuid.uuid4().hex[:10]}",
        "service_env": "test",
        "log_json": False,
        "run_relay": False,
        "run_consumers": False,
    }
    if name == "identity":
        values.update(
            password_hash_time_cost=1,
            password_hash_memory_kib=1024,
            password_hash_parallelism=1,
            identity_bootstrap_admin_username=ADMIN[0],
            identity_bootstrap_admin_password=ADMIN[1],
        )
    else:
        values["auth_jwks_json"] = tokens.jwks_json
    if name == "progress":
        # This harness feeds events itself (no consumer runs to report caught up).
        values["completion_waits_for_structure"] = False
    return module.Settings(**values)


@contextlib.asynccontextmanager
async def running(
    name: str, databases: Databases, nats_url: str, tokens: TokenFactory
) -> AsyncIterator[Service]:
    """``name``'s app on a fresh migrated database, its lifespan running."""
    database_url = await databases.create(ROOT / "services" / name / "migrations")
    main = importlib.import_module(f"syllabus_{name}.main")
    app = main.create_app(_settings(name, database_url, nats_url, tokens))
    async with serve_app(app, f"http://{name}") as client:
        yield Service(name, app, client, app.state.runtime, tokens)

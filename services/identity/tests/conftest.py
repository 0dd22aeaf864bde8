from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from sqlalchemy import func, select
from syllabus_devkit.testing.plugin import Databases, serve_app
from syllabus_identity.keys import KeyEncryption
from syllabus_identity.main import create_app
from syllabus_identity.models import SigningKey
from syllabus_identity.settings import Settings
from syllabus_shared.messaging.nats_link import ensure_stream
from syllabus_shared.runtime import Runtime

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
API = "/api/v1"
ADMIN_USERNAME = "root_admin"
ADMIN_PASSWORD = "admin-password-1"
PASSWORD = "correct horse battery"
# The key-encryption key that seals the signing keys (one per test process, like a Secret).
KEK = base64.b64encode(os.urandom(32)).decode()


def new_kek() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def identity_settings(
    database_url: str, nats_url: str, namespace: str, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "nats_url": nats_url,
        "event_namespace": namespace,
        "service_env": "test",
        "log_json": False,
        # Cheap Argon2id parameters: the tests exercise the flow, not the cost.
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 1024,
        "password_hash_parallelism": 1,
        "identity_bootstrap_admin_username": ADMIN_USERNAME,
        "identity_bootstrap_admin_password": ADMIN_PASSWORD,
        "identity_key_encryption_key": KEK,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Identity:
    client: httpx.AsyncClient
    runtime: Runtime
    settings: Settings
    app: FastAPI

    # ------------------------------------------------------------ builders

    async def register(
        self, username: str | None = None, password: str = PASSWORD, **fields: Any
    ) -> dict[str, Any]:
        username = username or f"u_{uuid.uuid4().hex[:12]}"
        body = {"username": username, "email": f"{username}@example.com", "password": password}
        body.update(fields)
        r = await self.client.post(f"{API}/auth/register", json=body)
        assert r.status_code == 201, r.text
        user: dict[str, Any] = r.json()
        return user

    async def login(
        self, username: str, password: str = PASSWORD, address: str | None = None
    ) -> httpx.Response:
        headers = {"X-Forwarded-For": address} if address else {}
        return await self.client.post(
            f"{API}/auth/token", data={"username": username, "password": password}, headers=headers
        )

    async def token(self, username: str, password: str = PASSWORD) -> str:
        r = await self.login(username, password)
        assert r.status_code == 200, r.text
        token: str = r.json()["access_token"]
        return token

    async def headers(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(username, password)}"}

    async def admin(self) -> dict[str, str]:
        return await self.headers(ADMIN_USERNAME, ADMIN_PASSWORD)

    async def user(self, role: str = "student") -> tuple[dict[str, Any], dict[str, str]]:
        """A new account with ``role`` (promoted by the admin) and headers for it."""
        user = await self.register()
        if role != "student":
            r = await self.client.patch(
                f"{API}/users/{user['id']}", json={"role": role}, headers=await self.admin()
            )
            assert r.status_code == 200, r.text
            user = r.json()
        return user, await self.headers(user["username"])

    # ------------------------------------------------------------ inspection

    async def outbox(self) -> list[Any]:
        ob = self.runtime.tables.outbox
        async with self.runtime.db.transaction() as session:
            return list(
                (await session.execute(select(ob).order_by(ob.c.created_at, ob.c.id))).all()
            )

    async def published(self) -> list[dict[str, Any]]:
        """Publish the outbox, then every envelope on this service's stream, in order."""
        rt = self.runtime
        await asyncio.wait_for(rt.nats.wait_connected(), 10)
        js = rt.nats.jetstream()
        await ensure_stream(js, rt.stream, rt.subjects())
        await rt.relay.drain()
        # The app's own relay may hold rows this drain skipped (SKIP LOCKED): wait
        # (bounded) until it has published them too.
        ob = rt.tables.outbox
        for _ in range(100):
            async with rt.db.transaction() as session:
                waiting = await session.scalar(
                    select(func.count()).select_from(ob).where(ob.c.published_at.is_(None))
                )
            if not waiting:
                break
            await asyncio.sleep(0.05)
        info = await js.stream_info(rt.stream)
        envelopes = []
        if info.state.messages:
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                msg = await js.get_msg(rt.stream, seq)
                assert msg.data is not None
                envelopes.append(json.loads(msg.data))
        return envelopes

    async def signing_key(self) -> tuple[str, ec.EllipticCurvePrivateKey]:
        """The current signing key, straight from the database and opened with the KEK (to
        forge test tokens)."""
        async with self.runtime.db.transaction() as session:
            row = (
                await session.scalars(
                    select(SigningKey)
                    .where(SigningKey.retired_at.is_(None))
                    .order_by(SigningKey.created_at.desc())
                )
            ).first()
        assert row is not None
        key = KeyEncryption.from_settings(self.settings).open(
            row.kid, row.private_key_pem, row.private_key_sealed, row.sealed_with
        )
        return row.kid, key


def claims_of(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a token, unverified."""
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


@contextlib.asynccontextmanager
async def running_identity(
    databases: Databases,
    nats_url: str,
    namespace: str,
    database_url: str | None = None,
    **overrides: Any,
) -> AsyncIterator[Identity]:
    settings = identity_settings(
        database_url or await databases.create(MIGRATIONS), nats_url, namespace, **overrides
    )
    app = create_app(settings)
    async with serve_app(app, "http://identity") as client:
        runtime: Runtime = app.state.runtime
        try:
            yield Identity(client, runtime, settings, app)
        finally:
            await _fast_stop(runtime)


async def _fast_stop(runtime: Runtime) -> None:
    """Stop the consumers before the app's own (graceful, slower) shutdown: one notices
    ``stop`` only when its pending fetch times out (1 s), a second added to every test;
    this test's database and namespace are dropped anyway. (As catalog's conftest.)"""
    runtime.stop.set()
    names = {c.durable for c in runtime.consumers}
    consumers = [t for t in runtime.tasks if t.get_name() in names]
    for task in consumers:
        task.cancel()
    if runtime.tasks:
        await asyncio.wait(runtime.tasks, timeout=5)
    if runtime.nats.nc is not None and not runtime.nats.nc.is_closed:
        await runtime.nats.nc.close()


@pytest_asyncio.fixture
async def identity(databases: Databases, nats_url: str, namespace: str) -> AsyncIterator[Identity]:
    async with running_identity(databases, nats_url, namespace) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def shared_identity(databases: Databases, nats_url: str) -> AsyncIterator[Identity]:
    """One app for a whole test module (each test builds its own accounts in it)."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    async with running_identity(databases, nats_url, namespace) as running:
        yield running

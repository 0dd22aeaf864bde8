from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest_asyncio

from syllabus_catalog.main import create_app
from syllabus_catalog.settings import Settings
from syllabus_shared.runtime import Runtime
from syllabus_shared.testing.plugin import Databases, serve_app
from syllabus_shared.testing.tokens import TokenFactory

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


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


@pytest_asyncio.fixture
async def catalog(databases: Databases, nats_url: str, namespace: str, tokens: TokenFactory) -> AsyncIterator[Catalog]:
    settings = Settings(
        database_url=await databases.create(MIGRATIONS),
        nats_url=nats_url,
        event_namespace=namespace,
        auth_jwks_json=tokens.jwks_json,
        service_env="test",
        log_json=False,
    )
    app = create_app(settings)
    async with serve_app(app, "http://catalog") as client:
        yield Catalog(client, app.state.runtime, tokens, settings)

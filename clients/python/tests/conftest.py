"""The client against a real service: catalog's app, in-process, on a real PostgreSQL and
NATS from the devkit's pytest plugin (no relay or consumers: these tests are about HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from syllabus_catalog.main import create_app
from syllabus_catalog.settings import Settings
from syllabus_devkit.testing.plugin import Databases
from syllabus_devkit.testing.tokens import TokenFactory

ROOT = Path(__file__).resolve().parents[3]
CATALOG_MIGRATIONS = ROOT / "services" / "catalog" / "migrations"


@pytest_asyncio.fixture
async def catalog_app(
    databases: Databases, nats_url: str, namespace: str, tokens: TokenFactory
) -> AsyncIterator[Any]:
    settings = Settings(
        database_url=await databases.create(CATALOG_MIGRATIONS),
        nats_url=nats_url,
        event_namespace=namespace,
        auth_jwks_json=tokens.jwks_json,
        service_env="test",
        log_json=False,
        run_relay=False,
        run_consumers=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app

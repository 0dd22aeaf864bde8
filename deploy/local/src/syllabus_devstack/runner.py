"""Start the whole stack on one machine, and stop it cleanly.

Order: PostgreSQL and NATS (embedded unless ``DATABASE_URL``/``NATS_URL`` are given) →
one database per service → each service's migrations (a separate step) → the services
(``--replicas N`` instances each) → the gateway sidecar → Caddy on ``GATEWAY_PORT``.
With ``consume_processes`` (``make run``'s default), each service with ``consume = true``
in the stack file also gets one ``python -m <module> consume`` process (its relay,
consumers and background work) and its API instances run with ``RUN_RELAY=false
RUN_CONSUMERS=false``; without it (``--one-process``, and the reliability harness) each
API instance runs everything itself.
Ctrl-C or SIGTERM stops everything this runner started, in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url
from syllabus_devkit.embedded import EmbeddedNats, EmbeddedPostgres, binary_path, find_free_port
from syllabus_gateway.caddyfile import load_routes, render_caddyfile

from syllabus_devstack.processes import Child, Console, StartupError, gather_or_cancel
from syllabus_devstack.secrets import identity_secrets, web_secrets
from syllabus_devstack.stack import ServiceSpec, Stack

# What services inherit from the runner's environment; everything else they need is set
# explicitly, so a stray variable in a developer's shell cannot reconfigure a service.
PASSTHROUGH = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LANG",
        "TZ",
        "TMPDIR",
        "PYTHONPATH",
        "VIRTUAL_ENV",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "LOG_LEVEL",
        # Overload shedding (per process) and the bench-only floor endpoints (refused in
        # production): what ``make bench`` sets for the stack it starts.
        "MAX_IN_FLIGHT_REQUESTS",
        "BENCH_ENDPOINTS",
        # JetStream replicas of each service's stream (3 against a 3-node cluster in
        # NATS_URL); services only ever raise an existing stream's, never lower it.
        "NATS_STREAM_REPLICAS",
        "IDENTITY_BOOTSTRAP_ADMIN_USERNAME",
        "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD",
    }
)
PASSTHROUGH_PREFIXES = ("SYLLABUS_", "LC_", "OTEL_")


@dataclass(frozen=True)
class Options:
    """How ``run`` was asked to run."""

    root: Path
    data_dir: Path
    stack: Stack
    replicas: int = 1
    gateway_port: int = 8000
    ready_timeout: float = 90.0
    migrate_timeout: float = 300.0
    mirror_logs: bool = True
    # One ``consume`` process per service beside its API processes (which then run no
    # relay and no consumers); False: every API process runs them itself.
    consume_processes: bool = False


@dataclass
class Instance:
    """One running instance of a service (or of the sidecar)."""

    service: str
    child: Child
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stage:
    """What has been started, so shutdown can undo it in reverse order."""

    pg: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None
    instances: list[Instance] = field(default_factory=list)
    gateway: list[Instance] = field(default_factory=list)  # the sidecar, once started
    consumers: list[Instance] = field(default_factory=list)  # ``consume`` processes
    caddy: Child | None = None

    @property
    def sidecar(self) -> Instance | None:
        return self.gateway[0] if self.gateway else None


def service_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a child: the pass-through subset of ours, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key in PASSTHROUGH or key.startswith(PASSTHROUGH_PREFIXES)
    }
    env["PYTHONUNBUFFERED"] = "1"  # log lines reach the log file as they happen
    env.update(extra)
    return env


def _sqlalchemy_url(url: str) -> URL:
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    return make_url(url).set(drivername="postgresql+psycopg")


def database_url(server_url: str, database: str) -> str:
    """The SQLAlchemy URL of ``database`` on the server of ``server_url`` (psycopg 3)."""
    return _sqlalchemy_url(server_url).set(database=database).render_as_string(hide_password=False)


def libpq_url(server_url: str) -> str:
    """``server_url`` as a libpq URI (what psycopg.connect takes)."""
    url = _sqlalchemy_url(server_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def create_databases(server_url: str, names: list[str]) -> list[str]:
    """Create each database that does not exist yet; return the ones created."""
    created = []
    with psycopg.connect(libpq_url(server_url), autocommit=True, connect_timeout=10) as conn:
        for name in names:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if exists.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                created.append(name)
    return created


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextlib.contextmanager
def single_runner_lock(data_dir: Path) -> Iterator[None]:
    """One runner per data dir: two would fight over the same PostgreSQL files."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = (data_dir / "devstack.lock").open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StartupError(
                f"another devstack is already running on {data_dir} (stop it first)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


class Runner:
    """Brings the stack up, keeps it running, and takes it down."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.console = Console(options.mirror_logs)
        self.logs = options.data_dir / "logs"
        self.stage = Stage()
        self.available: list[ServiceSpec] = []
        self.skipped: list[ServiceSpec] = []
        self.pg_url = ""
        self.nats_url = ""
        self.started_at = time.monotonic()

    def say(self, message: str) -> None:
        """A line from the runner itself, with the time since start."""
        elapsed = time.monotonic() - self.started_at
        print(f"devstack    | [{elapsed:5.1f}s] {message}", flush=True)

    # -- start -----------------------------------------------------------------------

    async def start(self) -> None:
        """Bring everything up; raises :class:`StartupError` naming what failed."""
        self.logs.mkdir(parents=True, exist_ok=True)
        gateway_port = self.options.gateway_port
        if not _port_is_free(gateway_port):
            raise StartupError(
                f"port {gateway_port} is in use: stop what uses it or set GATEWAY_PORT"
            )
        for spec in self.options.stack.services:
            (self.available if spec.is_available() else self.skipped).append(spec)
        for spec in self.skipped:
            self.say(f"{spec.name}: {spec.module} is not installed yet, skipping it")

        try:
            self._start_infrastructure()
        except (RuntimeError, OSError) as error:
            raise StartupError(str(error)) from error
        with_db = [s for s in self.available if s.database]
        if with_db:
            names = [s.database for s in with_db if s.database]
            try:
                created = await asyncio.to_thread(create_databases, self.pg_url, names)
            except psycopg.Error as error:
                shown = _sqlalchemy_url(self.pg_url).render_as_string(hide_password=True)
                raise StartupError(f"cannot create the databases on {shown}: {error}") from error
            for name in created:
                self.say(f"created database {name}")
            await gather_or_cancel(*(self._migrate(s) for s in with_db))
        await self._start_services()
        await self._start_sidecar()
        await self._start_caddy()

    def _start_infrastructure(self) -> None:
        # Embedded servers start synchronously on the main thread: their parent-death
        # signal is tied to the thread that spawns them.
        data = self.options.data_dir
        if url := os.environ.get("DATABASE_URL"):
            self.pg_url = url
        else:
            self.say("starting embedded PostgreSQL")
            pg = EmbeddedPostgres(
                data / "postgres", log_path=self.logs / "postgres.log", die_with_parent=True
            )
            self.stage.pg = pg
            self.pg_url = pg.start()
        if url := os.environ.get("NATS_URL"):
            self.nats_url = url
        else:
            self.say("starting embedded NATS")
            nats = EmbeddedNats(
                data / "nats", log_path=self.logs / "nats.log", die_with_parent=True
            )
            self.stage.nats = nats
            self.nats_url = nats.start()

    def _child(self, name: str, argv: list[str], env: Mapping[str, str]) -> Child:
        return Child(
            name,
            argv,
            env=env,
            log_path=self.logs / f"{name}.log",
            console=self.console,
            cwd=self.options.root,
        )

    async def _migrate(self, spec: ServiceSpec) -> None:
        assert spec.database is not None
        env = service_env(
            {
                "DATABASE_URL": database_url(self.pg_url, spec.database),
                "NATS_URL": self.nats_url,
                "SERVICE_ENV": "development",
                "SERVICE_NAME": spec.name,
            }
        )
        child = self._child(spec.name, [sys.executable, "-m", spec.module, "migrate"], env)
        code = await child.run_to_completion(self.options.migrate_timeout)
        if code != 0:
            raise StartupError(
                f"{spec.name}: migrations failed (exit {code}); "
                f"last lines of {child.log_path}:\n{child.tail()}"
            )
        self.say(f"{spec.name}: migrations applied")

    def _jwks_url(self, ports: Mapping[str, list[int]]) -> str:
        port = ports.get("identity", [0])[0]
        if not port:
            return ""
        return f"http://127.0.0.1:{port}/.well-known/jwks.json"

    async def _start_services(self) -> None:
        # Ports are chosen up front so every service knows identity's JWKS URL at once.
        # Distinct ones: the kernel may hand the same free port out twice in a row (two
        # instances were given one port, and the second to bind it died).
        chosen: set[int] = set()

        def distinct() -> int:
            port = find_free_port()
            while port in chosen:
                port = find_free_port()
            chosen.add(port)
            return port

        ports = {
            spec.name: [distinct() for _ in range(self.options.replicas)] for spec in self.available
        }
        jwks = self._jwks_url(ports)
        pending: list[Coroutine[Any, Any, Instance]] = []
        async with httpx.AsyncClient() as client:
            for spec in self.available:
                for index, port in enumerate(ports[spec.name]):
                    pending.append(self._start_instance(spec, index, port, jwks, client))
                if spec.ready_before_next:
                    await gather_or_cancel(*pending)
                    pending = []
            await gather_or_cancel(*pending)
            if self.options.consume_processes:
                await gather_or_cancel(
                    *(
                        self._start_consumer(spec, jwks, client)
                        for spec in self.available
                        if spec.consume and spec.database
                    )
                )

    async def _start_consumer(
        self, spec: ServiceSpec, jwks: str, client: httpx.AsyncClient
    ) -> Instance:
        """The service's ``consume`` process (relay, consumers, background work)."""
        extra = {
            "NATS_URL": self.nats_url,
            "SERVICE_ENV": "development",
            "SERVICE_NAME": spec.name,
        }
        if spec.database:
            extra["DATABASE_URL"] = database_url(self.pg_url, spec.database)
        if jwks:
            extra["AUTH_JWKS_URL"] = jwks
        return await self._start_http(
            f"{spec.name}-consume",
            spec.name,
            spec.module,
            find_free_port(),
            service_env(extra),
            client,
            self.stage.consumers,
            command="consume",
        )

    def _instance_name(self, service: str, index: int) -> str:
        return service if self.options.replicas == 1 else f"{service}-{index + 1}"

    async def _start_instance(
        self, spec: ServiceSpec, index: int, port: int, jwks: str, client: httpx.AsyncClient
    ) -> Instance:
        extra = {
            "NATS_URL": self.nats_url,
            "SERVICE_ENV": "development",
            "SERVICE_NAME": spec.name,
        }
        if spec.database:
            extra["DATABASE_URL"] = database_url(self.pg_url, spec.database)
        if jwks:
            extra["AUTH_JWKS_URL"] = jwks
        if self.options.consume_processes and spec.consume and spec.database:
            extra["RUN_RELAY"] = "false"  # its consume process runs them
            extra["RUN_CONSUMERS"] = "false"
        name = self._instance_name(spec.name, index)
        return await self._start_http(
            name, spec.name, spec.module, port, service_env(extra), client, self.stage.instances
        )

    async def _start_http(
        self,
        name: str,
        service: str,
        module: str,
        port: int,
        env: Mapping[str, str],
        client: httpx.AsyncClient,
        registry: list[Instance],
        command: str = "serve",
    ) -> Instance:
        """Start ``python -m module serve`` (or ``command``) and wait for /readyz; retry if
        the port was lost.

        The instance is in ``registry`` from the moment it is spawned until it fails, so
        shutdown stops it even when the start is interrupted half-way.
        """
        if service == "identity":
            # The key-encryption key of its signing keys: made under the data directory
            # on the first run (syllabus_devstack.secrets), unless given to the runner.
            env = {**identity_secrets(self.options.data_dir), **env}
        if service == "web":
            # The web calls the public API through the gateway, like any client (Caddy
            # starts last, but the web needs the API only once a page is asked for), and
            # seals its session cookies with a secret made on the first run.
            env = {**web_secrets(self.options.data_dir), "WEB_API_URL": self.gateway_url, **env}
        for attempt in range(3):
            if attempt:
                port = find_free_port()
            argv = [
                sys.executable,
                "-m",
                module,
                command,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ]
            child = self._child(name, argv, env)
            instance = Instance(service, child, port)
            registry.append(instance)
            await child.start()
            try:
                await child.wait_http_ready(
                    f"{instance.url}/readyz", self.options.ready_timeout, client
                )
            except StartupError:
                await child.stop()
                registry.remove(instance)
                if child.lost_its_port() and attempt < 2:
                    self.say(f"{name}: port {port} was taken meanwhile, retrying on another")
                    continue
                raise
            except BaseException:
                await child.stop()
                registry.remove(instance)
                raise
            self.say(f"{name}: ready on {instance.url}")
            return instance
        raise AssertionError("unreachable")

    async def _start_sidecar(self) -> None:
        upstreams: dict[str, list[str]] = {}
        for instance in self.stage.instances:
            upstreams.setdefault(instance.service, []).append(instance.url)
        env = service_env({"GATEWAY_UPSTREAMS": json.dumps(upstreams)})
        async with httpx.AsyncClient() as client:
            await self._start_http(
                "gateway",
                "gateway",
                self.options.stack.gateway.module,
                find_free_port(),
                env,
                client,
                self.stage.gateway,
            )

    async def _start_caddy(self) -> None:
        assert self.stage.sidecar is not None
        upstreams: dict[str, list[str]] = {"gateway": [self.stage.sidecar.url]}
        for instance in self.stage.instances:
            upstreams.setdefault(instance.service, []).append(instance.url)
        caddy_dir = self.options.data_dir / "caddy"
        caddy_dir.mkdir(parents=True, exist_ok=True)
        caddyfile = caddy_dir / "Caddyfile"
        caddyfile.write_text(
            render_caddyfile(
                load_routes(self.options.stack.gateway.routes),
                upstreams,
                listen_port=self.options.gateway_port,
                log_file=self.logs / "caddy.log",
                # The services trace when OTEL_EXPORTER=otlp (passed through): so does Caddy.
                tracing=os.environ.get("OTEL_EXPORTER", "none").lower() == "otlp",
                # The web app runs on loopback and signs people in on their behalf: Caddy
                # keeps the X-Forwarded-For it sends (each person's address), so identity
                # throttles failed sign-ins per person, not per web process.
                trusted_proxies=("127.0.0.1/32", "::1/128") if "web" in upstreams else (),
            )
        )
        env = service_env(
            {
                # Caddy's own state (autosave, certificates) stays under .data.
                "XDG_CONFIG_HOME": str(caddy_dir / "config"),
                "XDG_DATA_HOME": str(caddy_dir / "data"),
            }
        )
        argv = [binary_path("caddy"), "run", "--config", str(caddyfile), "--adapter", "caddyfile"]
        child = self._child("caddy", argv, env)
        child.mirror = False  # JSON access logs: in .data/logs/caddy.log, not on the console
        self.stage.caddy = child
        await child.start()
        async with httpx.AsyncClient() as client:
            await child.wait_http_ready(self.gateway_url + "/healthz", 30, client)

    # -- run -------------------------------------------------------------------------

    @property
    def gateway_url(self) -> str:
        """The public base URL."""
        return f"http://127.0.0.1:{self.options.gateway_port}"

    def summary(self) -> str:
        """The table of where everything is."""
        took = time.monotonic() - self.started_at
        rows: list[tuple[str, str]] = [
            ("gateway", self.gateway_url),
            ("API docs", f"{self.gateway_url}/docs"),
        ]
        if any(instance.service == "web" for instance in self.stage.instances):
            rows.insert(0, ("web app", f"{self.gateway_url}/"))
        for instance in self.stage.instances:
            rows.append((instance.child.name, instance.url))
        for instance in self.stage.consumers:
            rows.append((instance.child.name, f"{instance.url}/metrics  (no API)"))
        for spec in self.skipped:
            rows.append((spec.name, "not installed: skipped (its routes answer 503)"))
        if self.stage.sidecar:
            rows.append(("sidecar", self.stage.sidecar.url))
        pg_shown = _sqlalchemy_url(self.pg_url).render_as_string(hide_password=True)
        rows.append(("postgres", pg_shown + ("" if self.stage.pg else "  (DATABASE_URL)")))
        nats_note = f"  (monitor {self.stage.nats.monitor_url})" if self.stage.nats else ""
        rows.append(("nats", self.nats_url + (nats_note or "  (NATS_URL)")))
        rows.append(("logs", f"{self.logs}/"))
        width = max(len(name) for name, _ in rows)
        lines = [f"Syllabus is up in {took:.1f} s", ""]
        lines += [f"  {name:<{width}}  {where}" for name, where in rows]
        lines += ["", "Ctrl-C stops everything."]
        return "\n".join(lines)

    def children(self) -> list[Child]:
        """Every long-running child, in start order."""
        found = [instance.child for instance in self.stage.instances]
        found += [instance.child for instance in self.stage.consumers]
        if self.stage.sidecar:
            found.append(self.stage.sidecar.child)
        if self.stage.caddy:
            found.append(self.stage.caddy)
        return found

    async def wait_for_exit(self, stop: asyncio.Event) -> Child | None:
        """Until ``stop`` is set (→ None) or a child dies on its own (→ that child)."""
        while not stop.is_set():
            for child in self.children():
                if child.returncode is not None and not child.expected_exit:
                    return child
            if self.stage.pg is not None and not self.stage.pg.running:
                raise StartupError(f"PostgreSQL exited; see {self.logs / 'postgres.log'}")
            if self.stage.nats is not None and not self.stage.nats.running:
                raise StartupError(f"nats-server exited; see {self.logs / 'nats.log'}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
        return None

    # -- stop ------------------------------------------------------------------------

    async def shutdown(self) -> None:
        """Stop everything started, in reverse order. Safe to call after a failed start."""
        if self.stage.caddy is not None:
            await self.stage.caddy.stop(10)
        if self.stage.sidecar is not None:
            await self.stage.sidecar.child.stop(10)
        by_service: dict[str, list[Instance]] = {}
        for instance in [*self.stage.instances, *self.stage.consumers]:
            by_service.setdefault(instance.service, []).append(instance)
        for instances in reversed(list(by_service.values())):
            await asyncio.gather(*(instance.child.stop(20) for instance in instances))
        if self.stage.nats is not None:
            self.say("stopping NATS")
            self.stage.nats.stop()
        if self.stage.pg is not None:
            self.say("stopping PostgreSQL")
            self.stage.pg.stop()


async def run(options: Options) -> int:
    """Run the stack until Ctrl-C/SIGTERM; 0 on a requested stop, 1 on a failure."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    runner = Runner(options)
    code = 0
    try:
        startup = asyncio.create_task(runner.start())
        stop_wait = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({startup, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        if startup not in done:  # Ctrl-C while starting: abandon the start, then clean up
            startup.cancel()
            with contextlib.suppress(asyncio.CancelledError, StartupError):
                await startup
            runner.say("interrupted while starting")
        else:
            stop_wait.cancel()
            startup.result()  # raises StartupError
            print(runner.summary(), flush=True)
            died = await runner.wait_for_exit(stop)
            if died is not None:
                code = 1
                runner.say(
                    f"{died.name} exited unexpectedly (code {died.returncode}); "
                    f"last lines of {died.log_path}:\n{died.tail()}"
                )
    except StartupError as error:
        code = 1
        runner.say(f"ERROR: {error}")
    finally:
        runner.say("stopping")
        # Shield the shutdown from a second Ctrl-C: half-stopped stacks are worse.
        await asyncio.shield(runner.shutdown())
        runner.say("stopped")
    return code


def clean(data_dir: Path) -> int:
    """Remove the data dir (databases, streams, logs), unless a runner is using it."""
    if not data_dir.exists():
        print(f"nothing to clean: {data_dir} does not exist")
        return 0
    with single_runner_lock(data_dir):
        pass
    shutil.rmtree(data_dir)
    print(f"removed {data_dir}")
    return 0

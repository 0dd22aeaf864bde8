"""The running service: what a process holds while it serves, and how it starts and stops.

A service declares itself once (:class:`~syllabus_shared.declaration.ServiceDeclaration`);
the declaration builds a :class:`Runtime` from its settings (database, NATS, relay,
consumers, projection watcher, the service's own typed parts) in the app's lifespan or
in a CLI command. Nothing is built at import time. Routes reach the runtime through
typed dependencies: ``RuntimeDep``, ``UnitOfWorkDep`` and ``part(SomeClass)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar, cast

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from syllabus_shared.accounts import RevokedUsers
from syllabus_shared.auth import KeySet, TokenVerifier
from syllabus_shared.consistency import ConsistencyGate, ProjectionWatcher
from syllabus_shared.consistency_token import (
    CLEAR_COOKIE,
    COOKIE,
    HEADER,
    ConsistencyToken,
    MalformedToken,
)
from syllabus_shared.contracts import NOTICE_SOURCES, STREAMS
from syllabus_shared.db import Database
from syllabus_shared.faults import fault_hook
from syllabus_shared.messaging.consumer import ConsumerOptions, EventConsumer, Subscription
from syllabus_shared.messaging.nats_link import (
    IncompatibleServer,
    NatsLink,
    StreamConfigConflict,
    ensure_live_stream,
    ensure_stream,
    leaders,
)
from syllabus_shared.messaging.outbox import Outbox, stream_name
from syllabus_shared.messaging.relay import OutboxRelay
from syllabus_shared.messaging.tables import KernelTables
from syllabus_shared.observability import Metrics
from syllabus_shared.problems import Problem, problem_response
from syllabus_shared.settings import ServiceSettings
from syllabus_shared.tracing import Tracing
from syllabus_shared.unit_of_work import UnitOfWork

log = logging.getLogger("syllabus.runtime")

T = TypeVar("T")


class LeaderCheck:
    """Whether the service's own stream and its durable consumers have a leader, for
    ``/readyz``; asked of JetStream at most once per ``ttl`` (probes may come often)."""

    def __init__(self, ttl: float = 1.0, timeout: float = 1.0) -> None:
        self.ttl = ttl
        self.timeout = timeout
        self._at = -ttl
        self._states: dict[str, str] = {}
        self._lock = asyncio.Lock()

    async def states(self, rt: Runtime) -> dict[str, str]:
        """Stream or durable name → ``"ok"``, ``"no leader"``, ``"missing"``, ``"no answer"``."""
        async with self._lock:  # concurrent probes share one round of requests
            if time.monotonic() - self._at < self.ttl:
                return self._states
            consumers = (
                [(c.stream, c.durable) for c in rt.consumers] if rt.settings.run_consumers else []
            )
            try:
                js = rt.nats.jetstream(timeout=self.timeout)
                self._states = await leaders(js, rt.stream, consumers, timeout=self.timeout)
            except Exception as exc:
                self._states = {rt.stream: f"unknown: {type(exc).__name__}"}
            self._at = time.monotonic()
            return self._states


@dataclass
class Runtime:
    """Everything a running service holds, built in the lifespan."""

    settings: ServiceSettings
    db: Database
    nats: NatsLink
    tables: KernelTables
    outbox: Outbox
    metrics: Metrics
    relay: OutboxRelay
    watcher: ProjectionWatcher
    gate: ConsistencyGate
    revoked: RevokedUsers
    consumers: list[EventConsumer] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    tracing: Tracing = field(default_factory=Tracing)
    token_verifier: TokenVerifier | None = None
    parts: dict[type[Any], Any] = field(default_factory=dict)
    leader_check: LeaderCheck = field(default_factory=LeaderCheck)
    fatal_error: Exception | None = None

    @property
    def fatal(self) -> Exception | None:
        """Why this process must not run (a NATS server too old for us, a stream whose
        settings it would have to lower): ``serve`` stops and exits 1, naming it."""
        return self.fatal_error or self.nats.fatal

    def part(self, cls: type[T]) -> T:
        """The service's own runtime part of type ``cls`` (built by its declaration)."""
        try:
            return cast(T, self.parts[cls])
        except KeyError:
            raise LookupError(f"{self.settings.service_name} has no {cls.__name__}") from None

    def unit_of_work(self) -> UnitOfWork:
        """A fresh, unopened unit of work (``async with`` opens its transaction)."""
        return UnitOfWork(
            self.db,
            self.outbox,
            watcher=self.watcher,
            wait_seconds=self.settings.consistency_wait_seconds,
        )

    @property
    def stream(self) -> str:
        return stream_name(self.settings.event_namespace, STREAMS[self.settings.service_name])

    def subjects(self) -> list[str]:
        ns = self.settings.event_namespace
        return [f"{ns}.{self.settings.service_name}.>" if ns else f"{self.settings.service_name}.>"]


def build_runtime(
    settings: ServiceSettings,
    tables: KernelTables,
    subscriptions: Sequence[Subscription] = (),
    metrics: Metrics | None = None,
    tracing: Tracing | None = None,
) -> Runtime:
    metrics = metrics or Metrics()
    tracing = tracing or Tracing()
    tracer = tracing.tracer
    db = Database(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        ping_after_idle=settings.database_ping_after_idle_seconds,
    )
    nats = NatsLink(settings.nats_url, name=settings.service_name)
    fault = fault_hook(settings.fault_injection)
    relay = OutboxRelay(db, tables, nats, metrics=metrics, fault=fault, tracer=tracer)
    outbox = Outbox(
        tables, source=settings.service_name, namespace=settings.event_namespace, tracer=tracer
    )
    consumers = [
        EventConsumer(
            sub,
            db,
            outbox,
            nats,
            namespace=settings.event_namespace,
            metrics=metrics,
            fault=fault,
            options=ConsumerOptions(
                stream_replicas=settings.nats_stream_replicas,
                ack_wait=settings.consumer_ack_wait_seconds,
            ),
            tracer=tracer,
        )
        for sub in subscriptions
    ]
    watcher = ProjectionWatcher(settings.database_url)
    gate = ConsistencyGate(
        db,
        tables.consumer_positions,
        [
            (sub.name, cls.type_name())
            for sub in subscriptions
            if not sub.tells_only
            for cls in sub.handlers
        ],
        watcher,
        settings.consistency_wait_seconds,
    )
    revoked = RevokedUsers(
        db, tables, window=settings.auth_max_token_age_seconds + settings.auth_leeway_seconds
    )
    return Runtime(
        settings,
        db,
        nats,
        tables,
        outbox,
        metrics,
        relay,
        watcher,
        gate,
        revoked,
        consumers,
        tracing=tracing,
    )


async def _own_stream_then_relay(rt: Runtime) -> None:
    delay = 0.2
    while not rt.stop.is_set():
        try:
            await rt.nats.wait_connected()
            await ensure_stream(
                rt.nats.jetstream(),
                rt.stream,
                rt.subjects(),
                replicas=rt.settings.nats_stream_replicas,
            )
            if rt.settings.service_name in NOTICE_SOURCES:
                await ensure_live_stream(
                    rt.nats.jetstream(),
                    rt.settings.event_namespace,
                    replicas=rt.settings.nats_stream_replicas,
                )
            break
        except IncompatibleServer:
            return  # the link logged it; the process stops (``rt.fatal``)
        except StreamConfigConflict as exc:
            log.critical("%s", exc)
            rt.fatal_error = exc
            return
        except Exception as exc:
            log.warning("cannot ensure stream %s yet: %r", rt.stream, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(rt.stop.wait(), delay)
            delay = min(delay * 2, 5.0)
    if rt.settings.run_relay and not rt.stop.is_set():
        await rt.relay.run(rt.stop)


async def start_runtime(rt: Runtime) -> None:
    rt.nats.start()
    rt.revoked.start()
    if rt.consumers:
        rt.watcher.start()
    rt.tasks.append(asyncio.create_task(_own_stream_then_relay(rt), name="relay"))
    if rt.settings.run_consumers:
        for consumer in rt.consumers:
            rt.tasks.append(asyncio.create_task(consumer.run(rt.stop), name=consumer.durable))


async def stop_runtime(rt: Runtime, grace: float = 10.0) -> None:
    """Stop promptly: finish the event in hand, never half-apply one."""
    rt.stop.set()
    if rt.tasks:
        _, pending = await asyncio.wait(rt.tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    await rt.watcher.stop()
    await rt.revoked.stop()
    await rt.nats.close()
    await rt.db.dispose()


async def get_runtime(request: Request) -> Runtime:
    # async: FastAPI runs a plain ``def`` dependency in a worker thread, a thread hop per request.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_unit_of_work(request: Request) -> UnitOfWork:
    runtime: Runtime = request.app.state.runtime
    return runtime.unit_of_work()


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]


async def read_your_writes(request: Request) -> None:
    """Every API route's first dependency: a request carrying a consistency token
    (header or cookie) is served once this service has handled every event the token
    names that it consumes; past the bound, 503 with ``Retry-After``, never stale data."""
    header = request.headers.get(HEADER)
    cookie = request.cookies.get(COOKIE) if "cookie" in request.headers else None
    if header is None and cookie is None:
        return
    runtime: Runtime = request.app.state.runtime
    gate = runtime.gate
    if gate.known_satisfied(header) and gate.known_satisfied(cookie):
        return
    token = ConsistencyToken()
    for where, value in ((f"the {HEADER} header", header), (f"the {COOKIE} cookie", cookie)):
        try:  # one at a time, so the problem names the one that is wrong
            token.merge(ConsistencyToken.read((value,)))
        except MalformedToken as exc:
            # A bad cookie is cleared with the answer: a browser cannot remove an HttpOnly
            # cookie itself, and it would otherwise get this 400 for ever.
            clear = {"Set-Cookie": CLEAR_COOKIE} if value is cookie else None
            raise Problem(
                400,
                f"{where} is not a consistency token: {exc}; send back the value a write"
                " returned, or none",
                kind="malformed-consistency-token",
                headers=clear,
            ) from None
    if not await gate.wait(token):
        runtime.metrics.consistency_timeouts.inc()
        raise Problem(
            503,
            f"{runtime.settings.service_name} has not yet applied the writes this request's"
            f" consistency token names (waited {runtime.settings.consistency_wait_seconds:g}"
            " s); retry shortly",
            kind="consistency-timeout",
            headers={"Retry-After": "1"},
        )
    gate.remember_satisfied(header, cookie)


def part(cls: type[T]) -> Any:
    """A dependency on the service's runtime part ``cls``:
    ``Lookup = Annotated[ModuleLookup, part(ModuleLookup)]``."""

    async def get(request: Request) -> T:
        runtime: Runtime = request.app.state.runtime
        return runtime.part(cls)

    return Depends(get)


def token_verifier(
    settings: ServiceSettings, revoked: RevokedUsers | None = None
) -> TokenVerifier | None:
    """Verifies access tokens against the configured JWKS (None: the service has its own),
    refusing those of deleted accounts (``revoked``)."""
    if not (settings.auth_jwks_url or settings.auth_jwks_json):
        return None
    return TokenVerifier(
        KeySet(jwks_url=settings.auth_jwks_url, jwks_json=settings.auth_jwks_json),
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        leeway=settings.auth_leeway_seconds,
        revoked=revoked.revoked if revoked is not None else None,
    )


def operations_router(metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", include_in_schema=False)
    async def readyz(rt: RuntimeDep, only: str | None = None) -> JSONResponse:
        """Ready when the database and NATS answer, and the service's own stream and its
        durable consumers have a leader (JetStream asked at most once a second); 503
        naming what is not.

        ``?only=database`` judges by the database alone: a load balancer's probe,
        so a NATS outage (during which writes still commit to the outbox and reads
        work) does not take every replica out of service.
        """
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(rt.db.ping(), 2.0)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"down: {type(exc).__name__}"
        checks["nats"] = "ok" if rt.nats.connected else "down"
        if rt.nats.connected and only != "database":
            states = dict(await rt.leader_check.states(rt))
            checks["stream"] = states.pop(rt.stream, "ok")
            if states:
                bad = [f"{name} {state}" for name, state in states.items() if state != "ok"]
                checks["consumers"] = ", ".join(bad) if bad else "ok"
        judged = {only} if only in checks else set(checks)
        down = [name for name, state in checks.items() if state != "ok" and name in judged]
        if down:
            return problem_response(
                503,
                f"not ready: {', '.join(down)} unavailable",
                kind="not-ready",
                headers={"Retry-After": "2"},
                checks=checks,
            )
        return JSONResponse({"status": "ready", "checks": checks})

    @router.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router

"""The service app factory: one shape for every service.

A service's ``main.py`` calls :func:`create_service_app` with its settings, its
tables, routers and subscriptions; everything else (database, NATS, relay,
consumers, token verification, problems, request ids, metrics, health) is here.
Nothing is built at import time: the lifespan builds it from the settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from syllabus_shared.auth import KeySet, TokenVerifier
from syllabus_shared.consistency import ProjectionWatcher
from syllabus_shared.contracts import STREAMS
from syllabus_shared.db import Database
from syllabus_shared.faults import fault_hook
from syllabus_shared.messaging.consumer import ConsumerOptions, EventConsumer, Subscription
from syllabus_shared.messaging.nats_link import NatsLink, ensure_stream
from syllabus_shared.messaging.outbox import Outbox, stream_name
from syllabus_shared.messaging.relay import OutboxRelay
from syllabus_shared.messaging.tables import KernelTables
from syllabus_shared.observability import Metrics, RequestContextMiddleware, configure_logging
from syllabus_shared.problems import install_problem_handlers, problem_response
from syllabus_shared.settings import ServiceSettings
from syllabus_shared.tracing import Tracing, setup_tracing

log = logging.getLogger("syllabus.runtime")


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
    consumers: list[EventConsumer] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    tracing: Tracing = field(default_factory=Tracing)

    @property
    def stream(self) -> str:
        return stream_name(self.settings.event_namespace, STREAMS[self.settings.service_name])

    async def wait_for_projection(self, check: Callable[[], Awaitable[bool]]) -> bool:
        """Read-your-writes: wait (bounded by settings) until ``check`` holds."""
        return await self.watcher.wait_until(check, self.settings.consistency_wait_seconds)

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
    consumers = [
        EventConsumer(
            sub,
            db,
            tables,
            nats,
            namespace=settings.event_namespace,
            metrics=metrics,
            fault=fault,
            options=ConsumerOptions(stream_replicas=settings.nats_stream_replicas),
            tracer=tracer,
        )
        for sub in subscriptions
    ]
    outbox = Outbox(
        tables, source=settings.service_name, namespace=settings.event_namespace, tracer=tracer
    )
    watcher = ProjectionWatcher(settings.database_url)
    return Runtime(
        settings, db, nats, tables, outbox, metrics, relay, watcher, consumers, tracing=tracing
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
            break
        except Exception as exc:
            log.warning("cannot ensure stream %s yet: %r", rt.stream, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(rt.stop.wait(), delay)
            delay = min(delay * 2, 5.0)
    if rt.settings.run_relay and not rt.stop.is_set():
        await rt.relay.run(rt.stop)


async def start_runtime(rt: Runtime) -> None:
    rt.nats.start()
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
    await rt.nats.close()
    await rt.db.dispose()


async def get_runtime(request: Request) -> Runtime:
    # async: FastAPI runs a plain ``def`` dependency in a worker thread, a thread hop per request.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

StartupHook = Callable[[Runtime], Awaitable[None]]


def create_service_app(
    *,
    settings: ServiceSettings,
    tables: KernelTables,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    subscriptions: Sequence[Subscription] = (),
    on_startup: Sequence[StartupHook] = (),
    version: str = "0.1.0",
    root_routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """Build a service's app: ``routers`` under ``/api/v1``, ``root_routers`` at the root
    (e.g. identity's ``/.well-known/jwks.json``), ``on_startup`` hooks run in the lifespan
    once the runtime is up (a failing hook stops the runtime again and fails start-up)."""
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    metrics = Metrics()
    tracing = setup_tracing(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = build_runtime(settings, tables, subscriptions, metrics, tracing)
        app.state.runtime = rt
        if settings.auth_jwks_url or settings.auth_jwks_json:
            app.state.token_verifier = TokenVerifier(
                KeySet(jwks_url=settings.auth_jwks_url, jwks_json=settings.auth_jwks_json),
                issuer=settings.auth_issuer,
                audience=settings.auth_audience,
                leeway=settings.auth_leeway_seconds,
            )
        else:
            app.state.token_verifier = None
        await start_runtime(rt)
        try:
            for hook in on_startup:
                await hook(rt)
            yield
        finally:
            await stop_runtime(rt)
            await asyncio.to_thread(tracing.flush)

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        telemetry=tracing.fastapi_telemetry(),
    )
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    for router in routers:
        app.include_router(router, prefix="/api/v1")
    for router in root_routers:
        app.include_router(router)
    app.include_router(operations_router(metrics))
    return app


def operations_router(metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", include_in_schema=False)
    async def readyz(rt: RuntimeDep, only: str | None = None) -> JSONResponse:
        """Ready when the database and NATS answer; 503 naming what is down.

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

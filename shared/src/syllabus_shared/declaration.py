"""One declaration per service: what it is, read by both its ASGI app and its CLI.

A service's ``main.py`` holds a single :class:`ServiceDeclaration` (eShop's
``Program.cs`` plus its one extensions file): its settings class, its tables and
migrations, its routers, the events it consumes, the typed parts it builds at start-up,
the projection it can replay, and any commands of its own. ``create_app`` (the ASGI
factory) and ``python -m syllabus_<name>`` (the CLI) both read that object; nothing is
imported by string or looked up by a string key.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import MetaData

from syllabus_shared.floor import floor_router
from syllabus_shared.http import ConsistencyMiddleware
from syllabus_shared.messaging.consumer import Subscription
from syllabus_shared.messaging.replay import Projection
from syllabus_shared.messaging.tables import KernelTables
from syllabus_shared.observability import Metrics, RequestContextMiddleware, configure_logging
from syllabus_shared.overload import OverloadMiddleware
from syllabus_shared.problems import install_problem_handlers
from syllabus_shared.runtime import (
    Runtime,
    build_runtime,
    operations_router,
    read_your_writes,
    start_runtime,
    stop_runtime,
    token_verifier,
)
from syllabus_shared.settings import ServiceSettings
from syllabus_shared.tracing import setup_tracing

S = TypeVar("S", bound=ServiceSettings)

# A start-up part: built once the runtime runs (database and NATS started), before the
# first request. What it returns (unless None) is kept in ``Runtime.parts`` under its
# type, for routes to reach with ``part(ThatType)``.
Part = Callable[[Runtime, S], Awaitable[object]]
# A command of the service's own (``python -m syllabus_<name> <command>``): its
# docstring's first line is its help; it returns the exit status.
Command = Callable[[S], int]


@dataclass(frozen=True, kw_only=True)
class ServiceDeclaration(Generic[S]):
    """Everything that makes a service this service; the kernel does the rest."""

    name: str
    title: str
    description: str
    settings: type[S]
    metadata: MetaData  # every table of the service's database, kernel tables included
    tables: KernelTables
    migrations: Path
    routers: Sequence[APIRouter]
    root_routers: Sequence[APIRouter] = ()  # served outside /api/v1 (identity's JWKS)
    subscriptions: Sequence[Subscription] = ()
    parts: Sequence[Part[S]] = ()
    # Built in ``serve`` and in ``consume`` alike (after ``parts``): work that goes with the
    # consumers (progress's completion decider, which starts its task only where
    # ``RUN_CONSUMERS`` is true). ``consume`` builds these and not ``parts``.
    background: Sequence[Part[S]] = ()
    projection: Projection | None = None  # what ``replay`` rebuilds from other streams
    commands: Mapping[str, Command[S]] = field(default_factory=dict)
    version: str = "0.1.0"

    def runtime(self, settings: S, *, metrics: Metrics | None = None) -> Runtime:
        """A runtime for ``settings``, not started (a CLI command starts what it needs)."""
        return build_runtime(settings, self.tables, self.subscriptions, metrics=metrics)

    def create_app(self, settings: S | None = None, *, api: bool = True) -> FastAPI:
        """The ASGI app: routers under ``/api/v1``, operations routes at the root, and a
        lifespan that builds, starts and stops the runtime from ``settings``.

        ``api=False`` is the ``consume`` process: the relay, the consumers and the
        ``background`` parts (as ``RUN_RELAY``/``RUN_CONSUMERS`` say), and only the
        operations routes (``/healthz``, ``/readyz``, ``/metrics``): no API, no ``parts``."""
        settings = settings or self.settings()
        configure_logging(settings.service_name, settings.log_level, settings.log_json)
        metrics = Metrics()
        tracing = setup_tracing(settings)

        @contextlib.asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            rt = build_runtime(settings, self.tables, self.subscriptions, metrics, tracing)
            rt.token_verifier = token_verifier(settings, rt.revoked)
            app.state.runtime = rt
            await start_runtime(rt)
            try:
                parts = [*(self.parts if api else ()), *self.background]
                for build in parts:
                    built = await build(rt, settings)
                    if built is not None:
                        rt.parts.setdefault(type(built), built)
                app.state.token_verifier = rt.token_verifier
                yield
            finally:
                await stop_runtime(rt)
                await asyncio.to_thread(tracing.flush)

        app = FastAPI(
            title=self.title,
            description=self.description,
            version=self.version,
            lifespan=lifespan,
            telemetry=tracing.fastapi_telemetry(),
            openapi_url="/openapi.json" if api else None,  # consume: no API to describe
            docs_url="/docs" if api else None,
            redoc_url="/redoc" if api else None,
        )
        install_problem_handlers(app)
        if not api:
            app.add_middleware(RequestContextMiddleware, metrics=metrics)
            app.include_router(operations_router(metrics))
            return app
        app.add_middleware(ConsistencyMiddleware)
        app.add_middleware(RequestContextMiddleware, metrics=metrics)
        # Outermost: a request over the bound is refused before anything else runs.
        app.add_middleware(
            OverloadMiddleware, limit=settings.max_in_flight_requests, shed=metrics.http_shed
        )
        for router in self.routers:
            app.include_router(router, prefix="/api/v1", dependencies=[Depends(read_your_writes)])
        for router in self.root_routers:
            app.include_router(router)
        if settings.bench_endpoints:
            app.include_router(floor_router(self.tables), prefix="/api/v1")
        app.include_router(operations_router(metrics))
        return app

    def main(self, argv: Sequence[str] | None = None) -> int:
        """``python -m syllabus_<name> migrate|serve|consume|dead-letters|replay|<own command>``."""
        from syllabus_shared.cli import run_cli

        return run_cli(self, argv)

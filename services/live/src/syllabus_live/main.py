"""Live service: each signed-in person's server-sent event stream.

Stateless and in its own process (long-lived connections never share workers with
request/response routes): it owns no database; it learns what changed from the ``LIVE``
stream of notices that progress and assessment publish (who is concerned is decided
there), and which accounts were deleted from identity's stream (``hub``). Any number of
instances can run; each keeps only its open connections.

``python -m syllabus_live serve [--host H] [--port P]`` runs it (``migrate`` does nothing:
there is nothing to migrate). SIGTERM ends every open stream at once, so clients reconnect
(to another instance) before the process stops.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse
from syllabus_shared.auth import KeySet, TokenVerifier
from syllabus_shared.messaging.nats_link import NatsLink
from syllabus_shared.observability import Metrics, RequestContextMiddleware, configure_logging
from syllabus_shared.problems import install_problem_handlers

from syllabus_live import routes
from syllabus_live.hub import Hub
from syllabus_live.settings import Settings


def _operations(hub: Hub, nats: NatsLink, metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks = {
            "nats": "ok" if nats.connected else "down",
            "streams": "ok" if hub.listening.is_set() else "not following yet",
        }
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
        )

    @router.get("/metrics", include_in_schema=False)
    async def metrics_text() -> PlainTextResponse:
        return PlainTextResponse(
            "# HELP live_open_streams Event streams open on this instance.\n"
            "# TYPE live_open_streams gauge\n"
            f"live_open_streams {hub.open_streams}\n"
            "# HELP live_events_delivered_total Notices handed to open streams.\n"
            "# TYPE live_events_delivered_total counter\n"
            f"live_events_delivered_total {hub.delivered}\n",
            media_type="text/plain; version=0.0.4",
        )

    return router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    metrics = Metrics()
    nats = NatsLink(settings.nats_url, name=settings.service_name)
    hub = Hub(
        nats,
        namespace=settings.event_namespace,
        max_streams_per_user=settings.max_streams_per_user,
        queue_size=settings.queue_size,
        token_lifetime_seconds=settings.auth_max_token_age_seconds + settings.auth_leeway_seconds,
        stream_replicas=settings.nats_stream_replicas,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nats.start()
        hub.start()
        try:
            yield
        finally:
            await hub.stop()
            await nats.close()

    app = FastAPI(
        title="Syllabus live",
        description="Server-sent event streams to signed-in people.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.hub = hub
    if settings.auth_jwks_url or settings.auth_jwks_json:
        app.state.token_verifier = TokenVerifier(
            KeySet(jwks_url=settings.auth_jwks_url, jwks_json=settings.auth_jwks_json),
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            leeway=settings.auth_leeway_seconds,
            revoked=hub.revoked,
        )
    # The stream is a plain ASGI endpoint (routes.StreamEndpoint: an open stream holds as
    # little as possible); its operation is documented from routes.DECLARATION.
    declared = APIRouter()
    declared.include_router(routes.DECLARATION, prefix="/api/v1")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=[*app.routes, *declared.routes],
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    install_problem_handlers(app)  # documents the problems on top of it
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.add_middleware(routes.StreamEndpoint, hub=hub, settings=settings)  # outermost
    app.include_router(_operations(hub, nats, metrics))
    return app


class _Server(uvicorn.Server):
    """uvicorn that ends every open stream as soon as it is told to stop (a streaming
    response would otherwise hold the graceful shutdown until its timeout), and stops when
    NATS is one it must not run against (too old), as every service does."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self.app = app
        self.fatal: Exception | None = None

    def handle_exit(self, sig: int, frame: object) -> None:
        self.app.state.hub.shutdown()
        super().handle_exit(sig, frame)  # type: ignore[arg-type]

    async def on_tick(self, counter: int) -> bool:
        fatal = self.app.state.hub.nats.fatal
        if fatal is not None:
            self.fatal = fatal
            self.app.state.hub.shutdown()
            return True
        return await super().on_tick(counter)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m syllabus_live")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="nothing to migrate (live stores nothing)")
    serve = sub.add_parser("serve", help="run the stream service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if args.command == "migrate":
        print("live: nothing to migrate")
        return 0
    app = create_app()
    server = _Server(
        uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=5,
        ),
        app,
    )
    server.run()
    if server.fatal is not None:
        print(f"live: refusing to run: {server.fatal}", file=sys.stderr)
        return 1
    return 0

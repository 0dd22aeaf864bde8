"""The gateway sidecar: one OpenAPI document, Swagger UI, and readiness of the whole stack.

Caddy routes ``/openapi.json``, ``/docs*`` and ``/readyz`` here; everything else goes
straight from Caddy to the services, never through Python. Swagger UI's JavaScript and CSS
come from a Python package (``fastapi-offline``) and are served under ``/docs/static/``,
so ``/docs`` loads nothing from another origin and works without internet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from syllabus_gateway.openapi import merge_openapi
from syllabus_gateway.settings import GatewaySettings

PROBLEM_MEDIA_TYPE = "application/problem+json"
DOCS_STATIC = "/docs/static"  # under /docs*, which routes.toml sends to the sidecar
# Swagger UI 5 as fastapi-offline ships it: swagger-ui-bundle.js, swagger-ui.css, favicon.png
SWAGGER_UI_PACKAGE = ("fastapi_offline", "static")
ServiceState = Literal["ready", "degraded", "down"]


@dataclass
class _CachedSpec:
    expires_at: float
    document: dict[str, Any]


class Upstreams:
    """Talks to the services' own ``/readyz`` and ``/openapi.json``."""

    def __init__(self, settings: GatewaySettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self._spec: _CachedSpec | None = None
        self._spec_lock = asyncio.Lock()

    async def _instance_ready(self, base_url: str) -> bool:
        try:
            response = await self.client.get(f"{base_url}/readyz")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def readiness(self) -> dict[str, ServiceState]:
        """Each service's state: ready (all replicas), degraded (some), down (none)."""
        names = list(self.settings.upstreams)
        results = await asyncio.gather(
            *(
                asyncio.gather(*(self._instance_ready(url) for url in self.settings.upstreams[n]))
                for n in names
            )
        )
        states: dict[str, ServiceState] = {}
        for name, replicas in zip(names, results, strict=True):
            states[name] = "ready" if all(replicas) else "degraded" if any(replicas) else "down"
        return states

    async def _fetch_spec(self, urls: list[str]) -> dict[str, Any] | None:
        for url in urls:  # any replica will do: they serve the same code
            try:
                response = await self.client.get(f"{url}/openapi.json")
                if response.status_code == 200:
                    document = response.json()
                    if isinstance(document, dict):
                        return document
            except (httpx.HTTPError, ValueError):
                continue
        return None

    async def merged_spec(self) -> dict[str, Any]:
        """The merged OpenAPI document, cached briefly (a partial one only for a second)."""
        async with self._spec_lock:  # one refresh at a time, however many clients ask
            now = time.monotonic()
            if self._spec is not None and self._spec.expires_at > now:
                return self._spec.document
            names = list(self.settings.upstreams)
            fetched = await asyncio.gather(
                *(self._fetch_spec(self.settings.upstreams[n]) for n in names)
            )
            documents = {n: d for n, d in zip(names, fetched, strict=True) if d is not None}
            unavailable = [n for n, d in zip(names, fetched, strict=True) if d is None]
            document = merge_openapi(
                documents,
                title=self.settings.api_title,
                version=self.settings.api_version,
                unavailable=unavailable,
            )
            ttl = self.settings.openapi_cache_seconds
            self._spec = _CachedSpec(now + (min(ttl, 1.0) if unavailable else ttl), document)
            return document


def _upstreams(request: Request) -> Upstreams:
    upstreams: Upstreams = request.app.state.upstreams
    return upstreams


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """Build the sidecar app; settings come from the environment unless given."""
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout = httpx.Timeout(settings.upstream_timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout) as client:
            app.state.upstreams = Upstreams(settings, client)
            yield

    # Our own schema is not the API's: /openapi.json and /docs are served by hand below.
    app = FastAPI(
        title="Syllabus gateway",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(await _upstreams(request).merged_spec())

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=settings.api_title,
            swagger_js_url=f"{DOCS_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_STATIC}/favicon.png",
            # No online validator: it would send the document to another origin.
            swagger_ui_parameters={"validatorUrl": None},
        )

    app.mount(DOCS_STATIC, StaticFiles(packages=[SWAGGER_UI_PACKAGE]), name="docs-static")

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        states = await _upstreams(request).readiness()
        down = sorted(name for name, state in states.items() if state == "down")
        if not down:
            return JSONResponse({"status": "ready", "services": states})
        return JSONResponse(
            {
                "type": "https://syllabus.dev/problems/service-unavailable",
                "title": "Service Unavailable",
                "status": 503,
                "detail": f"Not ready: {', '.join(down)}.",
                "services": states,
            },
            status_code=503,
            media_type=PROBLEM_MEDIA_TYPE,
            headers={"Retry-After": str(settings.retry_after_seconds)},
        )

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app

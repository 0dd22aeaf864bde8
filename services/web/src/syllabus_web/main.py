"""The web app: server-rendered pages over the public API (see ../shared/UI.md).

The whole shape in one place: the API client built in the lifespan from the settings,
the session cookie and the security headers around every response, the pages' routers,
the operations routes every service has, and how failures become pages (a problem from
the API is a message in words; nothing ever shows a traceback or raw JSON).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syllabus_web.api import ApiClient, ApiError, SignedOut
from syllabus_web.pages import account, admin, dates, grading, groups, learn, live, login_url, teach
from syllabus_web.session import CsrfRefused, SessionCodec, SessionMiddleware, current_session
from syllabus_web.settings import Settings
from syllabus_web.templating import STATIC, render

log = logging.getLogger("syllabus_web")

# No inline script or style anywhere, nothing from another origin, never in a frame.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]

# Every area's pages; each router CSRF-checks its POSTs (pages_router).
PAGES = (account, learn, live, teach, grading, groups, dates, admin)

REQUESTS = Counter("web_requests_total", "Requests answered by the web", ["status"])
LATENCY = Histogram("web_request_seconds", "Time to answer a request (until it starts)")


class SecurityHeaders:
    """Adds the security headers to every response (pages, files, errors, streams)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
                REQUESTS.labels(str(message["status"])).inc()
                LATENCY.observe(time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    settings: Settings | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """Build the web app; settings come from the environment unless given, and
    ``transport`` (tests) replaces the network under the API client."""
    # WEB_SESSION_SECRET has no default: without it the web refuses to start.
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = ApiClient(settings, transport)
        app.state.api_client = client
        try:
            yield
        finally:
            await client.aclose()

    app = FastAPI(
        title="Syllabus web",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    codec = SessionCodec(
        settings.session_secret.get_secret_value(), settings.session_max_age_seconds
    )
    app.add_middleware(
        SessionMiddleware,
        codec=codec,
        secure=settings.cookie_secure,
        max_age=settings.session_max_age_seconds,
    )
    app.add_middleware(SecurityHeaders)  # outermost: errors and static files get them too

    _operations(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for pages in PAGES:
        app.include_router(pages.router)
    _failures(app)
    return app


def _operations(app: FastAPI) -> None:
    """``/healthz``, ``/readyz``, ``/metrics`` on the web's own port (the gateway answers
    those paths itself, so they are not public through it)."""

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, str]:
        # Ready once it runs: it needs nothing of its own, and a page whose API is down
        # says so ("try again in a moment") rather than the web leaving the rotation.
        return {"status": "ready"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _failures(app: FastAPI) -> None:
    """Every failure as a page a person can read (or, under /api/, a problem document)."""

    @app.exception_handler(SignedOut)
    async def signed_out(request: Request, exc: SignedOut) -> Response:
        current_session(request).say("Your session has ended. Sign in again to go on.")
        target = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(login_url(target), status_code=303)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        message = (
            "This form was not sent from this site, or it has expired. "
            "Nothing was changed. Go back, reload the page and try again."
        )
        return _error_page(request, 403, "Form refused", message)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        if exc.status == 404:
            return _not_found(request)
        if exc.status >= 500:
            return _error_page(request, 503, "Try again in a moment", exc.message, retry=True)
        return _error_page(request, exc.status, "That did not work", exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        # Only path and query parameters are validated by FastAPI here (a malformed id):
        # such a page does not exist.
        return _not_found(request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _not_found(request)
        if exc.status_code == 405:
            return _error_page(request, 405, "Not here", "This page cannot do that.")
        return _error_page(request, exc.status_code, "That did not work", "Something went wrong.")

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        log.exception("page failed: %s %s", request.method, request.url.path)
        message = "Something went wrong on our side. Try again in a moment."
        return _error_page(request, 500, "Something went wrong", message, retry=True)


def _not_found(request: Request) -> Response:
    if request.url.path.startswith("/api/"):
        # The gateway sends every unmatched path here, API paths too: those get the
        # problem document API clients expect, not a page.
        return JSONResponse(
            {
                "type": "https://syllabus.dev/problems/not-found",
                "title": "Not Found",
                "status": 404,
                "detail": "No route matches this path.",
            },
            status_code=404,
            media_type="application/problem+json",
        )
    if request.url.path.startswith("/static/"):
        return PlainTextResponse("Not found", status_code=404)
    return _error_page(
        request,
        404,
        "Page not found",
        "There is no page at this address. Check it, or start again from the home page.",
    )


def _error_page(
    request: Request, status: int, heading: str, message: str, *, retry: bool = False
) -> Response:
    headers = {"Retry-After": "5"} if status == 503 else None
    context = {"heading": heading, "message": message, "retry": retry and request.method == "GET"}
    return render(request, "errors/error.html", context, status_code=status, headers=headers)

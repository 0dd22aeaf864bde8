"""Overload sheds instead of queueing: a bound on the requests one process works on at once.

A process that accepts every request shares its one event loop (and its database pool)
among all of them: past its capacity each request waits behind all the others, and at 128
connections a document that takes 20 ms unloaded took seconds (docs/performance.md). So
each process admits at most ``MAX_IN_FLIGHT_REQUESTS`` requests at a time and answers the
excess at once, before any routing, parsing or authentication, with ``503`` problem+json
(``kind: overloaded``) and ``Retry-After: 1``: the admitted keep their latency, the refused
learn it in microseconds and can retry (another replica, through the gateway, or later).
Counted in ``http_requests_shed_total``. The operations routes (``/healthz``, ``/readyz``,
``/metrics``) are never shed: a busy process is not a dead one, and its probes and metrics
must answer most of all when it is busy.

A pure ASGI middleware (no ``BaseHTTPMiddleware``, no task per request), outermost, so a
shed request costs a counter and one pre-encoded response.
"""

from __future__ import annotations

import json

from prometheus_client import Counter
from starlette.types import ASGIApp, Receive, Scope, Send

from syllabus_shared.problems import PROBLEM_BASE, PROBLEM_MEDIA_TYPE

EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})


def _body(limit: int) -> bytes:
    return json.dumps(
        {
            "type": PROBLEM_BASE + "overloaded",
            "title": "Service Unavailable",
            "status": 503,
            "detail": (
                f"this process is already working on {limit} requests (its bound); "
                "retry after the time Retry-After gives"
            ),
        }
    ).encode()


class OverloadMiddleware:
    """Admits at most ``limit`` requests at once (``limit`` ≤ 0: no bound); the rest get
    ``503`` at once. ``shed`` counts the refused."""

    def __init__(self, app: ASGIApp, limit: int, shed: Counter | None = None) -> None:
        self.app = app
        self.limit = limit
        self.shed = shed
        self.in_flight = 0
        body = _body(limit)
        self._start = {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"),
            ],
        }
        self._body = {"type": "http.response.body", "body": body}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.limit <= 0 or scope["type"] != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            if self.shed is not None:
                self.shed.inc()
            await send(self._start)
            await send(self._body)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

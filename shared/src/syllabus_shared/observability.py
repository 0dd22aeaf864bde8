"""Request ids, JSON logs and Prometheus metrics, the same in every service."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id when there is one."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = rid
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        for key in ("event_id", "event_type", "subject", "status", "method", "path", "ms"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str = "INFO", as_json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if as_json:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "nats"):
        logging.getLogger(noisy).setLevel("WARNING")


class Metrics:
    """The per-process metrics registry and the instruments the kernel records."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.http_shed = Counter(
            "http_requests_shed_total",
            "Requests refused with 503 (overloaded) because MAX_IN_FLIGHT_REQUESTS were in flight",
            registry=self.registry,
        )
        self.outbox_published = Counter(
            "outbox_published_total", "Events published by the relay", registry=self.registry
        )
        self.outbox_publish_errors = Counter(
            "outbox_publish_errors_total", "Relay publish failures", registry=self.registry
        )
        self.events_applied = Counter(
            "events_applied_total",
            "Consumed events by outcome",
            ["consumer", "outcome"],
            registry=self.registry,
        )
        self.events_unhandled = Counter(
            "events_unhandled_total",
            "Events delivered to a consumer that has no handler for their type (acknowledged,"
            " never dead-lettered)",
            ["consumer"],
            registry=self.registry,
        )
        self.event_apply_seconds = Histogram(
            "event_apply_seconds",
            "Time to apply one consumed event",
            ["consumer"],
            registry=self.registry,
        )
        # Backlog and lag: sampled (outbox by the relay, lag by each consumer).
        self.outbox_depth = Gauge(
            "outbox_depth", "Unpublished outbox rows (sampled by the relay)", registry=self.registry
        )
        self._outbox_oldest: float | None = None
        self.outbox_oldest_age = Gauge(
            "outbox_oldest_age_seconds",
            "Age of the oldest unpublished outbox row (0 when none)",
            registry=self.registry,
        )
        self.outbox_oldest_age.set_function(self._oldest_age)
        self.consumer_lag = Gauge(
            "consumer_lag_messages",
            "Messages in the stream not yet delivered to the durable consumer (num_pending)",
            ["consumer"],
            registry=self.registry,
        )
        self.consumer_ack_pending = Gauge(
            "consumer_ack_pending_messages",
            "Messages delivered to the durable consumer and not yet acknowledged",
            ["consumer"],
            registry=self.registry,
        )
        self.events_redelivered = Counter(
            "events_redelivered_total",
            "Consumed messages that were a redelivery (delivered more than once)",
            ["consumer"],
            registry=self.registry,
        )
        self.consistency_timeouts = Counter(
            "consistency_timeouts_total",
            "Requests answered 503 because their consistency token was not reached in time",
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "dead_letters_total",
            "Events written to the dead-letter table",
            ["consumer"],
            registry=self.registry,
        )

    def set_outbox_backlog(self, depth: int, oldest: dt.datetime | None) -> None:
        self.outbox_depth.set(depth)
        self._outbox_oldest = oldest.timestamp() if oldest is not None else None

    def _oldest_age(self) -> float:
        oldest = self._outbox_oldest
        return max(0.0, time.time() - oldest) if oldest is not None else 0.0


def request_id_of(scope: Scope) -> str:
    """The request's id: the client's ``X-Request-ID`` when it is a sane one, else new."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            incoming: str = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(incoming):
                return incoming
            break
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Sets ``X-Request-ID`` (echoing a sane client value) and records metrics per route."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope)
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            self.metrics.http_requests.labels(method, template, str(status_holder["status"])).inc()
            self.metrics.http_latency.labels(method, template).observe(
                time.perf_counter() - started
            )
            request_id_var.reset(token)

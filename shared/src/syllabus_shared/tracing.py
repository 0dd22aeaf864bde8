"""OpenTelemetry tracing, the same in every service.

One ``TracerProvider`` per service process, built from the settings
(``OTEL_EXPORTER``): ``none`` (the default: no spans, no cost), ``otlp`` (OTLP/HTTP to
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, batched) or
``memory`` (kept in the process, for tests). ``service.name`` is the service's name.

The spans of one write, across processes:

- ``<METHOD> <route>`` (server): FastAPI's native telemetry, a child of the incoming
  W3C ``traceparent`` (the gateway's span when Caddy traces, the client's otherwise);
- ``outbox.add <Event>`` (producer): the event is recorded in the outbox; its context
  travels in the envelope as the CloudEvents distributed-tracing extension
  (``traceparent``/``tracestate`` attributes), so it survives the commit;
- ``publish <subject>`` (producer): the relay, a child of the envelope's context; its own
  context goes to the NATS message headers (``traceparent``/``tracestate``);
- ``apply <Event>`` (consumer): each consumer, a child of the headers' context (or of
  the envelope's, for a message published without them). Events a handler causes are
  recorded under it, so the trace goes on through the next service.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from syllabus_shared.settings import ServiceSettings

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
# Paths that never get a span: probes and scrapes would drown the traces.
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_W3C = TraceContextTextMapPropagator()
_TRACEPARENT_KEY = b'"traceparent"'
_NO_TRACEPARENT = b'"traceparent":null'


@dataclass
class Tracing:
    """A process's tracing: ``tracer`` is None when tracing is off."""

    provider: TracerProvider | None = None
    exporter: InMemorySpanExporter | None = None  # with OTEL_EXPORTER=memory

    @property
    def tracer(self) -> Tracer | None:
        if self.provider is None:
            return None
        return self.provider.get_tracer("syllabus")

    def fastapi_telemetry(self) -> TelemetryConfig:
        """``FastAPI(telemetry=...)``: server spans from this provider, nothing else
        (Prometheus has the request metrics; logs are ours)."""
        if self.provider is None:
            return {"tracing": False, "metrics": False, "logs": False, "auto_configure": False}
        return {
            "tracing": True,
            "tracer_provider": self.provider,
            "operation_spans": False,
            "exclude": _untraced,
            "metrics": False,
            "logs": False,
            "auto_configure": False,
        }

    def flush(self, timeout_millis: int = 2000) -> None:
        """Export what is buffered (on shutdown; the provider also flushes at exit)."""
        if self.provider is not None:
            self.provider.force_flush(timeout_millis)


def _untraced(scope: Any) -> bool:
    return scope.get("type") != "http" or scope.get("path") in UNTRACED_PATHS


def setup_tracing(settings: ServiceSettings) -> Tracing:
    """The tracer provider the settings ask for (none by default)."""
    if settings.otel_exporter == "none":
        return Tracing()
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    # The sampler comes from OTEL_TRACES_SAMPLER(_ARG) (default: parent-based, always on).
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    if settings.otel_exporter == "memory":
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        return Tracing(provider, exporter)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return Tracing(provider)


def current_trace_headers() -> dict[str, str]:
    """The current span's context as W3C ``traceparent``/``tracestate`` (empty if none)."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier


def headers_for(span: trace.Span) -> dict[str, str]:
    """``span``'s context as W3C ``traceparent``/``tracestate``."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context=trace.set_span_in_context(span))
    return carrier


def context_from(headers: Mapping[str, str] | None) -> Context | None:
    """The remote parent named by ``traceparent`` in ``headers`` (None when absent)."""
    if not headers or TRACEPARENT not in headers:
        return None
    return _W3C.extract(headers)


def envelope_trace_headers(payload: bytes) -> dict[str, str]:
    """``traceparent``/``tracestate`` of a serialized envelope (cheap when it has none)."""
    if _TRACEPARENT_KEY not in payload or _NO_TRACEPARENT in payload:
        return {}  # compact JSON as the outbox writes it: no parse for an untraced event
    try:
        doc = json.loads(payload)
    except ValueError:
        return {}
    if not isinstance(doc, dict):
        return {}
    return {k: v for k in (TRACEPARENT, TRACESTATE) if isinstance(v := doc.get(k), str)}

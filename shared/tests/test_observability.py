"""Traces through outbox → relay → NATS → consumer, the backlog/lag/redelivery/dead-letter
metrics, and trace ids on log lines (issue 9, item 5), against real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import func, select
from syllabus_shared.contracts.catalog import ModuleCreated, ModuleUpdated
from syllabus_shared.messaging.outbox import Outbox
from syllabus_shared.observability import JsonFormatter, Metrics
from syllabus_shared.settings import ServiceSettings
from syllabus_shared.tracing import setup_tracing
from syllabus_shared.unit_of_work import UnitOfWork
from test_consumer import consumer, make_projection, publish, run_until, upsert_title

from conftest import Kernel


def memory_tracer() -> tuple[trace.Tracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test"), exporter


def one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent else None


def module_created() -> ModuleCreated:
    return ModuleCreated(module_id=uuid.uuid4(), title="m", creator_id=uuid.uuid4())


async def test_trace_goes_from_outbox_through_the_relay_and_nats_to_the_consumer(
    kernel: Kernel,
) -> None:
    tracer, exporter = memory_tracer()
    await make_projection(kernel)
    outbox = Outbox(kernel.tables, source="catalog", namespace=kernel.namespace, tracer=tracer)
    with tracer.start_as_current_span("request") as request:
        async with kernel.db.transaction() as s:
            await outbox.add(s, module_created(), sequence=1)
    await kernel.relay(tracer=tracer).drain()
    c = consumer(kernel, upsert_title(kernel))
    c.tracer = tracer
    await run_until(c, lambda: _has(exporter, "apply ModuleCreated"))

    spans = list(exporter.get_finished_spans())
    add = one(spans, "outbox.add ModuleCreated")
    publish_span = one(spans, f"publish {kernel.namespace}.catalog.module.ModuleCreated")
    apply = one(spans, "apply ModuleCreated")
    trace_id = request.get_span_context().trace_id
    assert {add.context.trace_id, publish_span.context.trace_id, apply.context.trace_id} == {
        trace_id
    }
    assert parent_of(add) == request.get_span_context().span_id
    assert parent_of(publish_span) == add.context.span_id  # via the envelope, after commit
    assert parent_of(apply) == publish_span.context.span_id  # via the NATS headers
    assert (add.kind, publish_span.kind, apply.kind) == (
        SpanKind.PRODUCER,
        SpanKind.PRODUCER,
        SpanKind.CONSUMER,
    )
    assert apply.attributes is not None and apply.attributes["syllabus.outcome"] == "applied"

    (msg,) = await kernel.stream_messages()
    envelope = json.loads(msg.data)
    assert envelope["traceparent"].startswith(f"00-{trace_id:032x}-{add.context.span_id:016x}-")
    assert msg.headers is not None
    assert msg.headers["traceparent"].startswith(
        f"00-{trace_id:032x}-{publish_span.context.span_id:016x}-"
    )


async def _has(exporter: InMemorySpanExporter, name: str) -> bool:
    return any(s.name == name for s in exporter.get_finished_spans())


async def test_untraced_producers_write_no_trace_attributes(kernel: Kernel) -> None:
    async with kernel.db.transaction() as s:
        await kernel.outbox.add(s, module_created(), sequence=1)
    await kernel.relay().drain()
    (msg,) = await kernel.stream_messages()
    assert "traceparent" not in json.loads(msg.data)
    assert msg.headers is not None and "traceparent" not in msg.headers


async def test_consumer_links_to_the_envelope_when_headers_have_no_context(
    kernel: Kernel,
) -> None:
    """A message published by something else than the relay still joins its trace."""
    tracer, exporter = memory_tracer()
    await make_projection(kernel)
    with tracer.start_as_current_span("producer") as producer:
        await publish(kernel, module_created(), 1)  # envelope carries the context; headers not
    c = consumer(kernel, upsert_title(kernel))
    c.tracer = tracer
    await run_until(c, lambda: _has(exporter, "apply ModuleCreated"))
    apply = one(list(exporter.get_finished_spans()), "apply ModuleCreated")
    assert apply.context.trace_id == producer.get_span_context().trace_id
    assert parent_of(apply) == producer.get_span_context().span_id


async def test_relay_samples_outbox_depth_and_oldest_age(kernel: Kernel) -> None:
    metrics = Metrics()
    relay = kernel.relay(metrics=metrics)
    async with kernel.db.transaction() as s:
        for _ in range(3):
            await kernel.outbox.add(s, module_created(), sequence=1)
    await asyncio.sleep(0.05)
    await relay.sample_backlog(force=True)
    assert metrics.registry.get_sample_value("outbox_depth") == 3
    age = metrics.registry.get_sample_value("outbox_oldest_age_seconds")
    assert age is not None and 0.04 < age < 60
    await relay.drain()
    await relay.sample_backlog()  # rate-limited: not sampled again yet
    assert metrics.registry.get_sample_value("outbox_depth") == 3
    await relay.sample_backlog(force=True)
    assert metrics.registry.get_sample_value("outbox_depth") == 0
    assert metrics.registry.get_sample_value("outbox_oldest_age_seconds") == 0


async def test_running_relay_keeps_the_backlog_gauges_current(kernel: Kernel) -> None:
    metrics = Metrics()
    relay = kernel.relay(metrics=metrics, backlog_interval=0.05, poll_interval=0.05)
    connection, kernel.nats.nc = kernel.nats.nc, None  # NATS "down": rows stay unpublished
    async with kernel.db.transaction() as s:
        await kernel.outbox.add(s, module_created(), sequence=1)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        for _ in range(100):
            if metrics.registry.get_sample_value("outbox_depth") == 1:
                break
            await asyncio.sleep(0.02)
        assert metrics.registry.get_sample_value("outbox_depth") == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        kernel.nats.nc = connection


async def test_consumer_counts_redeliveries_dead_letters_and_lag(kernel: Kernel) -> None:
    await make_projection(kernel)

    async def failing(uow: UnitOfWork, event: ModuleCreated | ModuleUpdated) -> None:
        if event.title == "bad":
            raise ValueError("handler bug")

    for title in ("bad", "ok-1", "ok-2"):
        event = ModuleCreated(module_id=uuid.uuid4(), title=title, creator_id=uuid.uuid4())
        await publish(kernel, event, 1)
    c = consumer(kernel, failing, max_attempts=2, lag_interval=0.05)
    c.metrics = metrics = Metrics()

    async def settled() -> bool:
        async with kernel.db.transaction() as s:
            dead = await s.scalar(select(func.count()).select_from(kernel.tables.dead_letters))
        applied = metrics.registry.get_sample_value(
            "events_applied_total", {"consumer": c.durable, "outcome": "applied"}
        )
        pending = metrics.registry.get_sample_value(
            "consumer_ack_pending_messages", {"consumer": c.durable}
        )
        return bool(dead == 1 and applied == 2 and pending == 0)

    await run_until(c, settled)
    labels = {"consumer": c.durable}
    assert metrics.registry.get_sample_value("dead_letters_total", labels) == 1
    assert metrics.registry.get_sample_value("events_redelivered_total", labels) == 1
    assert metrics.registry.get_sample_value("consumer_lag_messages", labels) == 0
    assert metrics.registry.get_sample_value("consumer_ack_pending_messages", labels) == 0
    assert metrics.registry.get_sample_value("event_apply_seconds_count", labels) == 4


def test_json_log_lines_carry_trace_and_span_ids() -> None:
    tracer, _ = memory_tracer()
    formatter = JsonFormatter("catalog")

    def line() -> dict[str, str]:
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "hello", None, None)
        parsed: dict[str, str] = json.loads(formatter.format(record))
        return parsed

    assert "trace_id" not in line()
    with tracer.start_as_current_span("work") as span:
        entry = line()
    ctx = span.get_span_context()
    assert entry["trace_id"] == f"{ctx.trace_id:032x}"
    assert entry["span_id"] == f"{ctx.span_id:016x}"


def test_tracing_is_off_by_default_and_built_from_settings() -> None:
    assert setup_tracing(ServiceSettings()).tracer is None
    assert ServiceSettings().otel_exporter == "none"
    tracing = setup_tracing(ServiceSettings(service_name="progress", otel_exporter="memory"))
    assert tracing.tracer is not None and tracing.exporter is not None
    with tracing.tracer.start_as_current_span("x"):
        pass
    (span,) = tracing.exporter.get_finished_spans()
    assert span.resource.attributes["service.name"] == "progress"

"""One completion's trace shows every hop (issue 9, item 5's acceptance).

progress and content run in this process, each with its own tracer provider (in-memory
exporter, ``OTEL_EXPORTER=memory``), on a real PostgreSQL and NATS; the test plays the
gateway: it opens the request's first span and sends its ``traceparent``, as Caddy does
when it traces. The trace must read

    gateway → PUT /api/v1/me/completions/{post_id} (progress) → outbox.add PostCompleted
    → publish <ns>.progress.completion.PostCompleted (progress's relay)
    → apply PostCompleted (content's consumer)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nats
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy import select
from syllabus_content.main import create_app as create_content
from syllabus_content.settings import Settings as ContentSettings
from syllabus_devkit.testing.plugin import Databases, serve_app
from syllabus_devkit.testing.tokens import TokenFactory
from syllabus_progress.main import create_app as create_progress
from syllabus_progress.settings import Settings as ProgressSettings
from syllabus_shared.contracts import Event
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import content as pe
from syllabus_shared.db import new_metadata
from syllabus_shared.ids import new_id
from syllabus_shared.messaging.nats_link import ensure_stream
from syllabus_shared.messaging.outbox import Outbox, stream_name, subject_for
from syllabus_shared.messaging.tables import kernel_tables
from syllabus_shared.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1"


@contextlib.asynccontextmanager
async def running(app: Any, base_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    async with serve_app(app, base_url) as client:
        runtime: Runtime = app.state.runtime
        for consumer in runtime.consumers:
            await asyncio.wait_for(consumer.ready.wait(), 10)
        yield client, runtime


async def publish_upstream(nats_url: str, namespace: str, events: list[Event]) -> None:
    """Catalog's and content's events for one course, as their relays would publish them."""
    tables = kernel_tables(new_metadata())
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        sequences: dict[tuple[str, uuid.UUID], int] = {}
        for source, stream in (("catalog", "CATALOG"), ("content", "CONTENT")):
            await ensure_stream(js, stream_name(namespace, stream), [f"{namespace}.{source}.>"])
        for event in events:
            key = (event.aggregate, event.subject_id())
            sequences[key] = sequences.get(key, 0) + 1
            outbox = Outbox(tables, source=event.source, namespace=namespace)
            envelope = outbox.envelope(event, sequences[key])
            await js.publish(
                subject_for(namespace, type(event)),
                envelope.model_dump_json().encode(),
                headers={"Nats-Msg-Id": str(envelope.id)},
            )
    finally:
        await nc.close()


def course_events(instructor: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID, list[Event]]:
    course_id, module_id, post_id = new_id(), new_id(), new_id()
    course = {
        "course_id": course_id,
        "slug": f"traced-{course_id.hex[-6:]}",
        "title": "Traced",
        "visibility": "public",
        "creator_id": instructor,
    }
    events: list[Event] = [
        ce.CourseCreated(**course, status="draft"),
        ce.CoursePublished(**course, status="published"),
        ce.ModuleCreated(module_id=module_id, title="M1", creator_id=instructor),
        ce.ModuleAttached(
            course_id=course_id,
            module_id=module_id,
            position=1,
            modules=[ce.ModulePlacement(module_id=module_id, position=1)],
        ),
        pe.PostCreated(
            post_id=post_id,
            module_id=module_id,
            position=1,
            title="P1",
            kind="text",
            status="published",
            max_points=None,
            creator_id=instructor,
        ),
    ]
    return course_id, post_id, events


async def spans_until(
    exporter: InMemorySpanExporter, name: str, trace_id: int, timeout: float = 10.0
) -> list[ReadableSpan]:
    deadline = time.monotonic() + timeout
    while True:
        spans = [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]
        if any(s.name == name for s in spans) or time.monotonic() > deadline:
            return spans
        await asyncio.sleep(0.05)


def one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, (name, [s.name for s in spans])
    return found[0]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent else None


def service_of(span: ReadableSpan) -> Any:
    return span.resource.attributes["service.name"]


async def test_a_completions_trace_shows_every_hop(
    databases: Databases, nats_url: str, namespace: str, tokens: TokenFactory
) -> None:
    common: dict[str, Any] = {
        "nats_url": nats_url,
        "event_namespace": namespace,
        "auth_jwks_json": tokens.jwks_json,
        "service_env": "test",
        "log_json": False,
        "otel_exporter": "memory",
    }
    progress_settings = ProgressSettings(
        database_url=await databases.create(ROOT / "services/progress/migrations"), **common
    )
    content_settings = ContentSettings(
        database_url=await databases.create(ROOT / "services/content/migrations"), **common
    )
    gateway_exporter = InMemorySpanExporter()
    gateway_provider = TracerProvider(resource=Resource.create({"service.name": "gateway"}))
    gateway_provider.add_span_processor(SimpleSpanProcessor(gateway_exporter))
    gateway = gateway_provider.get_tracer("test-gateway")

    progress_app, content_app = create_progress(progress_settings), create_content(content_settings)
    async with (
        running(progress_app, "http://progress") as (progress, progress_rt),
        running(content_app, "http://content") as (_, content_rt),
    ):
        course_id, post_id, events = course_events(uuid.uuid4())
        await publish_upstream(nats_url, namespace, events)
        student = tokens.headers(uuid.uuid4(), "student")
        r = await progress.post(f"{API}/courses/{course_id}/enrollments", headers=student)
        assert r.status_code == 201, r.text

        with gateway.start_as_current_span("gateway", kind=SpanKind.SERVER) as gateway_span:
            headers = dict(student)
            TraceContextTextMapPropagator().inject(headers)
            r = await progress.put(f"{API}/me/completions/{post_id}", headers=headers)
        assert r.status_code == 201, r.text
        trace_id = gateway_span.get_span_context().trace_id

        assert content_rt.tracing.exporter is not None
        assert progress_rt.tracing.exporter is not None
        content_spans = await spans_until(
            content_rt.tracing.exporter, "apply PostCompleted", trace_id
        )
        progress_spans = [
            s
            for s in progress_rt.tracing.exporter.get_finished_spans()
            if s.context.trace_id == trace_id
        ]

        server = one(progress_spans, "PUT /api/v1/me/completions/{post_id}")
        add = one(progress_spans, "outbox.add PostCompleted")
        publish = one(progress_spans, f"publish {namespace}.progress.completion.PostCompleted")
        apply = one(content_spans, "apply PostCompleted")

        # gateway → progress (HTTP, W3C traceparent)
        assert parent_of(server) == gateway_span.get_span_context().span_id
        assert server.kind == SpanKind.SERVER and service_of(server) == "progress"
        assert server.attributes is not None
        assert server.attributes["http.response.status_code"] == 201
        # progress's request → the outbox row, in the same transaction
        assert parent_of(add) == server.context.span_id
        assert add.kind == SpanKind.PRODUCER
        # the outbox row → the relay's publish (context stored in the envelope)
        assert parent_of(publish) == add.context.span_id
        assert publish.kind == SpanKind.PRODUCER and service_of(publish) == "progress"
        # the publish → content's consumer (context in the NATS message headers)
        assert parent_of(apply) == publish.context.span_id
        assert apply.kind == SpanKind.CONSUMER and service_of(apply) == "content"
        assert apply.attributes is not None
        assert apply.attributes["syllabus.outcome"] == "applied"
        assert apply.attributes["messaging.consumer.group.name"] == (
            f"{namespace}_content-from-progress"
        )
        # and the hops happen in that order
        assert server.start_time is not None and add.start_time is not None
        assert publish.start_time is not None and apply.start_time is not None
        assert server.start_time <= add.start_time <= publish.start_time <= apply.start_time

        # The event itself carries its creation context (CloudEvents distributed tracing).
        ob = progress_rt.tables.outbox
        async with progress_rt.db.transaction() as session:
            payload = await session.scalar(
                select(ob.c.payload).where(ob.c.event_type == "syllabus.progress.PostCompleted.v1")
            )
        assert payload is not None
        assert f"-{add.context.span_id:016x}-".encode() in payload
        assert f"{trace_id:032x}".encode() in payload

        # Probes and scrapes are not traced (the consumers may still be tracing events in
        # the background meanwhile, e.g. the notices of the completion: no server span).
        before = len(progress_rt.tracing.exporter.get_finished_spans())
        for path in ("/healthz", "/readyz", "/metrics"):
            assert (await progress.get(path)).status_code == 200
        after = progress_rt.tracing.exporter.get_finished_spans()[before:]
        assert [s.name for s in after if s.kind == SpanKind.SERVER] == []

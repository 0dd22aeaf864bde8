# ruff: noqa: E501
"""Event-path measurements: commit→projection lag, relay and rebuild throughput, each with
its raw JetStream baseline on the same NATS server, in the same run.

The kernel's own pieces (``OutboxRelay``, ``replay.replay``) are driven here in the
bench process against throwaway databases and namespaced streams on the stack's own
PostgreSQL and NATS, so the running services never see these events.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import nats
import psycopg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import create_engine, insert
from stack import ROOT, Stack
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import content as pe
from syllabus_shared.db import Database, new_metadata
from syllabus_shared.messaging.nats_link import NatsLink, ensure_stream
from syllabus_shared.messaging.outbox import Outbox, subject_for
from syllabus_shared.messaging.relay import OutboxRelay
from syllabus_shared.messaging.tables import kernel_tables

# The two pipelines whose lag is measured: event -> (producer db, consumer db, consumer, type).
LAG_PIPELINES: dict[str, tuple[str, str, str, str]] = {
    "ModuleAttached": (
        "syllabus_catalog",
        "syllabus_progress",
        "progress-from-catalog",
        "syllabus.catalog.ModuleAttached.v1",
    ),
    "PostCompleted": (
        "syllabus_progress",
        "syllabus_content",
        "content-from-progress",
        "syllabus.progress.PostCompleted.v1",
    ),
}

# ---------------------------------------------------------------- commit → projection lag

TRIGGER = """
CREATE TABLE IF NOT EXISTS bench_outbox_xid (id uuid PRIMARY KEY, xid bigint NOT NULL);
CREATE OR REPLACE FUNCTION bench_outbox_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO bench_outbox_xid VALUES (NEW.id, txid_current()); RETURN NEW; END $$;
DROP TRIGGER IF EXISTS bench_outbox_xid ON outbox;
CREATE TRIGGER bench_outbox_xid AFTER INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION bench_outbox_xid();
"""


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def install_commit_probes(stack: Stack, databases: list[str]) -> None:
    """Remember each outbox row's transaction id (the relay later updates the row, which
    changes its ``xmin``), so its exact commit time can be read back afterwards."""
    for name in databases:
        with psycopg.connect(libpq(stack.db_url(name)), autocommit=True) as conn:
            conn.execute(TRIGGER)  # type: ignore[arg-type]


def db_now(stack: Stack) -> dt.datetime:
    with psycopg.connect(libpq(stack.pg_url)) as conn:
        row = conn.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        return row[0]  # type: ignore[no-any-return]


def commit_lags(
    stack: Stack,
    producer_db: str,
    consumer_db: str,
    consumer: str,
    event_type: str,
    since: dt.datetime,
    until: dt.datetime,
) -> tuple[list[float], int]:
    """(lags in ms, events with no consumer commit yet) for events produced in the window.

    Producer commit = commit timestamp of the transaction that inserted the outbox row;
    consumer commit = commit timestamp of the transaction that inserted the inbox row
    (inbox rows are never updated, so their ``xmin`` is that transaction). Both are
    PostgreSQL's own commit timestamps (``track_commit_timestamp``), on one clock.
    """
    with psycopg.connect(libpq(stack.db_url(producer_db))) as conn:
        produced = dict(
            conn.execute(
                "SELECT o.id, pg_xact_commit_timestamp((b.xid %% 4294967296)::text::xid)"
                " FROM outbox o JOIN bench_outbox_xid b USING (id)"
                " WHERE o.event_type = %s AND o.created_at BETWEEN %s AND %s",
                (event_type, since, until),
            ).fetchall()
        )
    with psycopg.connect(libpq(stack.db_url(consumer_db))) as conn:
        applied = dict(
            conn.execute(
                "SELECT event_id, pg_xact_commit_timestamp(xmin) FROM inbox"
                " WHERE consumer = %s AND event_id = ANY(%s)",
                (consumer, list(produced)),
            ).fetchall()
        )
    lags = [
        (applied[i] - t).total_seconds() * 1000
        for i, t in produced.items()
        if i in applied and t is not None
    ]
    return lags, len(produced) - len(applied)


def commit_stages(
    stack: Stack,
    producer_db: str,
    consumer_db: str,
    consumer: str,
    event_type: str,
    since: dt.datetime,
    until: dt.datetime,
) -> dict[str, list[float]]:
    """Where the lag goes, per event produced in the window: ms after the producing commit
    at which the relay's transaction began (``picked``: it sets ``published_at = now()``,
    its transaction's start, in the same transaction as the publishes), the relay
    committed (``relayed``: the row's ``xmin`` after that update), the consumer's
    transaction began (``began``: the inbox row's ``processed_at = now()``; the publish
    was acknowledged and delivered before), and it committed (``applied``). All PostgreSQL
    times on one clock (``track_commit_timestamp``). Only events applied by now count."""
    with psycopg.connect(libpq(stack.db_url(producer_db))) as conn:
        produced = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT o.id, pg_xact_commit_timestamp((b.xid %% 4294967296)::text::xid),"
                " o.published_at, pg_xact_commit_timestamp(o.xmin)"
                " FROM outbox o JOIN bench_outbox_xid b USING (id)"
                " WHERE o.event_type = %s AND o.created_at BETWEEN %s AND %s"
                " AND o.published_at IS NOT NULL",
                (event_type, since, until),
            ).fetchall()
        }
    with psycopg.connect(libpq(stack.db_url(consumer_db))) as conn:
        applied = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT event_id, processed_at, pg_xact_commit_timestamp(xmin) FROM inbox"
                " WHERE consumer = %s AND event_id = ANY(%s)",
                (consumer, list(produced)),
            ).fetchall()
        }
    out: dict[str, list[float]] = {"picked": [], "relayed": [], "began": [], "applied": []}
    for event_id, (committed, picked, relayed) in produced.items():
        if event_id not in applied or committed is None or relayed is None:
            continue
        began, done = applied[event_id]
        for key, t in (
            ("picked", picked),
            ("relayed", relayed),
            ("began", began),
            ("applied", done),
        ):
            out[key].append((t - committed).total_seconds() * 1000)
    return out


def idle_lag(stack: Stack, drives: list[tuple[str, Any]], seconds: float = 3.0) -> dict[str, Any]:
    """One event at a time (10/s per pipeline, nothing else running): lag and its stages
    per pipeline. ``drives``: (base URL, request scripts) producing each pipeline's event."""
    import drivers
    from run import pct

    since = db_now(stack)
    for base, scripts in drives:
        drivers.run_python(base, scripts[:1], 1, seconds, 0.0, rate=10.0)
    until = db_now(stack)
    time.sleep(1.0)
    idle: dict[str, Any] = {}
    for name, (producer, consumer_db, consumer, etype) in LAG_PIPELINES.items():
        xs, miss = commit_lags(stack, producer, consumer_db, consumer, etype, since, until)
        st = commit_stages(stack, producer, consumer_db, consumer, etype, since, until)
        idle[name] = {
            "p50_ms": pct(xs, 50),
            "p99_ms": pct(xs, 99),
            "n": len(xs),
            "missing": miss,
            "stages": {k: {"p50_ms": pct(v, 50), "p99_ms": pct(v, 99)} for k, v in st.items()},
        }
    return idle


async def raw_latency(nats_url: str, rate: float, duration: float) -> list[float]:
    """JetStream alone: publish (awaiting the ack) at ``rate``/s; a pull consumer on the
    same stream receives and acks. ms from the publish call to the consumer holding it."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    stream = f"BENCHLAT_{uuid.uuid4().hex[:8].upper()}"
    subject = f"benchlat.{stream.lower()}"
    await ensure_stream(js, stream, [subject])
    psub = await js.pull_subscribe(subject, durable="lat", stream=stream)
    lags: list[float] = []
    total = int(rate * duration)
    stop = asyncio.Event()

    async def consume() -> None:
        while not stop.is_set():
            try:
                msgs = await psub.fetch(1, timeout=0.5)
            except TimeoutError:
                continue
            now = time.perf_counter()
            for msg in msgs:
                lags.append((now - float(msg.data)) * 1000)
                await msg.ack()

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    t0 = time.perf_counter()
    for k in range(total):
        delay = t0 + k / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await js.publish(
            subject, repr(time.perf_counter()).encode(), headers={"Nats-Msg-Id": uuid.uuid4().hex}
        )
    deadline = time.perf_counter() + 5
    while len(lags) < total and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    stop.set()
    await task
    await js.delete_stream(stream)
    await nc.close()
    return lags


# ---------------------------------------------------------------- relay vs raw publish


def _create_database(stack: Stack, name: str) -> str:
    with psycopg.connect(libpq(stack.pg_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    return stack.db_url(name)


def _outline_event(course_id: uuid.UUID) -> ce.ModuleAttached:
    module_id = uuid.uuid4()
    return ce.ModuleAttached(
        course_id=course_id,
        module_id=module_id,
        position=1,
        modules=[ce.ModulePlacement(module_id=module_id, position=1)],
    )


async def relay_throughput(stack: Stack, events: int, repeats: int) -> dict[str, list[float]]:
    """events/s: ``OutboxRelay.drain()`` over ``events`` committed outbox rows, vs the same
    payloads published raw (``js.publish_async`` with Nats-Msg-Id, as the relay does, in
    batches of the relay's batch size, each batch's acknowledgements awaited) to a stream of the same configuration."""
    url = _create_database(stack, "bench_relay")
    metadata = new_metadata()
    tables = kernel_tables(metadata)
    engine = create_engine(url)
    metadata.create_all(engine)
    ns = "benchrelay"
    outbox = Outbox(tables, source="catalog", namespace=ns)
    subject = subject_for(ns, ce.ModuleAttached)
    db = Database(url)
    link = NatsLink(stack.nats_url, name="bench-relay")
    link.start()
    await link.wait_connected()
    js = link.jetstream()
    relay = OutboxRelay(db, tables, link)
    out: dict[str, list[float]] = {"relay": [], "raw": []}
    for _ in range(repeats):
        rows = []
        for _ in range(events):
            env = outbox.envelope(_outline_event(uuid.uuid4()), 1)
            rows.append(
                {
                    "id": env.id,
                    "subject": subject,
                    "event_type": env.type,
                    "aggregate_id": env.subject,
                    "sequence": 1,
                    "payload": env.model_dump_json().encode(),
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(tables.outbox), rows)
        for stream, subj in (
            ("BENCHRELAY_CATALOG", f"{ns}.catalog.>"),
            ("BENCHRAWPUB", "benchrawpub.>"),
        ):
            await ensure_stream(js, stream, [subj])
            await js.purge_stream(stream)
        t0 = time.perf_counter()
        sent = await relay.drain()
        out["relay"].append(sent / (time.perf_counter() - t0))
        batch = relay.batch_size
        t0 = time.perf_counter()
        for i in range(0, len(rows), batch):
            acks = [
                await js.publish_async(
                    "benchrawpub." + r["subject"],
                    r["payload"],
                    headers={"Nats-Msg-Id": str(r["id"])},
                )
                for r in rows[i : i + batch]
            ]
            await asyncio.gather(*acks)
        out["raw"].append(len(rows) / (time.perf_counter() - t0))
        with engine.begin() as conn:
            conn.execute(tables.outbox.delete())
    for stream in ("BENCHRELAY_CATALOG", "BENCHRAWPUB"):
        await js.delete_stream(stream)
    await link.close()
    await db.dispose()
    engine.dispose()
    return out


# ---------------------------------------------------------------- rebuild vs raw consume


def rebuild_events(courses: int) -> list[tuple[str, Any, int]]:
    """A catalog+content history, as producers would emit it: per course 2 course events,
    5 modules (created, attached), 4 posts each (created, published), 5 post orders."""
    events: list[tuple[str, Any, int]] = []  # (source, event, sequence)
    for c in range(courses):
        course_id, creator = uuid.uuid4(), uuid.uuid4()
        state = {
            "course_id": course_id,
            "slug": f"c-{c}",
            "title": f"Course {c}",
            "visibility": "public",
        }
        events.append(("catalog", ce.CourseCreated(**state, status="draft", creator_id=creator), 1))
        placements: list[ce.ModulePlacement] = []
        for m in range(5):
            module_id = uuid.uuid4()
            events.append(
                (
                    "catalog",
                    ce.ModuleCreated(module_id=module_id, title=f"M{m}", creator_id=creator),
                    1,
                )
            )
            placements.append(ce.ModulePlacement(module_id=module_id, position=m + 1))
            events.append(
                (
                    "catalog",
                    ce.ModuleAttached(
                        course_id=course_id,
                        module_id=module_id,
                        position=m + 1,
                        modules=list(placements),
                    ),
                    m + 1,
                )
            )
            posts = []
            for p in range(4):
                post_id = uuid.uuid4()
                post = {
                    "post_id": post_id,
                    "module_id": module_id,
                    "title": f"P{p}",
                    "kind": "text",
                    "position": p + 1,
                    "creator_id": creator,
                }
                events.append(("content", pe.PostCreated(**post, status="draft"), 1))
                events.append(("content", pe.PostPublished(**post, status="published"), 2))
                posts.append(pe.PostPlacement(post_id=post_id, position=p + 1))
            events.append(("content", pe.ModulePostsReordered(module_id=module_id, posts=posts), 1))
        events.append(
            ("catalog", ce.CoursePublished(**state, status="published", creator_id=creator), 2)
        )
    return events


async def publish_history(nats_url: str, ns: str, courses: int) -> int:
    nc = await nats.connect(nats_url)
    js = nc.jetstream(timeout=30)
    for source, stream in (("catalog", "CATALOG"), ("content", "CONTENT")):
        name = f"{ns.upper()}_{stream}"
        await ensure_stream(js, name, [f"{ns}.{source}.>"])
        await js.purge_stream(name)
    import dataclasses

    from syllabus_shared.messaging.tables import KernelTables

    none = [None] * len(dataclasses.fields(KernelTables))  # only the envelope is used
    boxes = {s: Outbox(KernelTables(*none), source=s, namespace=ns) for s in ("catalog", "content")}  # type: ignore[arg-type]
    history = rebuild_events(courses)
    # publish_async (no task or timer per message, as the relay publishes), acknowledgements
    # awaited per 2,000: the 100,000-event history is published in seconds, not ~30 s.
    for i in range(0, len(history), 2000):
        futures = []
        for source, event, seq in history[i : i + 2000]:
            env = boxes[source].envelope(event, seq)
            futures.append(
                await js.publish_async(
                    subject_for(ns, type(event)),
                    env.model_dump_json().encode(),
                    headers={"Nats-Msg-Id": str(env.id)},
                )
            )
        await asyncio.gather(*futures)
    await nc.close()
    return len(history)


async def raw_consume(nats_url: str, ns: str) -> tuple[int, float]:
    """An ephemeral pull consumer with explicit acks over both streams: fetch 256, ack each."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream(timeout=10)
    total = 0
    t0 = time.perf_counter()
    for source, stream in (("catalog", "CATALOG"), ("content", "CONTENT")):
        psub = await js.pull_subscribe(
            f"{ns}.{source}.>",
            stream=f"{ns.upper()}_{stream}",
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                inactive_threshold=60.0,
            ),
        )
        left = (await psub.consumer_info()).num_pending or 0
        while left > 0:
            try:
                msgs = await psub.fetch(256, timeout=5.0)
            except TimeoutError:
                break
            for msg in msgs:
                json.loads(msg.data)  # at least look at it, as any consumer must
                await msg.ack()
                total += 1
                left = msg.metadata.num_pending
        await psub.unsubscribe()
    took = time.perf_counter() - t0
    await nc.close()
    return total, took


def prepare_rebuild_db(stack: Stack) -> str:
    url = _create_database(stack, "bench_rebuild")
    subprocess.run(
        [sys.executable, "-m", "syllabus_progress", "migrate"],
        env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "LOG_LEVEL": "WARNING"},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return url


async def timed_rebuild(db_url: str, nats_url: str, ns: str) -> tuple[dict[str, int], float]:
    from syllabus_progress.main import SERVICE
    from syllabus_progress.settings import Settings
    from syllabus_shared.messaging.replay import replay

    settings = Settings(
        database_url=db_url, nats_url=nats_url, event_namespace=ns, log_level="WARNING"
    )
    rt = SERVICE.runtime(settings)
    assert SERVICE.projection is not None
    rt.nats.start()
    try:
        t0 = time.perf_counter()
        counts = await replay(rt, SERVICE.projection)
        took = time.perf_counter() - t0
    finally:
        await rt.nats.close()
        await rt.db.dispose()
    return counts, took


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")

"""RELIABILITY items 1-6 with real processes: outbox, relay, consumers, redelivery, order,
dead letters. (The kernel's own tests prove the same in-process; here the services run as
the processes ``make run`` starts, and die the way processes die.)"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import uuid
from collections import Counter
from typing import Any

import pytest

import checker
from harness import (
    ROOT,
    ReliabilityStack,
    eventually,
    publish_raw,
    stream_messages,
)

from conftest import World, settle, versioned_history

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _outbox_ids(
    stack: ReliabilityStack, service: str, event: str, aggregate: str
) -> list[dict[str, Any]]:
    rows = await stack.query(
        service,
        "SELECT id, published_at FROM outbox WHERE event_type = %s AND aggregate_id = %s",
        (f"syllabus.{service}.{event}.v1", aggregate),
    )
    return rows


async def _copies_in_stream(stack: ReliabilityStack, stream: str, msg_id: str) -> int:
    return sum(1 for m in await stream_messages(stack.nats_url, stream) if m.msg_id == msg_id)


# ---------------------------------------------------------------- 1


async def test_1_state_and_outbox_commit_together_when_the_process_dies(
    stack: ReliabilityStack, world: World
) -> None:
    """SIGKILL catalog while 80 course creations are in flight: afterwards every course has
    its CourseCreated outbox row and every CourseCreated row its course, every 201 was kept,
    and the stream holds each event once."""
    await settle(stack)
    catalog = stack.instance("catalog")
    tag = f"atomic-{uuid.uuid4().hex[:6]}"
    titles = [f"{tag}-{i}" for i in range(80)]
    statuses: dict[str, int | None] = {}

    async def create(title: str) -> None:
        async with stack.client(world.instructor, timeout=10) as c:
            try:
                r = await c.post("/api/v1/courses", json={"title": title})
                statuses[title] = r.status_code
            except Exception:
                statuses[title] = None

    async def created() -> int:
        return int(
            await stack.scalar(
                "catalog", "SELECT count(*) FROM courses WHERE title LIKE %s", (f"{tag}-%",)
            )
        )

    tasks = [asyncio.create_task(create(t)) for t in titles]
    await eventually(lambda: _at_least(created, 5), 20, 0.01, "some courses committed")
    code = await stack.kill(catalog)
    await asyncio.gather(*tasks)
    assert code == -9
    await stack.restart(catalog)

    courses = {
        r["title"]: str(r["id"])
        for r in await stack.query(
            "catalog", "SELECT id, title FROM courses WHERE title LIKE %s", (f"{tag}-%",)
        )
    }
    events = await stack.query(
        "catalog",
        "SELECT aggregate_id, payload FROM outbox"
        " WHERE event_type = 'syllabus.catalog.CourseCreated.v1'",
    )
    event_titles: Counter[str] = Counter()
    event_for: dict[str, str] = {}
    for row in events:
        data = json.loads(row["payload"])["data"]
        if data["title"].startswith(f"{tag}-"):
            event_titles[data["title"]] += 1
            event_for[data["title"]] = row["aggregate_id"]
    acknowledged = {t for t, s in statuses.items() if s == 201}
    assert acknowledged <= courses.keys(), "an acknowledged course was lost"
    assert set(event_titles) == set(courses), "state and outbox disagree"
    assert all(n == 1 for n in event_titles.values())
    assert all(event_for[t] == courses[t] for t in courses)
    assert len(acknowledged) < len(titles), "the kill did not interrupt any request"
    await settle(stack)
    ids = Counter(m.msg_id for m in await stream_messages(stack.nats_url, "CATALOG"))
    assert all(n == 1 for n in ids.values())


async def _at_least(check: Any, n: int) -> bool:
    return bool(await check() >= n)


# ---------------------------------------------------------------- 2


async def test_2_relay_killed_between_publish_and_mark_republishes_once(
    stack: ReliabilityStack, world: World
) -> None:
    await settle(stack)
    catalog = stack.instance("catalog")
    await stack.term(catalog)
    await stack.restart(catalog, faults="relay.after_publish=kill")
    title = f"relay-kill-{uuid.uuid4().hex[:6]}"
    async with stack.client(world.instructor) as c:
        try:
            r = await c.post("/api/v1/modules", json={"title": title})
            acknowledged = r.status_code == 201
        except Exception:
            acknowledged = False
    assert await stack.wait_exit(catalog, 20) == -9, "the relay did not reach its fault point"
    module_id = await stack.scalar("catalog", "SELECT id FROM modules WHERE title = %s", (title,))
    assert module_id is not None or not acknowledged
    rows = await _outbox_ids(stack, "catalog", "ModuleCreated", str(module_id))
    assert len(rows) == 1 and rows[0]["published_at"] is None, "marked sent before the kill?"
    event_id = str(rows[0]["id"])
    assert await _copies_in_stream(stack, "CATALOG", event_id) == 1, "published before the kill"

    await stack.restart(catalog)  # the restarted relay publishes the row again...

    async def marked() -> bool:
        rows = await _outbox_ids(stack, "catalog", "ModuleCreated", str(module_id))
        return rows[0]["published_at"] is not None

    await eventually(marked, 20, what="outbox row marked sent")
    # ...and the stream dropped the re-publish as a duplicate (Nats-Msg-Id = event id).
    assert await _copies_in_stream(stack, "CATALOG", event_id) == 1
    await settle(stack)
    for service, consumer in (
        ("content", "content-from-catalog"),
        ("progress", "progress-from-catalog"),
        ("assessment", "assessment-from-catalog"),
    ):
        n = await stack.scalar(
            service,
            "SELECT count(*) FROM inbox WHERE consumer = %s AND event_id = %s",
            (consumer, event_id),
        )
        assert n == 1


# ---------------------------------------------------------------- 3


async def test_3_consumer_killed_before_ack_or_before_commit(
    stack: ReliabilityStack, world: World
) -> None:
    """progress dies after commit but before ack; content dies before commit. After restart
    (and AckWait) the event is redelivered to both: progress finds it in its inbox (nothing
    applied twice), content applies it once."""
    await settle(stack)
    progress, content = stack.instance("progress"), stack.instance("content")
    await asyncio.gather(stack.term(progress), stack.term(content))
    await asyncio.gather(
        stack.restart(progress, faults="consumer.before_ack=kill"),
        stack.restart(content, faults="consumer.before_commit=kill"),
    )
    title = f"consumer-kill-{uuid.uuid4().hex[:6]}"
    async with stack.client(world.instructor) as c:
        r = await c.post("/api/v1/modules", json={"title": title})
        assert r.status_code == 201
        module_id = r.json()["id"]
    codes = await asyncio.gather(stack.wait_exit(progress, 20), stack.wait_exit(content, 20))
    assert list(codes) == [-9, -9]
    event_id = str((await _outbox_ids(stack, "catalog", "ModuleCreated", module_id))[0]["id"])
    inbox = "SELECT count(*) FROM inbox WHERE event_id = %s"
    assert await stack.scalar("progress", inbox, (event_id,)) == 1  # committed, not acked
    assert await stack.scalar("content", inbox, (event_id,)) == 0  # rolled back
    assert (
        await stack.scalar(
            "content", "SELECT count(*) FROM modules WHERE module_id = %s", (module_id,)
        )
        == 0
    )

    await asyncio.gather(stack.restart(progress), stack.restart(content))

    async def redelivered() -> bool:
        dup = await stack.applied(progress, "progress-from-catalog", "duplicate")
        applied = await stack.scalar("content", inbox, (event_id,))
        return dup >= 1 and applied == 1

    await eventually(redelivered, 60, 0.5, "redelivery after AckWait (30 s)")
    assert await stack.scalar("progress", inbox, (event_id,)) == 1
    assert await stack.applied(progress, "progress-from-catalog", "applied") == 0
    assert await stack.applied(content, "content-from-catalog", "applied") >= 1
    await settle(stack)


# ---------------------------------------------------------------- 4, 5


PROJECTION_TABLES = {
    "content": ("modules", "courses", "course_modules", "completions", "posts"),
    "progress": ("courses", "course_modules", "modules", "posts", "module_posts"),
    "catalog": ("enrollment_projection", "courses"),
}


def _projections(snap: checker.Snapshot) -> dict[str, Any]:
    out = {}
    for service, tables in PROJECTION_TABLES.items():
        for table in tables:
            rows = snap.rows(service, table)
            out[f"{service}.{table}"] = sorted(
                tuple(sorted((k, str(v)) for k, v in r.items())) for r in rows
            )
    return out


async def _snapshot(stack: ReliabilityStack) -> dict[str, Any]:
    return _projections(await asyncio.to_thread(checker.load, stack.database_urls()))


async def _originals(stack: ReliabilityStack, stream: str) -> list[tuple[str, dict[str, Any]]]:
    """Each event of ``stream`` once (by envelope id), as (subject, envelope)."""
    seen: dict[str, tuple[str, dict[str, Any]]] = {}
    for m in await stream_messages(stack.nats_url, stream):
        try:
            envelope = json.loads(m.data)
            seen.setdefault(envelope["id"], (m.subject, envelope))
        except (ValueError, KeyError, TypeError):
            continue  # a malformed message (item 6 publishes one)
    return list(seen.values())


async def test_4_every_event_delivered_three_times_changes_nothing(
    stack: ReliabilityStack, world: World
) -> None:
    await settle(stack)
    before = await _snapshot(stack)
    copies = []
    for stream in ("CATALOG", "CONTENT", "PROGRESS", "ASSESSMENT"):
        for subject, envelope in await _originals(stack, stream):
            payload = json.dumps(envelope).encode()
            copies += [(subject, payload, f"{envelope['id']}-copy{k}") for k in (1, 2)]
    await publish_raw(stack.nats_url, copies)
    await settle(stack)
    assert await _snapshot(stack) == before
    dups = 0
    for service, consumers in (
        ("content", ("content-from-catalog", "content-from-progress", "content-from-assessment")),
        ("progress", ("progress-from-catalog", "progress-from-content")),
        ("catalog", ("catalog-from-progress",)),
        (
            "assessment",
            ("assessment-from-catalog", "assessment-from-content", "assessment-from-progress"),
        ),
    ):
        for consumer in consumers:
            dups += await stack.applied(stack.instance(service), consumer, "duplicate")
    assert dups >= len(copies)


async def test_5_out_of_order_and_interleaved_events_end_in_the_same_state(
    stack: ReliabilityStack, world: World
) -> None:
    """Empty progress's projection, then feed it every catalog and content event again
    (new event ids), each aggregate's events newest first, the two services' events shuffled
    together: it must end equal to the live projection. Content receives the catalog copies
    too, on top of its live state: all stale, nothing regresses."""
    await versioned_history(stack, world)
    await settle(stack)
    before = await _snapshot(stack)
    events = [*await _originals(stack, "CATALOG"), *await _originals(stack, "CONTENT")]
    rng = random.Random(5)
    rng.shuffle(events)
    by_aggregate: dict[tuple[str, str], list[int]] = {}
    for index, (_, envelope) in enumerate(events):
        by_aggregate.setdefault((envelope["aggregatetype"], envelope["subject"]), []).append(index)
    order: list[tuple[str, dict[str, Any]]] = list(events)
    for slots in by_aggregate.values():
        newest_first = sorted((events[i] for i in slots), key=lambda e: -e[1]["sequence"])
        for slot, event in zip(slots, newest_first, strict=True):
            order[slot] = event
    reversed_pairs = sum(1 for s in by_aggregate.values() if len(s) > 1)
    assert reversed_pairs >= 5, "too few aggregates with several versions to test ordering"

    progress = stack.instance("progress")
    await stack.term(progress)
    await stack.query(
        "progress",
        "BEGIN; TRUNCATE courses, course_modules, modules, posts, module_posts;"
        " DELETE FROM inbox WHERE consumer IN ('progress-from-catalog', 'progress-from-content');"
        " DELETE FROM aggregate_versions WHERE aggregate IN"
        " ('course', 'course_outline', 'module', 'post', 'module_posts'); COMMIT",
    )
    copies = []
    for subject, envelope in order:
        new_id = str(uuid.uuid4())
        copies.append((subject, json.dumps({**envelope, "id": new_id}).encode(), new_id))
    await publish_raw(stack.nats_url, copies)
    await stack.restart(progress)
    await settle(stack)
    assert await _snapshot(stack) == before
    assert await stack.applied(stack.instance("content"), "content-from-catalog", "stale") > 0


# ---------------------------------------------------------------- 6


def _cli(stack: ReliabilityStack, service: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(stack.instance(service).child.env)
    env["FAULT_INJECTION"] = "false"
    env.pop("SYLLABUS_FAULTS", None)
    return subprocess.run(
        [sys.executable, "-m", f"syllabus_{service}", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_6_dead_letters_park_bad_events_and_replay_after_a_fix(
    stack: ReliabilityStack, world: World
) -> None:
    await settle(stack)
    # A malformed message is dead-lettered at once by every catalog consumer...
    bad_id = f"malformed-{uuid.uuid4().hex[:6]}"
    await publish_raw(stack.nats_url, [("catalog.module.ModuleCreated", b"{not json", bad_id)])
    dl = "SELECT count(*) FROM dead_letters WHERE consumer = %s AND error LIKE 'malformed%%'"

    async def parked() -> bool:
        a = await stack.scalar("content", dl, ("content-from-catalog",))
        b = await stack.scalar("progress", dl, ("progress-from-catalog",))
        c = await stack.scalar("assessment", dl, ("assessment-from-catalog",))
        return bool(a >= 1 and b >= 1 and c >= 1)

    await eventually(parked, 20, what="malformed message dead-lettered")
    # ...and later events still apply.
    async with stack.client(world.instructor) as c:
        assert (await c.post("/api/v1/modules", json={"title": "after poison"})).status_code == 201
    await settle(stack)

    # A handler that keeps failing: retried with backoff, then dead-lettered.
    progress = stack.instance("progress")
    await stack.term(progress)
    await stack.restart(progress, faults="consumer.before_commit=raise")
    async with stack.client(world.instructor) as c:
        r = await c.post("/api/v1/modules", json={"title": "parked until fixed"})
        assert r.status_code == 201
        parked_module = r.json()["id"]
    event_id = str((await _outbox_ids(stack, "catalog", "ModuleCreated", parked_module))[0]["id"])

    async def dead_lettered() -> bool:
        n = await stack.scalar(
            "progress", "SELECT count(*) FROM dead_letters WHERE event_id = %s", (event_id,)
        )
        return bool(n)

    await eventually(dead_lettered, 30, what="failing event dead-lettered after 5 attempts")
    row = (
        await stack.query(
            "progress",
            "SELECT deliveries, error FROM dead_letters WHERE event_id = %s",
            (event_id,),
        )
    )[0]
    assert row["deliveries"] == 5 and "InjectedFault" in row["error"]

    # The fix (restart without the fault); later events flow, the parked one is missing.
    await stack.term(progress)
    await stack.restart(progress)
    async with stack.client(world.instructor) as c:
        assert (await c.post("/api/v1/modules", json={"title": "after fix"})).status_code == 201
    await asyncio.sleep(1.0)
    report = checker.check_projections(await asyncio.to_thread(checker.load, stack.database_urls()))
    assert report.per_check["progress.modules <- catalog.modules"]["lost"] == 1

    listed = _cli(stack, "progress", "dead-letters")
    assert listed.returncode == 0 and "progress-from-catalog" in listed.stdout, listed.stderr
    replay = _cli(stack, "progress", "dead-letters", "--replay")
    assert replay.returncode == 0, replay.stderr
    # The parked event applies; the malformed one stays parked (it can never apply).
    assert "progress-from-catalog: replayed=1 still_failing=1" in replay.stdout, replay.stdout
    await settle(stack)
    replayed = await stack.scalar(
        "progress",
        "SELECT replayed_at IS NOT NULL FROM dead_letters WHERE event_id = %s",
        (event_id,),
    )
    assert replayed is True

"""A 3-node JetStream cluster with R3 streams (RELIABILITY items 15-16), ``make reliability``.

The stack of ``make run`` against three nats-servers on loopback (``NATS_URL`` lists all
three, ``NATS_STREAM_REPLICAS=3``), under the chaos workload:

- every stream is R3, and stays R3 when a service restarts with ``NATS_STREAM_REPLICAS=1``;
- the node leading PROGRESS (the busiest stream: enrollments and completions) is
  SIGKILLed: a new leader is elected, nothing is lost or unexpected, and the projections
  catch up within 2 s of the election (measured with probe enrollments written while the
  stream had no leader: progress commits them to its outbox, catalog and assessment
  project them once they flow again);
- the same with a node that leads none of PROGRESS and its consumers: nothing changes.

Prints the election and catch-up times.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import psycopg
import pytest
import pytest_asyncio

import checker
from chaos import drain, heal
from harness import ReliabilityStack, User, libpq
from workload import Workload

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.slow]

STREAMS = ("IDENTITY", "CATALOG", "CONTENT", "PROGRESS", "ASSESSMENT")
BUSIEST = "PROGRESS"
CATCH_UP_BOUND = 2.0  # seconds after the new leader's election (RELIABILITY item 15)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cluster_stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ReliabilityStack]:
    s = ReliabilityStack(
        Path(tmp_path_factory.mktemp("cluster-stack")),
        own_database=(),
        nats_cluster=3,
        extra_env={"NATS_STREAM_REPLICAS": "3"},
    )
    await s.up()
    try:
        yield s
    finally:
        await s.down()


@contextlib.asynccontextmanager
async def jetstream(stack: ReliabilityStack, timeout: float = 1.0) -> AsyncIterator[Any]:
    """A JetStream context on the cluster's running nodes."""
    assert stack.cluster is not None
    urls = [node.url for node in stack.cluster.nodes if node.running]
    nc = await nats.connect(servers=urls, max_reconnect_attempts=3, connect_timeout=1)
    try:
        yield nc.jetstream(timeout=timeout)
    finally:
        await nc.close()


async def replicas(stack: ReliabilityStack) -> dict[str, int]:
    async with jetstream(stack, 5.0) as js:
        return {s: (await js.stream_info(s)).config.num_replicas for s in STREAMS}


async def leaders(stack: ReliabilityStack, stream: str) -> set[str]:
    """The nodes leading ``stream`` and each of its durable consumers."""
    async with jetstream(stack, 5.0) as js:
        led = {(await js.stream_info(stream)).cluster.leader}
        for info in await js.consumers_info(stream):
            led.add(info.cluster.leader if info.cluster else None)
    return {name for name in led if name}


async def everything_led(stack: ReliabilityStack) -> dict[str, set[str]]:
    """Per node, the streams and consumers it leads."""
    out: dict[str, set[str]] = {node.server_name or "": set() for node in stack.cluster.nodes}  # type: ignore[union-attr]
    async with jetstream(stack, 5.0) as js:
        for stream in STREAMS:
            info = await js.stream_info(stream)
            if info.cluster and info.cluster.leader:
                out.setdefault(info.cluster.leader, set()).add(stream)
            for c in await js.consumers_info(stream):
                if c.cluster and c.cluster.leader:
                    out.setdefault(c.cluster.leader, set()).add(c.name)
    return out


@dataclass
class Probes:
    """Enrollments in one course, written one by one through the gateway; each is "seen"
    once catalog's and assessment's projections of PROGRESS hold it. One watcher polls
    both databases on two connections (probing must not load the machine it measures)."""

    course: str
    written: dict[str, float] = field(default_factory=dict)  # enrollment id -> when
    seen: dict[str, float] = field(default_factory=dict)

    async def write(self, stack: ReliabilityStack, user: User) -> None:
        at = time.monotonic()
        async with stack.client(user) as c:
            r = await c.post(f"/api/v1/courses/{self.course}/enrollments")
        assert r.status_code == 201, r.text
        self.written[r.json()["id"]] = at

    async def watch(self, stack: ReliabilityStack, stop: asyncio.Event) -> None:
        queries = {
            "catalog": "SELECT enrollment_id FROM enrollment_projection WHERE course_id = %s",
            "assessment": "SELECT enrollment_id FROM enrollments WHERE course_id = %s",
        }
        async with contextlib.AsyncExitStack() as exits:
            conns = {
                svc: await exits.enter_async_context(
                    await psycopg.AsyncConnection.connect(libpq(stack.db_url(svc)), autocommit=True)
                )
                for svc in queries
            }
            while not stop.is_set() or len(self.seen) < len(self.written):
                found: list[set[str]] = []
                for svc, sql in queries.items():
                    rows = await (await conns[svc].execute(sql, (self.course,))).fetchall()
                    found.append({str(row[0]) for row in rows})
                now = time.monotonic()
                for enrollment in set.intersection(*found):
                    self.seen.setdefault(enrollment, now)
                if stop.is_set() and now > max(self.written.values(), default=now) + 60:
                    return
                await asyncio.sleep(0.05)

    def latencies(self, after: float = 0.0, before: float = float("inf")) -> list[float]:
        return [
            self.seen[e] - w
            for e, w in self.written.items()
            if after <= w < before and e in self.seen
        ]


@dataclass
class Failover:
    victim: str
    led: set[str]
    killed_at: float
    probes: Probes
    baseline: list[float]  # probe latencies before the kill
    elected_at: float | None = None
    new_leader: str | None = None

    @property
    def election(self) -> float | None:
        return None if self.elected_at is None else self.elected_at - self.killed_at

    def catch_up(self) -> float:
        """Seconds from the election (the kill, when nothing was elected) until every
        probe written before it was in both projections."""
        since = self.elected_at if self.elected_at is not None else self.killed_at
        during = [
            self.probes.seen[e]
            for e, w in self.probes.written.items()
            if self.killed_at <= w <= since and e in self.probes.seen
        ]
        return max(0.0, max(during, default=since) - since)

    def bound(self) -> float:
        """2 s (RELIABILITY item 15) on top of what a probe took before the kill: on a
        loaded machine the pipeline's own latency is not the failover's."""
        return CATCH_UP_BOUND + max(self.baseline, default=0.0)


async def wait_for_election(stack: ReliabilityStack, stream: str, old: str) -> tuple[float, str]:
    """Poll the surviving nodes until ``stream`` has a leader other than ``old``."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            async with jetstream(stack, 0.5) as js:
                while time.monotonic() < deadline:
                    with contextlib.suppress(Exception):
                        info = await js.stream_info(stream)
                        if info.cluster and info.cluster.leader not in (None, old):
                            return time.monotonic(), info.cluster.leader
                    await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
    raise AssertionError(f"{stream}: no new leader within 60 s")


def _stats(values: list[float]) -> str:
    if not values:
        return "none"
    return f"{len(values)}, median {statistics.median(values):.2f} s, max {max(values):.2f} s"


async def run_failover(stack: ReliabilityStack, *, kill_leader: bool, seed: int) -> Failover:
    assert stack.cluster is not None
    rng = random.Random(seed)
    # A published course for the probes, and students who will enroll in it one by one.
    owner = await stack.user("instructor", "probe")
    async with stack.client(owner) as c:
        course = (await c.post("/api/v1/courses", json={"title": "probe"})).json()["id"]
        r = await c.patch(f"/api/v1/courses/{course}", json={"status": "published"})
        assert r.status_code == 200, r.text
    probers = list(await asyncio.gather(*(stack.user("student", "probe") for _ in range(30))))
    authors = list(await asyncio.gather(*(stack.user("instructor", "cl") for _ in range(2))))
    learners = list(await asyncio.gather(*(stack.user("student", "cl") for _ in range(4))))
    workload = Workload(stack.gateway_url, authors, learners, seed=rng.randrange(1 << 30))
    probes = Probes(course)

    stop = asyncio.Event()
    running = asyncio.create_task(workload.run(stop))
    watching = asyncio.create_task(probes.watch(stack, stop))
    try:
        for user in probers[:6]:  # the workload in full swing, and a baseline
            await probes.write(stack, user)
            await asyncio.sleep(0.5)
        led = await everything_led(stack)
        busiest = await leaders(stack, BUSIEST)
        async with jetstream(stack, 5.0) as js:
            stream_leader = (await js.stream_info(BUSIEST)).cluster.leader
        if kill_leader:
            victim = stream_leader
        else:  # a node that leads neither the stream nor any of its consumers, if any
            others = [n for n in led if n not in busiest] or [n for n in led if n != stream_leader]
            victim = min(others, key=lambda n: (len(led[n]), n))
        killed_at = time.monotonic()
        failover = Failover(victim, led[victim], killed_at, probes, probes.latencies())
        stack.cluster.node(victim).kill()
        election = (
            asyncio.create_task(wait_for_election(stack, BUSIEST, victim)) if kill_leader else None
        )
        for user in probers[6:]:  # one every 0.5 s while the node is down
            await probes.write(stack, user)
            await asyncio.sleep(0.5)
        if election is not None:
            failover.elected_at, failover.new_leader = await election
        await asyncio.sleep(2)
    finally:
        stop.set()
        await running
        await watching
    await heal(stack)  # the node restarted (same store), every service ready
    report, drained_in, converged = await drain(stack, 120)
    snap = await asyncio.to_thread(checker.load, stack.database_urls())
    history = checker.check_history(workload.model, snap)
    stats = workload.model.stats
    statuses = dict(sorted(workload.model.statuses.items()))
    since = failover.elected_at or failover.killed_at
    kind = "stream leader" if kill_leader else "non-leader"
    print(
        f"\n{kind} {failover.victim} SIGKILLed (it led {sorted(failover.led) or 'nothing'}):",
        f"\n  probes before the kill: {_stats(failover.baseline)}",
        f"\n  election: {BUSIEST} led by {failover.new_leader or stream_leader}"
        + (f", {failover.election:.1f} s after the kill" if failover.election else ""),
        f"\n  catch-up: every probe written since the kill in both projections"
        f" {failover.catch_up():.2f} s after the {'election' if kill_leader else 'kill'}"
        f" (bound {failover.bound():.2f} s); probes written during it:"
        f" {_stats(probes.latencies(failover.killed_at, since))}; after it:"
        f" {_stats(probes.latencies(since))}",
        f"\n  operations: attempted={stats['attempted']} acknowledged={stats['ok']}"
        f" indeterminate={stats['info']} statuses={statuses}",
        f"\n  drain: {'converged' if converged else 'NOT converged'} in {drained_in:.1f} s",
        f"\n  projections: {report.line()}",
        f"\n  history: {history.line()}",
    )
    assert converged, report.samples
    assert report.ok and history.ok, (report.samples, history.samples)
    assert len(probes.seen) == len(probes.written), "a probe enrollment never arrived"
    assert "500" not in statuses, statuses
    return failover


async def test_15_every_stream_is_r3_and_a_restart_never_lowers_it(
    cluster_stack: ReliabilityStack,
) -> None:
    assert await replicas(cluster_stack) == dict.fromkeys(STREAMS, 3)
    # progress restarted without the setting (R1 asked): its stream stays R3.
    instance = cluster_stack.instance("progress")
    await cluster_stack.term(instance)
    await cluster_stack.restart(instance, env={"NATS_STREAM_REPLICAS": "1"})
    assert (await replicas(cluster_stack))[BUSIEST] == 3
    await cluster_stack.term(instance)
    await cluster_stack.restart(instance, env={"NATS_STREAM_REPLICAS": "3"})


async def test_15_stream_leader_killed_under_load(cluster_stack: ReliabilityStack) -> None:
    failover = await run_failover(cluster_stack, kill_leader=True, seed=15)
    assert failover.elected_at is not None
    assert failover.catch_up() <= failover.bound()
    assert await replicas(cluster_stack) == dict.fromkeys(STREAMS, 3)


async def test_15_non_leader_killed_under_load(cluster_stack: ReliabilityStack) -> None:
    failover = await run_failover(cluster_stack, kill_leader=False, seed=16)
    # Nothing to elect for PROGRESS: every probe flows as before.
    assert max(failover.probes.latencies(failover.killed_at), default=0.0) <= failover.bound()

"""Chaos run (``make chaos``): workload + nemesis, then heal, drain and check.

Modelled on Jepsen's NATS analysis: a workload of instructors and students through the
gateway records every operation; meanwhile a nemesis kills and restarts nats-server,
pauses it, kills (SIGKILL) and stops (SIGTERM) services, whose processes carry the outbox
relays and the consumers, arms the test-only fault points (the process kills itself after a
publish, before an ack or before a commit), pauses PostgreSQL servers and kills catalog's
own one. Meanwhile accounts are deleted through the API (students with data, sometimes a
teacher) and replaced. Then everything is healed, the pipeline drains, and the checker
compares every projection with its owners, the workload's acknowledged writes with
everything, and checks that no service keeps data of a deleted account.

    .venv/bin/python tests-reliability/chaos.py [--duration 150] [--seed N] [--report out.json]

Prints operations attempted/acknowledged, faults injected, account deletions, per relay and
per durable consumer how long it took to catch up after healing, and the checker's lines; exits 1
when anything was lost or unexpected (or the pipeline did not drain), 0 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import checker
from harness import Instance, ReliabilityStack, StartupError
from workload import Workload

FAULT_POINTS = (
    "relay.after_publish=kill",
    "consumer.before_ack=kill",
    "consumer.before_commit=kill",
)
ALL_FAULTS = (
    "kill-nats",
    "pause-nats",
    "kill-service",
    "term-service",
    "inject",
    "pause-postgres",
    "kill-postgres",
)
# Services with relays and consumers, the nemesis's targets. identity relays groups and
# memberships (item 22) and consumes catalog's and progress's events.
EVENT_SERVICES = ("identity", "catalog", "content", "progress", "assessment")
# The workload's group operations (issue 26), reported as acknowledged/attempted.
GROUP_OPS = (
    "create_group",
    "add_member",
    "add_members",
    "remove_member",
    "follow",
    "unfollow",
    "delete_group",
    "set_unlock_override",
    "remove_unlock_override",
    "set_due_override",
    "remove_due_override",
    "enroll",
    "drop",
)


@dataclass
class Nemesis:
    stack: ReliabilityStack
    rng: random.Random
    interval: tuple[float, float] = (3.0, 6.0)
    kinds: tuple[str, ...] = ALL_FAULTS
    nats_down: tuple[float, float] = (1.0, 5.0)  # how long nats-server stays killed/paused
    injected: Counter[str] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)
    busy: set[int] = field(default_factory=set)  # ids of instances the nemesis is handling
    started: float = field(default_factory=time.monotonic)
    self_kills: int = 0

    def note(self, text: str) -> None:
        self.log.append(f"{time.monotonic() - self.started:7.1f}s {text}")

    async def run(self, stop: asyncio.Event) -> None:
        if not self.kinds:
            return
        next_at = time.monotonic() + self.rng.uniform(*self.interval)
        while not stop.is_set():
            # Faults start on a schedule (start to start), whatever each one lasts.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, next_at - time.monotonic()))
            if stop.is_set():
                break
            next_at = time.monotonic() + self.rng.uniform(*self.interval)
            kind = self.rng.choice(self.kinds)
            try:
                await getattr(self, kind.replace("-", "_"))()
                self.injected[kind] += 1
            except Exception as exc:  # a fault that could not be injected is reported
                self.note(f"{kind} failed: {exc!r}")

    async def _hold(self, low: float, high: float) -> float:
        seconds = self.rng.uniform(low, high)
        await asyncio.sleep(seconds)
        return seconds

    async def kill_nats(self) -> None:
        await asyncio.to_thread(self.stack.nats.kill)
        held = await self._hold(*self.nats_down)
        await asyncio.to_thread(self.stack.nats.start)
        self.note(f"nats killed (SIGKILL), restarted after {held:.1f}s")

    async def pause_nats(self) -> None:
        self.stack.nats.pause()
        held = await self._hold(*self.nats_down)
        self.stack.nats.resume()
        self.note(f"nats paused (SIGSTOP) for {held:.1f}s")

    def _pick(self) -> Instance | None:
        candidates = [
            i
            for i in self.stack.stage.instances
            if i.service in EVENT_SERVICES and id(i) not in self.busy and i.child.returncode is None
        ]
        return self.rng.choice(candidates) if candidates else None

    async def kill_service(self) -> None:
        instance = self._pick()
        if instance is None:
            return
        self.busy.add(id(instance))
        try:
            await self.stack.kill(instance)
            held = await self._hold(0.2, 2.0)
            await self.stack.restart(instance, ready="/healthz")
            self.note(f"{instance.child.name} killed (SIGKILL), restarted after {held:.1f}s")
        finally:
            self.busy.discard(id(instance))

    async def term_service(self) -> None:
        instance = self._pick()
        if instance is None:
            return
        self.busy.add(id(instance))
        try:
            code, took = await self.stack.term(instance)
            await self.stack.restart(instance, ready="/healthz")
            self.note(f"{instance.child.name} SIGTERM: exit {code} in {took:.1f}s, restarted")
        finally:
            self.busy.discard(id(instance))

    async def inject(self) -> None:
        instance = self._pick()
        if instance is None:
            return
        point = self.rng.choice(FAULT_POINTS)
        self.busy.add(id(instance))
        try:
            await self.stack.term(instance)
            try:
                await self.stack.restart(instance, faults=point, ready="/healthz")
                self.note(f"{instance.child.name} restarted with SYLLABUS_FAULTS={point}")
            except StartupError:
                self.note(f"{instance.child.name} armed with {point}: fired while starting")
        finally:
            self.busy.discard(id(instance))
        # The supervisor restarts it (unarmed) once the fault point has killed it.

    async def pause_postgres(self) -> None:
        name = self.rng.choice(["main", *self.stack.own_pg])
        pg = self.stack.stage.pg if name == "main" else self.stack.own_pg[name]
        assert pg is not None
        pg.pause()
        held = await self._hold(0.5, 3.0)
        pg.resume()
        self.note(f"postgres ({name}) paused (SIGSTOP) for {held:.1f}s")

    async def kill_postgres(self) -> None:
        if not self.stack.own_pg:
            return await self.pause_postgres()
        name = self.rng.choice(list(self.stack.own_pg))
        pg = self.stack.own_pg[name]
        await asyncio.to_thread(pg.kill)
        held = await self._hold(0.5, 3.0)
        await asyncio.to_thread(pg.start)
        self.note(f"postgres ({name}'s own) killed (SIGKILL), restarted after {held:.1f}s")

    async def supervise(self, stop: asyncio.Event) -> None:
        """Restart any service process that died on its own (armed fault points), like an
        orchestrator would, unarmed."""
        while not stop.is_set():
            for instance in list(self.stack.stage.instances):
                if id(instance) in self.busy or instance.child.returncode is None:
                    continue
                code = instance.child.returncode
                self.busy.add(id(instance))
                try:
                    if code == -9:
                        self.self_kills += 1
                    await self.stack.restart(instance, ready="/healthz")
                    self.note(f"{instance.child.name} had exited ({code}); restarted unarmed")
                except Exception as exc:
                    self.note(f"restarting {instance.child.name} failed: {exc!r}")
                finally:
                    self.busy.discard(id(instance))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.3)


async def heal(stack: ReliabilityStack) -> None:
    """Undo every fault: resume paused servers, start stopped ones, restart dead processes
    (unarmed), and wait until every service is ready."""
    servers = [stack.stage.pg, stack.stage.nats, *stack.own_pg.values()]
    for server in servers:
        if server is None:
            continue
        if server.running and server._paused:
            server.resume()
        if not server.running:
            await asyncio.to_thread(server.start)
    if stack.cluster is not None:  # every stopped node at once: one alone may lack a quorum
        for node in stack.cluster.nodes:
            if node.running and node._paused:
                node.resume()
        if not stack.cluster.running:
            await asyncio.to_thread(stack.cluster.start)
    for instance in stack.stage.instances:
        armed = instance.child.env.get("FAULT_INJECTION") == "true"
        if instance.child.returncode is None and armed:
            await stack.term(instance)
        if instance.child.returncode is not None:
            await stack.restart(instance, ready="/healthz")
    async with httpx.AsyncClient(timeout=5) as client:
        for instance in stack.stage.instances:
            await instance.child.wait_http_ready(f"{instance.url}/readyz", 60, client)


STREAMS = ("IDENTITY", "CATALOG", "CONTENT", "PROGRESS", "ASSESSMENT")


@dataclass
class CatchUp:
    """When each relay (its outbox empty) and each durable consumer (nothing pending, nothing
    unacknowledged) caught up after healing, in seconds from the start of the drain, with
    what it still had outstanding when the drain started (the evidence of what it waited on).
    """

    started: float = field(default_factory=time.monotonic)
    caught: dict[str, float | None] = field(default_factory=dict)
    at_start: dict[str, str] = field(default_factory=dict)
    redelivered: dict[str, int] = field(default_factory=dict)

    def observe(self, name: str, idle: bool, state: str) -> None:
        now = time.monotonic() - self.started
        self.at_start.setdefault(name, state)
        if not idle:
            self.caught[name] = None
        elif self.caught.get(name) is None:
            self.caught[name] = now

    async def watch_consumers(self, nats_url: str, stop: asyncio.Event) -> None:
        import nats

        nc = await nats.connect(nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        try:
            js = nc.jetstream(timeout=2)
            while not stop.is_set():
                for stream in STREAMS:
                    try:
                        infos = await js.consumers_info(stream)
                    except Exception:  # noqa: S112 - a stream not created (yet): none to watch
                        continue
                    for info in infos:
                        name = info.name or "?"
                        self.redelivered[name] = info.num_redelivered or 0
                        self.observe(
                            name,
                            not info.num_pending and not info.num_ack_pending,
                            f"pending={info.num_pending} ack_pending={info.num_ack_pending}"
                            f" redelivered={info.num_redelivered}",
                        )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.1)
        finally:
            await nc.close()

    def lines(self) -> list[str]:
        def when(name: str) -> str:
            seconds = self.caught.get(name)
            return "not caught up" if seconds is None else f"{seconds:.1f}s"

        out = []
        for name in sorted(self.at_start, key=lambda n: (not n.startswith("relay"), n)):
            out.append(
                f"  {name:<28} caught up after {when(name):<14} (at heal: {self.at_start[name]})"
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            name: {
                "caught_up_after": None if s is None else round(s, 2),
                "at_heal": self.at_start.get(name),
            }
            for name, s in sorted(self.caught.items())
        }


async def drain(
    stack: ReliabilityStack,
    timeout: float,
    catch_up: CatchUp | None = None,
    idle_wait: float = 40.0,
) -> tuple[checker.Report, float, bool]:
    """Wait until no outbox row is unpublished and every projection equals its owners
    (``catch_up``: record when each relay and each durable consumer caught up)."""
    catch_up = catch_up or CatchUp()
    started = catch_up.started
    urls = stack.database_urls()
    stop = asyncio.Event()
    watcher = asyncio.create_task(catch_up.watch_consumers(stack.nats_url, stop))
    try:
        while True:
            snap = await asyncio.to_thread(checker.load, urls)
            for service, rows in snap.unpublished.items():
                catch_up.observe(f"relay {service}", not rows, f"unpublished={rows}")
            report = checker.check_projections(snap)
            converged = report.ok and not any(snap.unpublished.values())
            elapsed = time.monotonic() - started
            if converged or elapsed > timeout:
                break
            await asyncio.sleep(0.2)
        # For the figures only: let every consumer finish what it holds (e.g. a redelivery
        # of an event already applied), bounded, so each one's catch-up time is known.
        deadline = time.monotonic() + (idle_wait if converged else 0.0)
        while time.monotonic() < deadline and (
            not catch_up.caught or any(v is None for v in catch_up.caught.values())
        ):
            await asyncio.sleep(0.2)
        return report, elapsed, converged
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(watcher, 5)


async def read_documents(
    stack: ReliabilityStack, learners: list[Any], snap: checker.Snapshot
) -> tuple[dict[tuple[Any, Any], Any], list[tuple[Any, Any, int]]]:
    """Each workload student's progress document of each course they are enrolled in
    (through the gateway), and the ones that could not be read."""
    by_id = {uuid.UUID(str(s.id)): s for s in learners}
    courses = {c["id"] for c in snap.tables["catalog"]["courses"]}
    documents: dict[tuple[Any, Any], Any] = {}
    unread: list[tuple[Any, Any, int]] = []
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as client:
        for e in snap.tables["progress"]["enrollments"]:
            student = by_id.get(e["user_id"])
            if student is None or e["course_id"] not in courses:
                continue
            url = f"/api/v1/me/courses/{e['course_id']}/progress"
            r = await client.get(url, headers=student.headers)
            if r.status_code == 200:
                documents[(e["user_id"], e["course_id"])] = r.json()
            else:
                unread.append((e["user_id"], e["course_id"], r.status_code))
    return documents, unread


@dataclass
class ChaosResult:
    seconds: float
    attempted: int
    acknowledged: int
    failed: int
    indeterminate: int
    faults: Counter[str]
    self_kills: int
    projections: checker.Report
    history: checker.Report
    drained_in: float
    converged: bool
    nemesis_log: list[str]
    op_stats: dict[str, int]
    statuses: dict[str, int]
    phases: dict[str, float] = field(default_factory=dict)
    catch_up: CatchUp = field(default_factory=CatchUp)
    deletions: list[str] = field(default_factory=list)
    model: Any = None  # the workload's history (workload.Model)

    @property
    def ok(self) -> bool:
        return self.converged and self.projections.ok and self.history.ok

    def lines(self) -> list[str]:
        faults = " ".join(f"{k}={v}" for k, v in sorted(self.faults.items()))
        return [
            f"operations: attempted={self.attempted} acknowledged={self.acknowledged} "
            f"failed={self.failed} indeterminate={self.indeterminate}",
            "graded work: "
            + " ".join(
                f"{op}={self.op_stats.get(f'{op}:ok', 0)}/{self.op_stats.get(f'{op}:attempted', 0)}"
                for op in ("submit", "grade", "read_grades")
            )
            + " (acknowledged/attempted)",
            "groups: "
            + " ".join(
                f"{op}={self.op_stats.get(f'{op}:ok', 0)}/{self.op_stats.get(f'{op}:attempted', 0)}"
                for op in GROUP_OPS
            )
            + f" (drops refused, held by a group: {self.op_stats.get('drop:held_by_group', 0)})",
            f"faults injected: {sum(self.faults.values())} ({faults}; "
            f"fault points fired={self.self_kills})",
            f"account deletions: {len(self.deletions)}"
            f" (students={sum('student' in d.split()[0] for d in self.deletions)}"
            f" teachers={sum('instructor' in d.split()[0] for d in self.deletions)};"
            f" settled={sum(d.endswith(': deleted') for d in self.deletions)})",
            f"drain: {'converged' if self.converged else 'NOT converged'} "
            f"in {self.drained_in:.1f}s (phases: "
            + " ".join(f"{k}={v:.1f}s" for k, v in self.phases.items())
            + ")",
            "catch-up after healing (relays: outbox empty; consumers: nothing pending or"
            " unacknowledged):",
            *self.catch_up.lines(),
            f"projections: {self.projections.line()}",
            f"history: {self.history.line()} recovered={self.history.recovered}",
            f"checker: lost={self.projections.lost + self.history.lost} "
            f"unexpected={self.projections.unexpected + self.history.unexpected} "
            f"checked={self.projections.checked + self.history.checked}",
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 1),
            "attempted": self.attempted,
            "acknowledged": self.acknowledged,
            "failed": self.failed,
            "indeterminate": self.indeterminate,
            "faults": dict(self.faults),
            "faults_total": sum(self.faults.values()),
            "fault_points_fired": self.self_kills,
            "drained_in": round(self.drained_in, 1),
            "converged": self.converged,
            "projections": {
                "lost": self.projections.lost,
                "unexpected": self.projections.unexpected,
                "checked": self.projections.checked,
            },
            "history": {
                "lost": self.history.lost,
                "unexpected": self.history.unexpected,
                "checked": self.history.checked,
                "recovered": self.history.recovered,
            },
            "op_stats": self.op_stats,
            "statuses": self.statuses,
            "phases": {k: round(v, 1) for k, v in self.phases.items()},
            "catch_up": self.catch_up.as_dict(),
            "deletions": self.deletions,
            "nemesis": self.nemesis_log,
        }


async def chaos(
    stack: ReliabilityStack,
    *,
    duration: float,
    instructors: int = 3,
    students: int = 6,
    seed: int | None = None,
    interval: tuple[float, float] = (3.0, 6.0),
    kinds: tuple[str, ...] = ALL_FAULTS,
    drain_timeout: float = 120.0,
    nats_down: tuple[float, float] = (1.0, 5.0),
    deletion_interval: tuple[float, float] | None = (10.0, 20.0),
    min_faults: int = 0,
    say: Callable[[str], None] = lambda _: None,
) -> ChaosResult:
    rng = random.Random(seed)
    phases: dict[str, float] = {}
    mark = time.monotonic()
    say(f"users: {instructors} instructors, {students} students")
    authors = list(
        await asyncio.gather(*(stack.user("instructor", "chaos") for _ in range(instructors)))
    )
    learners = list(
        await asyncio.gather(*(stack.user("student", "chaos") for _ in range(students)))
    )
    workload = Workload(
        stack.gateway_url,
        authors,
        learners,
        seed=rng.randrange(1 << 30),
        admin=stack.admin,
        spawn=lambda role: stack.user(role, "chaos"),
        deletion_interval=deletion_interval,
    )
    nemesis = Nemesis(stack, random.Random(rng.randrange(1 << 30)), interval, kinds, nats_down)
    stop = asyncio.Event()
    started = time.monotonic()
    tasks: list[asyncio.Task[Any]] = [
        asyncio.create_task(workload.run(stop)),
        asyncio.create_task(nemesis.run(stop)),
        asyncio.create_task(nemesis.supervise(stop)),
    ]
    say(f"workload and nemesis for {duration:.0f}s")
    try:
        done, _ = await asyncio.wait(tasks, timeout=duration, return_when=asyncio.FIRST_EXCEPTION)
        # At least ``min_faults`` faults, however slowly the machine runs them (a loaded
        # machine restarts services more slowly: a fixed duration alone would vary the
        # number of faults a run is tested against), within three times the duration.
        until = started + 3 * duration
        while not done and sum(nemesis.injected.values()) < min_faults and time.monotonic() < until:
            done, _ = await asyncio.wait(tasks, timeout=0.2, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()  # a crashed workload or nemesis is a failed run
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    seconds = time.monotonic() - started
    phases["setup"] = started - mark
    phases["faults"] = seconds
    say("healing")
    mark = time.monotonic()
    await heal(stack)
    phases["heal"] = time.monotonic() - mark
    say("draining")
    catch_up = CatchUp()
    projections, drained_in, converged = await drain(stack, drain_timeout, catch_up)
    phases["drain"] = drained_in
    snap = await asyncio.to_thread(checker.load, stack.database_urls())
    history = checker.check_history(workload.model, snap)
    if converged:
        projections = checker.check_projections(snap)
    else:
        for service in EVENT_SERVICES:
            for row in await stack.query(
                service,
                "SELECT consumer, event_type, event_id, deliveries, left(error, 300) AS error"
                " FROM dead_letters WHERE replayed_at IS NULL",
            ):
                say(f"dead letter in {service}: {dict(row)}")
    # Locks: every student's progress document against its recomputation from the owners.
    documents, unread = await read_documents(stack, workload.students, snap)
    history.merge(checker.check_documents(snap, documents, dt.datetime.now(dt.UTC)))
    for user, course, status in unread:
        history.add("progress documents (locks) <- owners", "lost", f"{user}/{course}: {status}")
    stats = workload.model.stats
    return ChaosResult(
        seconds=seconds,
        attempted=stats["attempted"],
        acknowledged=stats["ok"],
        failed=stats["fail"],
        indeterminate=stats["info"],
        faults=nemesis.injected,
        self_kills=nemesis.self_kills,
        projections=projections,
        history=history,
        drained_in=drained_in,
        converged=converged,
        nemesis_log=nemesis.log,
        op_stats=dict(stats),
        statuses=dict(workload.model.statuses),
        phases=phases,
        catch_up=catch_up,
        deletions=workload.deletions,
        model=workload.model,
    )


def _print(text: str) -> None:
    print(f"chaos | {text}", flush=True)


async def main_async(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="chaos-"))
    started = time.monotonic()
    stack = ReliabilityStack(data_dir)
    _print(f"starting the stack in {data_dir}")
    code = 1
    try:
        await stack.up()
        for _ in range(args.progress_replicas - 1):
            await stack.add_replica("progress")
        _print(
            f"stack up in {time.monotonic() - started:.1f}s "
            f"(gateway {stack.gateway_url}, {len(stack.stage.instances)} service processes)"
        )
        kinds = tuple(args.faults.split(",")) if args.faults else ALL_FAULTS
        unknown = set(kinds) - set(ALL_FAULTS)
        if unknown:
            raise SystemExit(f"unknown fault kinds: {sorted(unknown)}")
        result = await chaos(
            stack,
            duration=args.duration,
            instructors=args.instructors,
            students=args.students,
            seed=args.seed,
            interval=(args.interval * 0.6, args.interval * 1.4),
            kinds=kinds,
            drain_timeout=args.drain_timeout,
            deletion_interval=(
                (args.deletion_interval * 0.6, args.deletion_interval * 1.4)
                if args.deletion_interval > 0
                else None
            ),
            say=_print,
        )
        if args.verbose or not result.ok:
            for line in result.nemesis_log:
                _print(f"nemesis {line}")
            for line in result.deletions:
                _print(f"deleted {line}")
            _print(f"HTTP statuses: {dict(sorted(result.statuses.items()))}")
            print(result.projections.table())
            print(result.history.table())
            for sample in [*result.projections.samples, *result.history.samples]:
                _print(f"  {sample}")
        for line in result.lines():
            _print(line)
        total = time.monotonic() - started
        _print(f"{'VALID' if result.ok else 'INVALID'} run in {total:.0f}s (seed {args.seed})")
        if args.report:
            Path(args.report).write_text(  # noqa: ASYNC240 - once, at the end
                json.dumps(
                    {**result.as_dict(), "total_seconds": round(total, 1), "seed": args.seed},
                    indent=2,
                )
            )
        code = 0 if result.ok else 1
    finally:
        await stack.down()
        if not args.data_dir and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        elif code:
            _print(f"logs kept in {data_dir / 'logs'}")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chaos.py", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=150.0, help="workload seconds")
    parser.add_argument("--interval", type=float, default=4.5, help="mean seconds between faults")
    parser.add_argument("--instructors", type=int, default=3)
    parser.add_argument("--students", type=int, default=6)
    parser.add_argument("--progress-replicas", type=int, default=2)
    parser.add_argument("--faults", default="", help=f"comma-separated subset of {ALL_FAULTS}")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--deletion-interval",
        type=float,
        default=15.0,
        help="mean seconds between account deletions (0: none)",
    )
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--data-dir", default=None, help="default: a temporary directory")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (logs)")
    parser.add_argument("--report", default=None, help="write the figures as JSON here")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 30)
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())

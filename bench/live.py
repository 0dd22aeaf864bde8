# ruff: noqa: E501
"""The live rows of ``make bench`` (issue 23): the event stream service (``services/live``,
``GET /api/v1/me/stream``, docs/live.md) with 1,000 and 5,000 streams open.

- **Delivery latency**: students mark a post complete (or uncomplete) at a paced rate,
  each a distinct student with a stream open; from the commit of the write (PostgreSQL's
  commit timestamp of the transaction that wrote the ``PostCompleted``/``PostUncompleted``
  outbox row, ``events.install_commit_probes``) to the moment that student's stream
  yields its ``progress`` event (``reason: completion``) in the bench's client. Baseline,
  at the same time and rate in the same client process: a raw NATS core subscription on
  the same server (publish → the subscriber's callback).
- **Memory per open stream** (live's VmRSS growth ÷ streams) and **live's CPU while idle**
  with the streams open (utime + stime from /proc/<pid>/stat, % of one core).
- **Outline change fan-out**: the instructor attaches (then detaches) a module of the
  course whose 1,000 students all have a stream open: from catalog's commit of
  ``ModuleAttached`` to the last of them holding its ``progress`` (``reason: structure``).

Clients connect **through the gateway** (Caddy, as browsers and apps do) with the bench's
own asyncio client (raw streams, HTTP/1.1 chunked + SSE parsing, uvloop when installed):
one connection per student, all in one process. Writes go straight to progress (as the
lag section's paced writes do). Students are written straight into identity's ``users``
(one COPY, one shared argon2 hash nobody logs in with) and enrolled straight into
progress's ``enrollments`` (what its consumers would write); their access tokens are
minted with identity's own signing key, opened with the key-encryption key the bench
gives its stack (``stack.kek``): 5,000 logins would take minutes of argon2, and the
refresh grant ~100/s here.

``run.py`` calls :func:`measure`; ``python bench/focus.py --sections live`` runs it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import resource
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import events
import httpx
import nats
import psycopg
import stack as stackmod

# Goals (issue 23).
P99_GOAL_MS = 250.0  # delivery p99 with 1,000 streams open, under the paced writes
MEMORY_GOAL_KIB = 20.0  # live's RSS per open stream
FANOUT_GOAL_S = 1.0  # outline change: the last of 1,000 students has its event

# How each figure is measured (into the JSON with the figures).
HOW = {
    "delivery": "PostgreSQL commit timestamp of the transaction writing the student's "
    "PostCompleted/PostUncompleted outbox row (track_commit_timestamp + the bench's outbox "
    "probe) -> time.time() in the bench's client when that student's stream yields its "
    "progress event (reason completion); writes PUT/DELETE /me/completions/{post} straight "
    "to progress at --live-rate/s, each write its own student; streams through the gateway",
    "baseline": "raw NATS core on the same server, in the same client process at the same "
    "time and rate: one connection publishes, another subscribed receives; publish call -> "
    "callback",
    "stages": "the notice's own outbox row (causationid = the write's event): its commit "
    "(progress-notices consumer) and its relay pick (published_at), ms after the write's commit",
    "memory": "live's VmRSS (/proc/<pid>/status; pid found by its listening port) after the "
    "streams opened (+1 s) minus before any was open (after 20 opened and closed as a warm-up), "
    "divided by the streams open",
    "idle_cpu": "live's utime+stime (/proc/<pid>/stat) over 10 s (5 s at the larger count, "
    "and with --quick) with the streams open and nothing written, % of one core",
    "fanout": "the instructor attaches/detaches a module of the course (through the gateway); "
    "catalog's commit of ModuleAttached/ModuleDetached (outbox probe) -> time.time() when "
    "each enrolled student's stream yields progress (reason structure): the last, p50, first",
    "fixtures": "students COPYed into identity's users (one shared argon2 hash), access "
    "tokens minted with identity's signing key (opened with the bench's KEK, claims copied "
    "from a real token), enrollments inserted into progress's enrollments",
}

COMPLETION_TYPES = ("syllabus.progress.PostCompleted.v1", "syllabus.progress.PostUncompleted.v1")
OUTLINE_TYPES = ("syllabus.catalog.ModuleAttached.v1", "syllabus.catalog.ModuleDetached.v1")
NOTICE_TYPE = "syllabus.progress.Notice.v1"


def say(msg: str) -> None:
    print(f"bench | {msg}", flush=True)


def raise_nofile() -> int:
    """RLIMIT_NOFILE soft limit up to the hard one (before the stack starts, so its
    processes inherit it too): 5,000 streams are 5,000 sockets here, 10,000 in Caddy and
    5,000 in live. Returns the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def pct(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return round(s[min(len(s) - 1, int(p / 100 * len(s)))], 3)


# ---------------------------------------------------------------- fixtures


def live_course(api: stackmod.Api, instructor: str) -> dict[str, Any]:
    """A published course of 2 modules x 3 published posts (marking one post completes no
    module: one event per write), and a spare module with one published post that the
    fan-out attaches and detaches."""
    course = api.call(
        "POST", "/api/v1/courses", instructor, expect=201, json={"title": "Live course"}
    )["id"]
    posts: list[str] = []
    modules: list[str] = []
    for m in range(3):
        module = api.call(
            "POST", "/api/v1/modules", instructor, expect=201, json={"title": f"Live {m}"}
        )["id"]
        modules.append(module)
        for p in range(3 if m < 2 else 1):
            posts.append(
                api.call(
                    "POST",
                    f"/api/v1/modules/{module}/posts",
                    instructor,
                    expect=201,
                    json={
                        "title": f"Live post {m}.{p}",
                        "content": {"kind": "text", "body": "lorem ipsum"},
                        "status": "published",
                    },
                )["id"]
            )
        if m < 2:
            api.call(
                "POST",
                f"/api/v1/courses/{course}/modules",
                instructor,
                expect=201,
                json={"module_id": module},
            )
    api.call("PATCH", f"/api/v1/courses/{course}", instructor, json={"status": "published"})
    return {"course": course, "post": posts[0], "spare_module": modules[2]}


def mint_students(stack: stackmod.Stack, n: int, template: str) -> list[tuple[str, str]]:
    """``n`` students: rows in identity's ``users`` (one COPY; all share one argon2 hash of
    a random password, so nobody can sign in as them) and an access token each, signed
    with identity's current key (opened with the stack's KEK) and the claims identity
    puts in ``template`` (a real token: issuer, audience, lifetime, kid)."""
    import jwt
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher
    from syllabus_identity.keys import KeyEncryption
    from syllabus_shared.ids import new_id

    if stack.kek is None:
        raise RuntimeError("the stack was started without a bench KEK (stack.kek)")
    kid = jwt.get_unverified_header(template)["kid"]
    claims = jwt.decode(template, options={"verify_signature": False})
    ttl = int(claims["exp"]) - int(claims["iat"])
    idb = events.libpq(stack.db_url("syllabus_identity"))
    password_hash = PasswordHash((Argon2Hasher(),)).hash(secrets.token_urlsafe(24))
    users = [new_id() for _ in range(n)]
    with psycopg.connect(idb, autocommit=True) as conn:
        row = conn.execute(
            "SELECT private_key_pem, private_key_sealed, sealed_with FROM signing_keys WHERE kid = %s",
            (kid,),
        ).fetchone()
        assert row is not None, f"no signing key {kid}"
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY users (id, username, email, display_name, role, password_hash) FROM STDIN"
            ) as copy,
        ):
            for u in users:
                name = f"blive_{u.hex}"
                copy.write_row((u, name, f"{name}@example.com", name, "student", password_hash))
    key = KeyEncryption(current=stack.kek).open(kid, row[0], row[1], row[2])
    now = dt.datetime.now(dt.UTC)
    out = []
    for u in users:
        token = jwt.encode(
            {
                "iss": claims["iss"],
                "aud": claims["aud"],
                "sub": str(u),
                "role": "student",
                "iat": now,
                "exp": now + dt.timedelta(seconds=ttl),
                "jti": str(new_id()),
            },
            key,
            algorithm="ES256",
            headers={"kid": kid},
        )
        out.append((str(u), token))
    return out


def enroll(stack: stackmod.Stack, course: str, user_ids: list[str]) -> None:
    """Active enrollments straight into progress's projection (what EnrollmentCreated's
    handler writes; the completion path and the notices read only this table)."""
    with psycopg.connect(events.libpq(stack.db_url("syllabus_progress")), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO enrollments (id, user_id, course_id, status, enrolled_at, created_at, updated_at, version)"
            " SELECT gen_random_uuid(), u, %s, 'active', now(), now(), now(), 1"
            " FROM unnest(%s::uuid[]) AS u",
            (course, user_ids),
        )


# ---------------------------------------------------------------- the client


class Streams:
    """Open SSE connections, one per student, in this process (raw asyncio streams: HTTP/1.1
    request, chunked body, SSE frames). Every ``progress`` event is kept with the
    ``time.time()`` at which its chunk was read."""

    def __init__(self, base: str, tokens: list[tuple[str, str]]) -> None:
        url = urlsplit(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.tokens = tokens
        self.writers: dict[int, asyncio.StreamWriter] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.ready: dict[int, asyncio.Event] = {}
        self.got: dict[int, list[tuple[float, bytes]]] = {}  # progress events: (t, data)
        self.ended: dict[int, str] = {}
        self.waiters: list[tuple[Callable[[int, float, bytes], bool], asyncio.Event]] = []
        self.errors: list[str] = []
        self.other_events = 0

    @property
    def open_count(self) -> int:
        return len(self.writers) - len(self.ended)

    async def _open(self, i: int) -> None:
        token = self.tokens[i][1]
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 16)
        writer.write(
            (
                f"GET /api/v1/me/stream HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )
        status = await reader.readline()
        headers = []
        while (line := await reader.readline()) not in (b"\r\n", b""):
            headers.append(line.lower())
        if b" 200 " not in status:
            writer.close()
            raise RuntimeError(f"stream {i}: {status.decode(errors='replace').strip()}")
        if b"transfer-encoding: chunked\r\n" not in headers:
            writer.close()
            raise RuntimeError(f"stream {i}: not chunked: {headers}")
        self.writers[i] = writer
        self.ready[i] = asyncio.Event()
        self.got[i] = []
        self.tasks[i] = asyncio.create_task(self._read(i, reader))
        await asyncio.wait_for(self.ready[i].wait(), 30)

    async def _read(self, i: int, reader: asyncio.StreamReader) -> None:
        buf = b""
        why = "closed"
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    why = "ended"
                    break
                chunk = await reader.readexactly(size + 2)
                t = time.time()
                buf += chunk[:-2]
                while (cut := buf.find(b"\n\n")) >= 0:
                    block, buf = buf[:cut], buf[cut + 2 :]
                    event = data = b""
                    for part in block.split(b"\n"):
                        if part.startswith(b"event: "):
                            event = part[7:]
                        elif part.startswith(b"data: "):
                            data = part[6:]
                    if event == b"progress":
                        self.got[i].append((t, data))
                        for match, done in self.waiters:
                            if not done.is_set() and match(i, t, data):
                                done.set()
                    elif event == b"ready":
                        self.ready[i].set()
                    elif event:
                        self.other_events += 1
        except (ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
            why = repr(exc)
        except asyncio.CancelledError:
            why = "cancelled"
            raise
        finally:
            self.ended[i] = why

    async def open(self, indices: range, concurrency: int = 64) -> dict[str, Any]:
        """Open the streams of ``indices`` (``concurrency`` connects in flight); returns
        how many opened, the errors, and the connects per second."""
        sem = asyncio.Semaphore(concurrency)
        t0 = time.perf_counter()
        failed = 0

        async def one(i: int) -> None:
            nonlocal failed
            async with sem:
                for attempt in range(3):
                    try:
                        await self._open(i)
                        return
                    except (OSError, RuntimeError, TimeoutError) as exc:
                        if attempt == 2:
                            failed += 1
                            if len(self.errors) < 20:
                                self.errors.append(repr(exc)[:200])
                        else:
                            await asyncio.sleep(0.5)

        await asyncio.gather(*(one(i) for i in indices))
        took = time.perf_counter() - t0
        return {
            "opened": len(indices) - failed,
            "failed": failed,
            "seconds": round(took, 2),
            "per_second": round((len(indices) - failed) / took, 1) if took else None,
        }

    async def close(self) -> None:
        for w in self.writers.values():
            w.close()
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)

    def first_after(self, i: int, since: float, reason: bytes) -> float | None:
        needle = b'"reason":"' + reason + b'"'
        for t, data in self.got.get(i, ()):
            if t >= since and needle in data:
                return t
        return None


# ---------------------------------------------------------------- /proc


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def settled_rss(pid: int, wait: float = 1.0) -> int:
    """VmRSS once the process has had ``wait`` s to finish what the connects started."""
    await asyncio.sleep(wait)
    return rss_kib(pid)


async def idle_cpu(pid: int, seconds: float) -> float:
    """live's CPU over ``seconds`` with nothing sent, as % of one core."""
    c0, t0 = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return round(100 * (cpu_seconds(pid) - c0) / (time.monotonic() - t0), 2)


# ---------------------------------------------------------------- database reads


def _commits(
    stack: stackmod.Stack, database: str, types: tuple[str, ...], since: dt.datetime
) -> list[tuple[str, str, float, float | None]]:
    """(event id, the payload's ``data`` as JSON text, commit time, relay pick time) of
    the outbox rows of ``types`` written since ``since``: epoch seconds, PostgreSQL's
    commit timestamps (``track_commit_timestamp`` + the bench's outbox probe)."""
    with psycopg.connect(events.libpq(stack.db_url(database))) as conn:
        rows = conn.execute(
            "SELECT o.id::text, convert_from(o.payload, 'UTF8')::jsonb -> 'data',"
            " extract(epoch FROM pg_xact_commit_timestamp((b.xid %% 4294967296)::text::xid)),"
            " extract(epoch FROM o.published_at), convert_from(o.payload, 'UTF8')::jsonb ->> 'causationid'"
            " FROM outbox o JOIN bench_outbox_xid b USING (id)"
            " WHERE o.event_type = ANY(%s) AND o.created_at >= %s",
            (list(types), since),
        ).fetchall()
    return [
        (r[0], r[1], float(r[2]) if r[2] is not None else None, r[3] and float(r[3]), r[4])
        for r in rows
    ]


# ---------------------------------------------------------------- raw NATS baseline


async def raw_nats(nats_url: str, rate: float, duration: float) -> list[float]:
    """NATS core alone: one connection publishes at ``rate``/s, another one subscribed
    to the subject receives; ms from the publish call to the subscriber's callback."""
    sub_nc = await nats.connect(nats_url)
    pub_nc = await nats.connect(nats_url)
    subject = f"benchlive.{uuid.uuid4().hex[:8]}"
    lags: list[float] = []

    async def got(msg: Any) -> None:
        lags.append((time.perf_counter() - float(msg.data)) * 1000)

    await sub_nc.subscribe(subject, cb=got)
    await sub_nc.flush()
    total = int(rate * duration)
    t0 = time.perf_counter()
    for k in range(total):
        delay = t0 + k / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await pub_nc.publish(subject, repr(time.perf_counter()).encode())
    await pub_nc.flush()
    deadline = time.perf_counter() + 2
    while len(lags) < total and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    await pub_nc.close()
    await sub_nc.close()
    return lags


# ---------------------------------------------------------------- the measurements


class Writer:
    """Students mark the course's first post complete (or uncomplete, if they had),
    paced at ``rate``/s, each write by the next student in turn: with more students
    than writes per run, every write of a run is its own student's only one."""

    def __init__(self, post: str, tokens: list[tuple[str, str]]) -> None:
        self.post = post
        self.tokens = tokens
        self.completed: set[int] = set()
        self.next = 0

    async def run(
        self, http: httpx.AsyncClient, students: int, rate: float, duration: float
    ) -> list[dict[str, Any]]:
        writes: list[dict[str, Any]] = []
        tasks = []

        async def one(k: int) -> None:
            method = "DELETE" if k in self.completed else "PUT"
            w: dict[str, Any] = {"k": k, "method": method, "sent": time.time()}
            writes.append(w)
            try:
                r = await http.request(
                    method,
                    f"/api/v1/me/completions/{self.post}",
                    headers={"Authorization": f"Bearer {self.tokens[k][1]}"},
                )
                w["status"] = r.status_code
            except httpx.HTTPError as exc:
                w["status"] = repr(exc)[:100]
            w["answered"] = time.time()
            if w["status"] in (200, 201, 204):
                (self.completed.discard if method == "DELETE" else self.completed.add)(k)

        total = int(rate * duration)
        t0 = time.perf_counter()
        for n in range(total):
            delay = t0 + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            k = self.next % students
            self.next += 1
            tasks.append(asyncio.create_task(one(k)))
        await asyncio.gather(*tasks)
        return writes


async def delivery(
    stack: stackmod.Stack,
    streams: Streams,
    writer: Writer,
    http: httpx.AsyncClient,
    students: int,
    rate: float,
    duration: float,
) -> dict[str, Any]:
    """One paced run: writes by ``students`` students at ``rate``/s for ``duration`` s,
    the raw NATS baseline beside it; latencies from each write's commit."""
    since = await asyncio.to_thread(events.db_now, stack)
    writes, raw = await asyncio.gather(
        writer.run(http, students, rate, duration),
        raw_nats(stack.nats_url, rate, duration),
    )
    ok = [w for w in writes if w["status"] in (200, 201, 204)]
    deadline = time.time() + 5
    while time.time() < deadline:  # the last events land
        if all(streams.first_after(w["k"], w["sent"], b"completion") for w in ok):
            break
        await asyncio.sleep(0.05)
    commits = await asyncio.to_thread(_commits, stack, "syllabus_progress", COMPLETION_TYPES, since)
    notices = await asyncio.to_thread(_commits, stack, "syllabus_progress", (NOTICE_TYPE,), since)
    student_of = {streams.tokens[w["k"]][0]: w for w in ok}
    by_cause = {
        cause: (committed, picked)
        for _, data, committed, picked, cause in notices
        if data.get("reason") == "completion"
    }
    lat, from_answer, noticed, picked, missing, matched = [], [], [], [], 0, 0
    for event_id, data, committed, _, _ in commits:
        w = student_of.get(str(data.get("user_id")))
        if w is None or committed is None:
            continue
        if not (w["sent"] - 0.005 <= committed <= w["answered"] + 0.005):
            continue  # not this write's (clocks: both CLOCK_REALTIME of this machine)
        matched += 1
        t = streams.first_after(w["k"], w["sent"], b"completion")
        if t is None:
            missing += 1
            continue
        lat.append((t - committed) * 1000)
        from_answer.append((t - w["answered"]) * 1000)
        if event_id in by_cause:
            n_commit, n_pick = by_cause[event_id]
            if n_commit is not None:
                noticed.append((n_commit - committed) * 1000)
            if n_pick is not None:
                picked.append((n_pick - committed) * 1000)
    return {
        "writes": len(writes),
        "writes_ok": len(ok),
        "write_rps": round(len(ok) / duration, 1),
        "write_p50_ms": pct([(w["answered"] - w["sent"]) * 1000 for w in ok], 50),
        "samples": len(lat),
        "missing": missing,  # a committed write whose student's stream never told it
        "unmatched": len(ok) - matched,  # an answered write with no event row found
        "p50_ms": pct(lat, 50),
        "p99_ms": pct(lat, 99),
        "max_ms": round(max(lat), 3) if lat else None,
        "from_response_p50_ms": pct(from_answer, 50),
        "stages": {
            "notice_committed": {"p50_ms": pct(noticed, 50), "p99_ms": pct(noticed, 99)},
            "notice_relayed": {"p50_ms": pct(picked, 50), "p99_ms": pct(picked, 99)},
        },
        "raw_samples": len(raw),
        "raw_p50_ms": pct(raw, 50),
        "raw_p99_ms": pct(raw, 99),
    }


async def fanout(
    stack: stackmod.Stack,
    streams: Streams,
    api_base: str,
    fix: dict[str, Any],
    instructor: str,
    students: int,
    attach: bool,
) -> dict[str, Any]:
    """Attach (or detach) the spare module; from catalog's commit to each of ``students``
    streams holding its ``progress`` (``structure``) event."""
    sent = time.time()
    since = await asyncio.to_thread(events.db_now, stack)
    remaining = set(range(students))
    done = asyncio.Event()

    def match(i: int, t: float, data: bytes) -> bool:
        if i in remaining and t >= sent and b'"reason":"structure"' in data:
            remaining.discard(i)
        return not remaining

    waiter = (match, done)
    streams.waiters.append(waiter)
    h = {"Authorization": f"Bearer {instructor}"}
    course, module = fix["course"], fix["spare_module"]
    async with httpx.AsyncClient(base_url=api_base, timeout=30) as http:
        if attach:
            r = await http.post(
                f"/api/v1/courses/{course}/modules", headers=h, json={"module_id": module}
            )
        else:
            r = await http.delete(f"/api/v1/courses/{course}/modules/{module}", headers=h)
    answered = time.time()
    if r.status_code not in (200, 201, 204):
        streams.waiters.remove(waiter)
        raise RuntimeError(f"outline change: {r.status_code} {r.text[:200]}")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 15)
    streams.waiters.remove(waiter)
    outline = await asyncio.to_thread(_commits, stack, "syllabus_catalog", OUTLINE_TYPES, since)
    committed = next((c for _, _, c, _, _ in outline if c is not None), None)
    notices = await asyncio.to_thread(_commits, stack, "syllabus_progress", (NOTICE_TYPE,), since)
    cause = next((e for e, _, _, _, _ in outline), None)
    told = [(c, p) for _, d, c, p, k in notices if k == cause and d.get("reason") == "structure"]
    got = [streams.first_after(i, sent, b"structure") for i in range(students)]
    times = sorted(t for t in got if t is not None)
    t0 = committed if committed is not None else sent
    ms = [(t - t0) * 1000 for t in times]
    return {
        "change": "attach" if attach else "detach",
        "students": students,
        "received": len(times),
        "last_ms": round(ms[-1], 1) if ms else None,
        "p50_ms": pct(ms, 50),
        "first_ms": round(ms[0], 1) if ms else None,
        "request_ms": round((answered - sent) * 1000, 1),
        "from": "catalog commit" if committed is not None else "request sent",
        "notices": len(told),
        "notices_committed_ms": round((max(c for c, _ in told) - t0) * 1000, 1)
        if told and all(c for c, _ in told)
        else None,
        "last_notice_relayed_ms": round((max(p for _, p in told) - t0) * 1000, 1)
        if told and all(p for _, p in told)
        else None,
    }


async def _section(
    stack: stackmod.Stack,
    api: stackmod.Api,
    instructor: str,
    template: str,
    sizes: list[int],
    rate: float,
    duration: float,
    reps: int,
    idle_seconds: float,
) -> dict[str, Any]:
    live_url = stack.services.get("live")
    pid = live_url and _listening_pid(live_url)
    res: dict[str, Any] = {
        "how": HOW,
        "client": "bench/live.py: raw asyncio streams (uvloop when installed), one process, through the gateway",
        "writes": "PUT/DELETE /me/completions/{post} straight to progress, paced",
        "rate": rate,
        "duration_s": duration,
        "repeats": reps,
        "live_pid_found": bool(pid),
        "sizes": {},
    }
    fix = await asyncio.to_thread(live_course, api, instructor)
    most = max(sizes)
    t0 = time.perf_counter()
    students = await asyncio.to_thread(mint_students, stack, most, template)
    res["minted_s"] = round(time.perf_counter() - t0, 2)
    await asyncio.to_thread(
        events.install_commit_probes, stack, ["syllabus_catalog", "syllabus_progress"]
    )
    await asyncio.to_thread(stackmod.settle, stack)
    streams = Streams(stack.gateway, students)
    writer = Writer(fix["post"], students)
    # Warm-up: a few streams opened and closed (first-use costs are not per stream).
    warm = Streams(stack.gateway, students)
    await warm.open(range(20))
    await warm.close()
    await asyncio.sleep(0.5)
    rss0 = rss_kib(pid) if pid else None
    res["rss_before_kib"] = rss0
    enrolled = 0
    opened = 0
    async with httpx.AsyncClient(
        base_url=stack.services["progress"],
        timeout=30,
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
    ) as http:
        for n in sizes:
            say(f"  {n:,} streams: enrolling, opening through the gateway")
            await asyncio.to_thread(
                enroll, stack, fix["course"], [u for u, _ in students[enrolled:n]]
            )
            enrolled = n
            op = await streams.open(range(opened, n))
            opened = n
            rss = await settled_rss(pid) if pid else None
            cpu = (
                await idle_cpu(pid, idle_seconds if n == min(sizes) else idle_seconds / 2)
                if pid
                else None
            )
            size: dict[str, Any] = {
                "open": op,
                "open_streams": streams.open_count,
                "rss_kib": rss,
                "rss_per_stream_kib": round((rss - rss0) / streams.open_count, 2)
                if rss is not None and rss0 and streams.open_count
                else None,
                "idle_cpu_pct": cpu,
            }
            say(
                f"  {n:,} streams: opened {op['opened']:,} ({op['failed']} failed) in {op['seconds']} s "
                f"({op['per_second']}/s); live RSS {rss} KiB (+{size['rss_per_stream_kib']} KiB/stream); "
                f"idle CPU {cpu} % of a core"
            )
            if op["failed"]:
                say(f"    errors: {streams.errors[:3]}")
            runs = []
            for r in range(reps if n == min(sizes) else min(reps, 2)):
                await asyncio.to_thread(stackmod.settle, stack)
                d = await delivery(stack, streams, writer, http, n, rate, duration)
                runs.append(d)
                say(
                    f"  {n:,} streams #{r + 1}: delivery p50/p99 {d['p50_ms']}/{d['p99_ms']} ms "
                    f"(n={d['samples']}, missing {d['missing']}; writes {d['write_rps']}/s); "
                    f"raw NATS p50/p99 {d['raw_p50_ms']}/{d['raw_p99_ms']} ms; notice committed p50 "
                    f"{d['stages']['notice_committed']['p50_ms']} ms, relayed {d['stages']['notice_relayed']['p50_ms']} ms"
                )
            size["delivery"] = runs
            fans = []
            if n == min(sizes) or n == most:
                for _ in range(reps if n == min(sizes) else 1):
                    await asyncio.to_thread(stackmod.settle, stack)
                    fix["attached"] = not fix.get("attached", False)
                    f = await fanout(
                        stack, streams, stack.gateway, fix, instructor, n, attach=fix["attached"]
                    )
                    fans.append(f)
                    say(
                        f"  {n:,} streams, outline {f['change']}: last of {f['received']:,} at {f['last_ms']} ms "
                        f"(p50 {f['p50_ms']}, first {f['first_ms']}; from the {f['from']}); "
                        f"{f['notices']} notices committed at {f['notices_committed_ms']} ms, last relayed {f['last_notice_relayed_ms']} ms"
                    )
            size["fanout"] = fans
            res["sizes"][str(n)] = size
    res["streams_ended_early"] = len(streams.ended)
    await streams.close()
    return res


def _listening_pid(url: str) -> int | None:
    from assessment import listening_pid

    return listening_pid(url)


def measure(
    stack: stackmod.Stack,
    api: stackmod.Api,
    fx: stackmod.Fixtures,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Section 9, with run.py's arguments (``--live-streams``, ``--live-rate``,
    ``--live-duration``, ``--repeats``, ``--quick``)."""
    if "live" not in stack.services:
        say("9. live: not in the stack (deploy/stack.toml): skipped")
        return {"skipped": "live is not in the stack"}
    sizes = [int(x) for x in str(args.live_streams).split(",") if x.strip()]
    limit = raise_nofile()
    fit = [n for n in sizes if 2 * n + 1024 <= limit]  # this process: n sockets and then some
    if fit != sizes:
        say(f"  RLIMIT_NOFILE {limit}: {sorted(set(sizes) - set(fit))} streams do not fit; skipped")
    if not fit:
        return {"skipped": f"RLIMIT_NOFILE {limit}"}
    if args.live_rate * args.live_duration > min(fit):
        # Each write of a run must be its own student's only one (matched by student).
        args.live_duration = min(fit) / args.live_rate
        say(f"  --live-duration cut to {args.live_duration:g} s: one write per student per run")
    say(
        f"9. live: {', '.join(f'{n:,}' for n in fit)} streams through the gateway; completions at "
        f"{args.live_rate:g}/s for {args.live_duration:g} s vs raw NATS; memory, idle CPU, outline fan-out"
    )
    t0 = time.perf_counter()
    coro = _section(
        stack,
        api,
        fx.instructor,
        fx.admin,
        fit,
        args.live_rate,
        args.live_duration,
        args.repeats,
        5.0 if args.quick else 10.0,
    )
    try:
        import uvloop  # type: ignore[import-not-found]

        res = uvloop.run(coro)
    except ImportError:
        res = asyncio.run(coro)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    res["summary"] = summarize(res)
    say(f"  live section: {res['seconds']} s; {json.dumps(res['summary'])}")
    return res


def summarize(res: dict[str, Any]) -> dict[str, Any]:
    from run import spread

    out: dict[str, Any] = {}
    for n, size in res["sizes"].items():
        d = size["delivery"]
        fans = size["fanout"]
        out[n] = {
            "p50_ms": spread([x["p50_ms"] for x in d]),
            "p99_ms": spread([x["p99_ms"] for x in d]),
            "raw_p50_ms": spread([x["raw_p50_ms"] for x in d]),
            "raw_p99_ms": spread([x["raw_p99_ms"] for x in d]),
            "ratio_p99": spread(
                [x["p99_ms"] / x["raw_p99_ms"] for x in d if x["p99_ms"] and x["raw_p99_ms"]]
            ),
            "notice_committed_p50_ms": spread(
                [x["stages"]["notice_committed"]["p50_ms"] for x in d]
            ),
            "notice_relayed_p50_ms": spread([x["stages"]["notice_relayed"]["p50_ms"] for x in d]),
            "samples": sum(x["samples"] for x in d),
            "missing": sum(x["missing"] for x in d),
            "write_rps": spread([x["write_rps"] for x in d]),
            "rss_per_stream_kib": size["rss_per_stream_kib"],
            "idle_cpu_pct": size["idle_cpu_pct"],
            "open_streams": size["open_streams"],
            "open_failed": size["open"]["failed"],
            "opens_per_second": size["open"]["per_second"],
            "fanout_last_ms": spread([f["last_ms"] for f in fans]),
            "fanout_p50_ms": spread([f["p50_ms"] for f in fans]),
            "fanout_notices_committed_ms": spread([f["notices_committed_ms"] for f in fans]),
            "fanout_complete": all(f["received"] == f["students"] for f in fans),
        }
    return out


# ---------------------------------------------------------------- the table


def rows(r: dict[str, Any], f: Any, s: Any) -> list[tuple[Any, ...]]:
    lv = r.get("live")
    if not lv or "summary" not in lv:
        return []
    out: list[tuple[Any, ...]] = []
    sm = lv["summary"]
    first = min(sm, key=int)
    for n, x in sm.items():
        p99 = x["p99_ms"]["median"]
        goal = int(n) == int(first)
        out.append(
            (
                "9",
                f"live: delivery commit→client event, {int(n):,} streams open, "
                f"{lv['rate']:g} completions/s: p50 / p99 ms",
                f"{f(x['p50_ms']['median'], nd=1)} / {s(x['p99_ms'], nd=1)} "
                f"({x['samples']:,} events, {x['missing']} missing; notice committed p50 "
                f"{f(x['notice_committed_p50_ms']['median'], nd=1)}, relayed {f(x['notice_relayed_p50_ms']['median'], nd=1)})",
                f"raw NATS core publish→subscriber, same client, same time: "
                f"{f(x['raw_p50_ms']['median'], nd=2)} / {f(x['raw_p99_ms']['median'], nd=2)}",
                f(x["ratio_p99"]["median"], "x", 1),
                f"p99 ≤ {P99_GOAL_MS:g} ms" if goal else "",
                (p99 is not None and p99 <= P99_GOAL_MS and x["missing"] == 0) if goal else None,
            )
        )
    for n, x in sm.items():
        kib = x["rss_per_stream_kib"]
        out.append(
            (
                "9",
                f"live: memory per open stream, {int(n):,} streams (RSS growth ÷ streams), KiB; "
                "idle CPU with them open",
                f"{f(kib, nd=1)} KiB; idle {f(x['idle_cpu_pct'], '%', 1)} of a core",
                f"{x['open_streams']:,} open ({x['open_failed']} failed to open), opened at "
                f"{f(x['opens_per_second'])}/s; growth over live's RSS before any stream",
                "",
                f"≤ {MEMORY_GOAL_KIB:g} KiB",
                kib is not None and kib <= MEMORY_GOAL_KIB and x["open_failed"] == 0,
            )
        )
    for n, x in sm.items():
        last = x["fanout_last_ms"]
        if last["median"] is None:
            continue
        goal = int(n) == int(first)
        out.append(
            (
                "9",
                f"live: outline change fan-out to {int(n):,} students with a stream open: "
                "catalog commit → the last one's event, ms",
                f"{s(last, nd=0)} (p50 {f(x['fanout_p50_ms']['median'], nd=0)})",
                f"progress's notices committed at {f(x['fanout_notices_committed_ms']['median'], nd=0)} ms",
                "",
                f"≤ {FANOUT_GOAL_S * 1000:,.0f} ms" if goal else "",
                (last["max"] <= FANOUT_GOAL_S * 1000 and x["fanout_complete"]) if goal else None,
            )
        )
    return out

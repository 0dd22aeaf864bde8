"""Live streams across a killed and a stopped ``live`` (RELIABILITY, issue 23): clients
reconnect with their last event id, and every notice the LIVE stream holds for each of
them after their first ``ready`` reaches them, with no ``reset``.

The check is against the stream itself: the notices JetStream kept under
``live.user.<id>`` are exactly what each person should have been told.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from dataclasses import dataclass, field

import httpx
import pytest

from harness import ReliabilityStack, User, stream_messages

from conftest import build_world

pytestmark = pytest.mark.asyncio(loop_scope="session")


@dataclass
class Follower:
    """One person's stream, reconnecting with ``Last-Event-ID`` whenever it ends."""

    stack: ReliabilityStack
    user: User
    first_ready: int | None = None
    last_id: str | None = None
    received: set[int] = field(default_factory=set)
    resets: int = 0
    connections: int = 0
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            headers = {**self.user.headers, "Accept": "text/event-stream"}
            if self.last_id is not None:
                headers["Last-Event-ID"] = self.last_id
            try:
                async with (
                    httpx.AsyncClient(
                        base_url=self.stack.gateway_url, timeout=httpx.Timeout(5, read=30)
                    ) as c,
                    c.stream("GET", "/api/v1/me/stream", headers=headers) as r,
                ):
                    if r.status_code == 200:
                        self.connections += 1
                        await self._read(r, stop)
            except (httpx.HTTPError, asyncio.CancelledError):
                if stop.is_set():
                    return
            await asyncio.sleep(0.1)

    async def _read(self, r: httpx.Response, stop: asyncio.Event) -> None:
        fields: dict[str, str] = {}
        async for line in r.aiter_lines():
            if stop.is_set():
                return
            if line:
                if not line.startswith(":"):
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                continue
            event, event_id = fields.get("event"), fields.get("id")
            fields = {}
            if event is None:
                continue
            if event == "ready" and self.first_ready is None and event_id:
                self.first_ready = int(event_id)
                self.connected.set()
            elif event == "reset":
                self.resets += 1
            elif event_id:
                self.received.add(int(event_id))
            if event_id:
                self.last_id = event_id


async def test_clients_resume_across_a_killed_and_a_stopped_live(stack: ReliabilityStack) -> None:
    world = await build_world(stack)
    students = [world.student, *[await stack.user("student") for _ in range(3)]]
    for student in students[1:]:
        async with stack.client(student) as c:
            r = await c.post(f"/api/v1/courses/{world.course}/enrollments")
            assert r.status_code == 201, r.text
    followers = [Follower(stack, s) for s in students]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(f.run(stop)) for f in followers]
    rng = random.Random(23)

    async def work(seconds: float) -> None:
        """Each student marks the post done and not done, over and over."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            student = rng.choice(students)
            async with stack.client(student) as c:
                if rng.random() < 0.5:
                    await c.put(f"/api/v1/me/completions/{world.post}")
                else:
                    await c.delete(f"/api/v1/me/completions/{world.post}")
            await asyncio.sleep(0.05)

    try:
        for f in followers:
            await asyncio.wait_for(f.connected.wait(), 15)
        live = stack.instance("live")
        await work(2.0)
        await stack.kill(live)  # no shutdown at all
        await work(2.0)  # notices pile up in the LIVE stream meanwhile
        await stack.restart(live)
        await work(2.0)
        # Streams end at once, so the process exits at once (uvicorn re-raises the
        # SIGTERM it caught once it has stopped: -15), and clients reconnect.
        code, took = await stack.term(live)
        assert code in (0, -15) and took < 3.0, (code, took)
        await work(1.0)
        await stack.restart(live)
        await work(2.0)
        await asyncio.sleep(2.5)  # the last notices travel
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)

    kept = await stream_messages(stack.nats_url, "LIVE")
    for f in followers:
        assert f.first_ready is not None
        expected = {
            m.seq
            for m in kept
            if m.subject.endswith(f".user.{f.user.id}") and m.seq > f.first_ready
        }
        assert expected, "the workload told this student nothing"
        assert all(
            json.loads(m.data)["data"]["user_id"] == f.user.id for m in kept if m.seq in expected
        )
        missed = sorted(expected - f.received)
        assert not missed, f"{f.user.username} missed {missed} (reconnected {f.connections}x)"
        assert f.resets == 0
        assert f.connections >= 3  # first, after the kill, after the stop


async def test_stream_input_fuzzed_is_a_clear_4xx_never_a_5xx(stack: ReliabilityStack) -> None:
    """Random ``Last-Event-ID`` and ``Accept`` values, with valid, forged, malformed and
    revoked tokens: a 200 stream (that starts with ``ready``) or a 4xx problem, never 5xx."""
    rng = random.Random(2026)
    user = await stack.user("student")
    doomed = await stack.user("student")
    async with stack.client(doomed) as c:
        assert (await c.delete("/api/v1/users/me")).status_code == 204
    header, payload, signature = user.token.split(".")
    tokens = {
        "valid": user.token,
        "forged": f"{header}.{payload}.{signature[::-1]}",
        "alg-none": "eyJhbGciOiJub25lIn0." + payload + ".",
        "garbage": "x" * rng.randint(1, 300),
        "deleted": doomed.token,
    }
    printable = [chr(c) for c in range(0x21, 0x7F)]

    def text(limit: int) -> str:
        return "".join(rng.choice(printable) for _ in range(rng.randint(0, limit)))

    ids = [lambda: text(30), lambda: str(rng.randint(-5, 10**21)), lambda: "9" * 25, lambda: "0"]
    accepts = [
        lambda: "text/event-stream",
        lambda: "*/*",
        lambda: "application/json",
        lambda: text(40),
        lambda: "text/event-stream;q=0.1, application/json",
    ]
    seen: dict[int, int] = {}
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as c:
        for _ in range(120):
            kind = rng.choice(list(tokens))
            headers = {"Authorization": f"Bearer {tokens[kind]}", "Accept": rng.choice(accepts)()}
            if rng.random() < 0.7:
                headers["Last-Event-ID"] = rng.choice(ids)()
            async with c.stream("GET", "/api/v1/me/stream", headers=headers) as r:
                seen[r.status_code] = seen.get(r.status_code, 0) + 1
                if r.status_code == 200:
                    assert kind == "valid", headers
                    async for line in r.aiter_lines():
                        assert line.startswith(("id:", "event: ready")), line
                        if line.startswith("event:"):
                            break
                    continue
                assert 400 <= r.status_code < 500, (headers, r.status_code)
                body = json.loads(await r.aread())
                assert body["status"] == r.status_code and body["detail"], body
                if kind != "valid":
                    assert r.status_code == 401, (kind, r.status_code)
    assert seen.get(200) and seen.get(401) and (seen.get(400) or seen.get(406)), seen

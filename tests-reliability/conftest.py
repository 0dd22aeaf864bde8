"""Fixtures: one real stack (processes on loopback) shared by the reliability tests.

Every test leaves the stack healed and converged, so the next one starts from a valid
state; a test that breaks something restores it in ``finally``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import checker
from harness import ReliabilityStack, User, consumers_idle

_STACK: ReliabilityStack | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("reliability")
    group.addoption(
        "--nats-outage",
        type=float,
        default=None,
        help="seconds of the long NATS outage test (default 130)",
    )
    group.addoption(
        "--fuzz-examples",
        type=int,
        default=None,
        help="schemathesis examples per operation (long fuzz run)",
    )
    group.addoption(
        "--chaos-seconds", type=float, default=None, help="workload seconds of the short chaos run"
    )


@pytest_asyncio.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ReliabilityStack]:
    global _STACK
    s = ReliabilityStack(Path(tmp_path_factory.mktemp("stack")))
    await s.up()
    _STACK = s
    try:
        yield s
    finally:
        _STACK = None
        await s.down()


@pytest_asyncio.fixture(autouse=True)
async def healed(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """After each test, whatever it did or however it failed: servers resumed and running,
    every service process up and unarmed, so one failure does not cascade."""
    yield
    if _STACK is not None and "stack" in request.fixturenames:
        from chaos import heal

        await heal(_STACK)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed and _STACK is not None:
        report.sections.append(("stack logs", _STACK.logs_tail()))


async def settle(
    stack: ReliabilityStack, timeout: float = 60.0, *, idle: bool = False
) -> checker.Report:
    """Wait until the pipeline has drained and every projection equals its owners.

    ``idle`` also waits until no durable consumer holds an unacknowledged message (an ack
    lost with a killed nats-server is only settled by a redelivery after AckWait, 30 s).
    """
    deadline = time.monotonic() + timeout
    urls = stack.database_urls()
    while True:
        snap = await asyncio.to_thread(checker.load, urls)
        report = checker.check_projections(snap)
        drained = report.ok and not any(snap.unpublished.values())
        if drained and (not idle or await consumers_idle(stack.nats_url)):
            return report
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not converged after {timeout}s: {report.line()} "
                f"unpublished={snap.unpublished}\n" + "\n".join(report.samples[:20])
            )
        await asyncio.sleep(0.3)


@dataclass
class World:
    """One instructor's published course with a module and a post, and an enrolled student."""

    instructor: User
    student: User
    course: str
    module: str
    post: str


async def build_world(stack: ReliabilityStack) -> World:
    instructor = await stack.user("instructor")
    student = await stack.user("student")
    tag = uuid.uuid4().hex[:6]
    async with stack.client(instructor) as c:
        course = (await c.post("/api/v1/courses", json={"title": f"world {tag}"})).json()["id"]
        module = (await c.post("/api/v1/modules", json={"title": f"world m {tag}"})).json()["id"]
        r = await c.post(f"/api/v1/courses/{course}/modules", json={"module_id": module})
        assert r.status_code == 201, r.text
        r = await c.post(
            f"/api/v1/modules/{module}/posts",
            json={
                "title": f"world p {tag}",
                "status": "published",
                "content": {"kind": "text", "body": "hello"},
            },
        )
        assert r.status_code == 201, r.text
        post = r.json()["id"]
        r = await c.patch(f"/api/v1/courses/{course}", json={"status": "published"})
        assert r.status_code == 200, r.text
    async with stack.client(student) as c:
        r = await c.post(f"/api/v1/courses/{course}/enrollments")
        assert r.status_code == 201, r.text
        r = await c.put(f"/api/v1/me/completions/{post}")
        assert r.status_code in (200, 201), r.text
    return World(instructor, student, course, module, post)


@pytest_asyncio.fixture(scope="session")
async def world(stack: ReliabilityStack) -> World:
    return await build_world(stack)


async def versioned_history(stack: ReliabilityStack, world: World) -> None:
    """Aggregates with several versions each: renames, publication changes, reorders."""
    async with stack.client(world.instructor) as c:
        posts = [world.post]
        for i in range(3):
            r = await c.post(
                f"/api/v1/modules/{world.module}/posts",
                json={"title": f"v-post {i}", "content": {"kind": "text", "body": "b"}},
            )
            assert r.status_code == 201, r.text
            posts.append(r.json()["id"])
        for i in range(3):
            assert (
                await c.patch(
                    f"/api/v1/modules/{world.module}", json={"title": f"world module v{i}"}
                )
            ).status_code == 200
            assert (
                await c.patch(
                    f"/api/v1/courses/{world.course}", json={"title": f"world course v{i}"}
                )
            ).status_code == 200
            for post in posts[1:]:
                r = await c.patch(
                    f"/api/v1/posts/{post}",
                    json={
                        "title": f"v-post {post[-4:]} v{i}",
                        "status": "published" if i % 2 == 0 else "draft",
                    },
                )
                assert r.status_code == 200, r.text
            listed = await c.get(f"/api/v1/modules/{world.module}/posts", params={"limit": 100})
            order = [p["id"] for p in listed.json()["items"]]
            r = await c.put(
                f"/api/v1/modules/{world.module}/posts",
                json={"post_ids": list(reversed(order)) if i % 2 else order},
            )
            assert r.status_code == 200, r.text
        extra = (await c.post("/api/v1/modules", json={"title": "v-extra"})).json()["id"]
        assert (
            await c.post(
                f"/api/v1/courses/{world.course}/modules", json={"module_id": extra, "position": 1}
            )
        ).status_code == 201
        assert (await c.delete(f"/api/v1/posts/{posts[-1]}")).status_code == 204

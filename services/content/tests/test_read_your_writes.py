"""Read-your-writes: a module created in catalog a moment ago can be posted into at once,
with no call from content to catalog: the request waits (bounded) for the projection."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import httpx
from syllabus_devkit.testing.asserts import assert_problem
from syllabus_devkit.testing.plugin import Databases
from syllabus_devkit.testing.tokens import TokenFactory
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.ids import new_id

from conftest import API, TEXT, Content, running_content


async def _created_later(
    content: Content, module_id: uuid.UUID, owner: uuid.UUID, delay: float
) -> None:
    """Catalog's relay, late: ModuleCreated reaches the stream only after ``delay``."""
    await asyncio.sleep(delay)  # simulating the producer's lag, not waiting on a result
    await content.publish(ce.ModuleCreated(module_id=module_id, title="M", creator_id=owner), 1)


async def test_create_then_post_under_load(
    databases: Databases, nats_url: str, tokens: TokenFactory
) -> None:
    """30 pairs at once: each module is announced 100-300 ms after its posts were sent.
    Every post waits for its module: with the service's 2 s bound, a machine loaded by other
    suites could let the last ones run out of it, so this app waits up to 10 s (what is
    tested is that they wait and then succeed, not how fast the machine is)."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    async with running_content(
        databases, nats_url, namespace, tokens, consistency_wait_seconds=10.0
    ) as content:
        await _create_then_post(content)


async def _create_then_post(content: Content) -> None:
    rng = random.Random(3)
    pairs = [(new_id(), uuid.uuid4()) for _ in range(30)]

    async def post_into(module_id: uuid.UUID, owner: uuid.UUID) -> httpx.Response:
        return await content.client.post(
            f"{API}/modules/{module_id}/posts",
            json={"title": "First", "content": TEXT},
            headers=content.as_("instructor", owner),
        )

    posts = [asyncio.create_task(post_into(m, o)) for m, o in pairs]
    producers = [
        asyncio.create_task(_created_later(content, m, o, rng.uniform(0.1, 0.3))) for m, o in pairs
    ]
    results = await asyncio.gather(*posts)
    await asyncio.gather(*producers)
    assert [r.status_code for r in results] == [201] * 30, [
        r.text for r in results if r.status_code != 201
    ]
    for (module_id, owner), r in zip(pairs, results, strict=True):
        assert r.json()["module_id"] == str(module_id)
        assert r.json()["creator_id"] == str(owner)
        assert r.json()["position"] == 1


async def test_thirty_waiters_on_one_module(content: Content) -> None:
    """30 posts into one module that catalog announces only after 100-300 ms."""
    owner, module_id = uuid.uuid4(), new_id()
    headers = content.as_("instructor", owner)
    posts = [
        asyncio.create_task(
            content.client.post(
                f"{API}/modules/{module_id}/posts",
                json={"title": f"P{i}", "content": TEXT},
                headers=headers,
            )
        )
        for i in range(30)
    ]
    producer = asyncio.create_task(_created_later(content, module_id, owner, 0.2))
    results = await asyncio.gather(*posts)
    await producer
    assert [r.status_code for r in results] == [201] * 30
    assert sorted(r.json()["position"] for r in results) == list(range(1, 31))
    assert [p for _, p in await content.db_positions(module_id)] == list(range(1, 31))


async def test_reads_wait_too(content: Content) -> None:
    owner, module_id = uuid.uuid4(), new_id()
    listing = asyncio.create_task(
        content.client.get(
            f"{API}/modules/{module_id}/posts", headers=content.as_("instructor", owner)
        )
    )
    await _created_later(content, module_id, owner, 0.15)
    r = await listing
    assert r.status_code == 200, r.text
    assert r.json() == {"items": [], "next_cursor": None}


async def test_someone_elses_new_module_is_403_after_the_wait(content: Content) -> None:
    owner, module_id = uuid.uuid4(), new_id()
    attempt = asyncio.create_task(
        content.client.post(
            f"{API}/modules/{module_id}/posts",
            json={"title": "t", "content": TEXT},
            headers=content.as_("instructor"),
        )
    )
    await _created_later(content, module_id, owner, 0.1)
    assert_problem(await attempt, 403)


async def test_bounds_of_the_wait(content: Content) -> None:
    headers = content.as_("instructor")
    body = {"title": "t", "content": TEXT}
    # An id that cannot be in flight (not a UUIDv7) is a 404 at once.
    started = time.monotonic()
    r = await content.client.post(f"{API}/modules/{uuid.uuid4()}/posts", json=body, headers=headers)
    assert_problem(r, 404)
    assert time.monotonic() - started < 0.5
    # A fresh UUIDv7 catalog never announces: after the bounded wait, not longer, a 503
    # with Retry-After (its event may still be on its way: no evidence it does not exist).
    started = time.monotonic()
    r = await content.client.post(f"{API}/modules/{new_id()}/posts", json=body, headers=headers)
    assert_problem(r, 503)
    assert r.json()["type"].endswith("/not-yet-visible")
    assert r.headers["retry-after"] == "1"
    waited = time.monotonic() - started
    wait = content.settings.consistency_wait_seconds
    assert wait - 0.1 <= waited < wait + 1.5

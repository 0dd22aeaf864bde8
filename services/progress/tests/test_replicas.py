"""Two replicas of progress side by side (issue 9, item 4): one database, one durable
consumer per source shared by both, requests spread over both; the projection ends right
and each replica applied part of the events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import nats
from sqlalchemy import func, select
from syllabus_devkit.testing.plugin import Databases, serve_app
from syllabus_devkit.testing.tokens import TokenFactory
from syllabus_progress.main import create_app
from syllabus_shared.runtime import Runtime

from conftest import MIGRATIONS, Progress, World, ids, module_ids, post_ids, progress_settings


@contextlib.asynccontextmanager
async def replicas(
    databases: Databases, nats_url: str, namespace: str, tokens: TokenFactory, count: int = 2
) -> AsyncIterator[list[Progress]]:
    settings = progress_settings(await databases.create(MIGRATIONS), nats_url, namespace, tokens)
    nc = await nats.connect(nats_url)
    try:
        world = World(nc, namespace)
        await world.setup()
        async with contextlib.AsyncExitStack() as stack:
            running = []
            for index in range(count):
                app = create_app(settings)
                client = await stack.enter_async_context(
                    serve_app(app, f"http://progress-{index + 1}")
                )
                runtime: Runtime = app.state.runtime
                for consumer in runtime.consumers:
                    await asyncio.wait_for(consumer.ready.wait(), 10)
                running.append(Progress(client, runtime, tokens, settings, world))
            yield running
    finally:
        await nc.close()


def outcomes(runtime: Runtime, outcome: str) -> float:
    """Events this replica's consumers handled with ``outcome`` (from its metrics)."""
    registry = runtime.metrics.registry
    return sum(
        registry.get_sample_value(
            "events_applied_total", {"consumer": consumer.durable, "outcome": outcome}
        )
        or 0.0
        for consumer in runtime.consumers
    )


async def test_two_replicas_share_the_durable_consumers_and_keep_the_projection_right(
    databases: Databases, nats_url: str, namespace: str, tokens: TokenFactory
) -> None:
    async with replicas(databases, nats_url, namespace, tokens) as (one, two):
        # The same durable consumers, bound by both replicas.
        assert [c.durable for c in one.runtime.consumers] == [
            c.durable for c in two.runtime.consumers
        ]
        w = one.world
        course, modules, posts = await w.course_with(modules=3, posts=4)
        await one.synced()

        user_id, student = one.student()
        assert (await one.enroll(course, student)).status_code == 201
        # Completions spread over both replicas, as the gateway would spread them.
        for index, post in enumerate([posts[0][0], posts[1][1], posts[2][3]]):
            r = await (one if index % 2 else two).complete(post, student)
            assert r.status_code == 201, r.text

        # Structure changes flow while both replicas consume.
        await w.reorder_modules(course, [modules[2], modules[0], modules[1]])
        await w.reorder_posts(modules[0], list(reversed(posts[0])))
        extra = await w.post(modules[1], "P2.5")
        await w.update_post(posts[2][0], status="draft")
        await one.synced()

        expected_modules = ids([modules[2], modules[0], modules[1]])
        expected_posts = [
            ids(posts[2][1:]),  # P3.1 unpublished: not counted, not shown
            ids(list(reversed(posts[0]))),
            ids([*posts[1], extra]),
        ]
        for replica in (one, two):
            doc = await replica.doc_until(
                course, student, lambda d: module_ids(d) == expected_modules
            )
            assert post_ids(doc) == expected_posts
            assert (doc["completed_posts"], doc["total_posts"]) == (3, 12)
            assert doc["percent"] == 25.0
            assert doc["user_id"] == str(user_id)
        # Both replicas answer from one database: their projections are the same rows.
        assert await one.projection() == await two.projection(two.runtime)

        # Both replicas did part of the consuming: neither sat idle behind the other.
        work = [outcomes(r.runtime, "applied") for r in (one, two)]
        assert all(n > 0 for n in work), work
        # Every event was handled once across the two: one inbox row each, no duplicates.
        handled = sum(outcomes(r.runtime, o) for r in (one, two) for o in ("applied", "stale"))
        assert sum(outcomes(r.runtime, "duplicate") for r in (one, two)) == 0
        async with one.runtime.db.transaction() as session:
            inbox_rows = await session.scalar(
                select(func.count()).select_from(one.runtime.tables.inbox)
            )
        assert inbox_rows == handled

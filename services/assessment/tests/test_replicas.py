"""Two replicas of assessment side by side: one database, one durable consumer per source
shared by both, requests spread over both; the projection ends right, attempts stay unique
and limited, and grades agree whichever replica answers."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import nats
from syllabus_assessment.main import create_app
from syllabus_devkit.testing.plugin import Databases, serve_app
from syllabus_devkit.testing.tokens import TokenFactory
from syllabus_shared.runtime import Runtime

from conftest import API, MIGRATIONS, Assessment, World, assessment_settings


@contextlib.asynccontextmanager
async def replicas(
    databases: Databases, nats_url: str, namespace: str, tokens: TokenFactory
) -> AsyncIterator[list[Assessment]]:
    settings = assessment_settings(await databases.create(MIGRATIONS), nats_url, namespace, tokens)
    nc = await nats.connect(nats_url)
    try:
        world = World(nc, namespace)
        await world.setup()
        async with contextlib.AsyncExitStack() as stack:
            running = []
            for index in range(2):
                app = create_app(settings)
                client = await stack.enter_async_context(
                    serve_app(app, f"http://assessment-{index + 1}")
                )
                runtime: Runtime = app.state.runtime
                for consumer in runtime.consumers:
                    await asyncio.wait_for(consumer.ready.wait(), 10)
                running.append(Assessment(client, runtime, tokens, settings, world))
            yield running
    finally:
        await nc.close()


async def test_two_replicas_keep_projection_attempts_and_grades_right(
    databases: Databases, nats_url: str, namespace: str, tokens: TokenFactory
) -> None:
    async with replicas(databases, nats_url, namespace, tokens) as (one, two):
        assert [c.durable for c in one.runtime.consumers] == [
            c.durable for c in two.runtime.consumers
        ]
        w = one.world
        s = await one.setup(quiz={"attempts": 3})
        # Structure changes and enrollments flow while both replicas consume.
        modules = [await w.module() for _ in range(3)]
        for m in modules:
            await w.attach(s.course_id, m)
            await w.post(m, "assignment", max_points=5)
        await w.reorder_modules(s.course_id, [*reversed(modules), s.module_id])
        students = [uuid.uuid4() for _ in range(6)]
        for u in students:
            await w.enroll(u, s.course_id)
        await one.synced()
        assert await one.projection() == await two.projection()

        # Submissions spread over both replicas: attempts unique and limited across them.
        results = await asyncio.gather(
            *(
                (one if i % 2 else two).submit(s.quiz, s.student, {"answers": [1, 0, 2]})
                for i in range(6)
            )
        )
        assert sorted(r.status_code for r in results) == [201, 201, 201, 409, 409, 409]
        assert sorted(r.json()["attempt"] for r in results if r.status_code == 201) == [1, 2, 3]

        docs = [
            (
                await replica.client.get(
                    f"{API}/me/courses/{s.course_id}/grades",
                    headers=replica.as_("student", s.student),
                )
            ).json()
            for replica in (one, two)
        ]
        assert docs[0] == docs[1]
        assert len(docs[0]["posts"]) == 5
        assert docs[0]["posts"][-2]["post_id"] == str(s.quiz)
        assert (docs[0]["earned"], docs[0]["possible"]) == (10, 45)
        # The shared durable consumers applied them (whichever replica fetched each batch).
        applied = [
            sum(
                rt.metrics.registry.get_sample_value(
                    "events_applied_total", {"consumer": c.durable, "outcome": "applied"}
                )
                or 0.0
                for c in rt.consumers
            )
            for rt in (one.runtime, two.runtime)
        ]
        assert sum(applied) > 0

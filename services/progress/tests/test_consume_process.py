"""An API process beside a consume process (issue 16): the API runs no consumer
(``RUN_RELAY=false RUN_CONSUMERS=false``), the ``progress`` fixture's app plays the consume
process. A completion is decided in the request when the consume process's structure
consumers are caught up (asked of JetStream); while they are held back it is queued, and
the consume process's decider takes it once they catch up (docs/progress.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from syllabus_devkit.testing.asserts import eventually
from syllabus_devkit.testing.plugin import serve_app
from syllabus_progress.main import create_app

from conftest import API, Progress


@pytest_asyncio.fixture
async def api_only(progress: Progress) -> AsyncIterator[httpx.AsyncClient]:
    settings = progress.settings.model_copy(update={"run_relay": False, "run_consumers": False})
    async with serve_app(create_app(settings), "http://progress-api") as client:
        yield client


async def status(client: httpx.AsyncClient, course: object, headers: dict[str, str]) -> str:
    r = await client.get(f"{API}/me/enrollments?limit=100", headers=headers)
    return str(next(e for e in r.json()["items"] if e["course_id"] == str(course))["status"])


async def test_decided_in_the_request_when_the_consume_process_is_caught_up(
    progress: Progress, api_only: httpx.AsyncClient
) -> None:
    p = progress
    course, _, ((only,),) = await p.world.course_with(1, 1)
    await p.synced()
    _, headers = p.student()
    assert (
        await api_only.post(f"{API}/courses/{course}/enrollments", headers=headers)
    ).status_code == 201
    assert (await api_only.put(f"{API}/me/completions/{only}", headers=headers)).status_code == 201
    assert await status(api_only, course, headers) == "completed"  # at once, not queued
    types = [e["type"].split(".")[2] for e in await p.events("ModuleCompleted", "CourseCompleted")]
    assert types == ["ModuleCompleted", "CourseCompleted"]


async def test_queued_while_held_back_and_decided_by_the_consume_process(
    progress: Progress, api_only: httpx.AsyncClient
) -> None:
    p = progress
    course, _, ((only,),) = await p.world.course_with(1, 1)
    await p.synced()
    _, headers = p.student()
    assert (
        await api_only.post(f"{API}/courses/{course}/enrollments", headers=headers)
    ).status_code == 201
    catalog = p.consumer("catalog")
    catalog.pause()
    # Structure the paused consumer has not applied: events pending on its stream.
    await p.world.course_with(1, 1)
    assert (await api_only.put(f"{API}/me/completions/{only}", headers=headers)).status_code == 201
    assert await status(api_only, course, headers) == "active"  # queued, not judged
    catalog.resume()
    assert (
        await eventually(
            lambda: status(api_only, course, headers), lambda s: s == "completed", timeout=5
        )
        == "completed"
    )

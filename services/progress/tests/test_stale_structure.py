"""No completion judged on a stale structure (issue 14): module and course completion are
decided only once catalog's and content's consumers have caught up; while one is held
back (paused, or with events pending) the decision waits and is taken when it catches up.

The failure this guards against: a course of one module with two posts, a student
completes the first while the second post's PostCreated has not reached progress yet;
"1 of 1" looked like 100 % and the enrollment became completed for good."""

from __future__ import annotations

import pytest
from syllabus_devkit.testing.asserts import eventually

from conftest import Progress


@pytest.mark.parametrize("second_post_arrives", ["after the completion", "before it"])
async def test_held_back_content_does_not_complete_the_course(
    progress: Progress, second_post_arrives: str
) -> None:
    p = progress
    w = p.world
    course, (module,), ((first,),) = await w.course_with(1, 1)
    await p.synced()
    _, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201

    content = p.consumer("content")
    content.pause()
    second = await w.post(module, "second", hold=True)
    if second_post_arrives == "before it":
        await w.deliver(w.take_held())  # pending in the stream, not applied
    assert (await p.complete(first, headers)).status_code == 201
    if second_post_arrives == "after the completion":
        await w.deliver(w.take_held())

    # Judged now, 1 of 1 would complete the course: it must not be judged.
    assert (await p.enrollment(course, headers))["status"] == "active"
    assert await p.events("ModuleCompleted", "CourseCompleted") == []

    content.resume()
    await p.synced()
    doc = await p.doc_until(course, headers, lambda d: d["total_posts"] == 2)
    assert doc["percent"] == 50.0 and doc["next_post_id"] == str(second)
    await _decided(p)
    assert (await p.enrollment(course, headers))["status"] == "active"
    assert await p.events("ModuleCompleted", "CourseCompleted") == []

    assert (await p.complete(second, headers)).status_code == 201
    assert (await p.enrollment(course, headers))["status"] == "completed"
    types = [e["type"].split(".")[2] for e in await p.events("ModuleCompleted", "CourseCompleted")]
    assert types == ["ModuleCompleted", "CourseCompleted"]


async def test_a_deferred_decision_is_taken_once_caught_up(progress: Progress) -> None:
    p = progress
    w = p.world
    course, _, ((only,),) = await w.course_with(1, 1)
    await p.synced()
    _, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201
    catalog = p.consumer("catalog")
    catalog.pause()
    assert (await p.complete(only, headers)).status_code == 201
    assert (await p.enrollment(course, headers))["status"] == "active"
    catalog.resume()

    async def status() -> str:
        return str((await p.enrollment(course, headers))["status"])

    assert await eventually(status, lambda s: s == "completed", timeout=5) == "completed"
    types = [e["type"].split(".")[2] for e in await p.events("ModuleCompleted", "CourseCompleted")]
    assert types == ["ModuleCompleted", "CourseCompleted"]


async def _decided(p: Progress) -> None:
    """Wait until no decision is queued (the decider took them)."""

    async def queued() -> int:
        async with p.runtime.db.transaction() as session:
            from sqlalchemy import func, select
            from syllabus_progress.models import PendingDecision

            return int(await session.scalar(select(func.count()).select_from(PendingDecision)) or 0)

    assert await eventually(queued, lambda n: n == 0, timeout=5) == 0


async def test_structure_changes_that_complete_a_course_are_decided(progress: Progress) -> None:
    """Nothing done by the student, yet complete: the last open post is unpublished."""
    p = progress
    w = p.world
    course, _, ((done, left),) = await w.course_with(1, 2)
    await p.synced()
    _, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201
    assert (await p.complete(done, headers)).status_code == 201
    await w.update_post(left, status="draft")

    async def status() -> str:
        return str((await p.enrollment(course, headers))["status"])

    assert await eventually(status, lambda s: s == "completed", timeout=5) == "completed"
    types = [e["type"].split(".")[2] for e in await p.events("ModuleCompleted", "CourseCompleted")]
    assert types == ["ModuleCompleted", "CourseCompleted"]

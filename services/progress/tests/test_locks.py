"""Locks through the app (API.md, "Completion rules, prerequisites and locks"):
prerequisites, unlock dates (passing without any event), sequential courses; marking a
locked post (403 with ``locks``); facts on a locked post counting once it unlocks; the
document's module ``state``/``locks`` and post ``locked``; ModuleCompleted."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from syllabus_devkit.testing.asserts import assert_problem
from syllabus_shared.db import utcnow

from conftest import API, Progress


def _states(doc: dict[str, Any]) -> list[str]:
    return [m["state"] for m in doc["modules"]]


async def test_prerequisites_lock_until_completed(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    course, (m1, m2, m3), posts = await w.course_with(3, 2)
    # m1 needs m3, which sits at a higher position; m2 needs m1.
    await w.gate(course, m1, prerequisites=[m3])
    await w.gate(course, m2, prerequisites=[m1])
    await p.synced()
    user, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201

    doc = await p.doc(course, headers)
    assert _states(doc) == ["locked", "locked", "unlocked"]
    assert doc["modules"][0]["locks"] == [{"reason": "prerequisite", "module_id": str(m3)}]
    assert doc["modules"][1]["locks"] == [{"reason": "prerequisite", "module_id": str(m1)}]
    assert [q["locked"] for q in doc["modules"][0]["posts"]] == [True, True]
    assert doc["next_post_id"] == str(posts[2][0])  # skips the locked modules

    body = assert_problem(await p.complete(posts[0][0], headers), 403)
    assert body["locks"] == [{"reason": "prerequisite", "module_id": str(m3)}]

    for post in posts[2]:
        assert (await p.complete(post, headers)).status_code == 201
    doc = await p.doc(course, headers)
    assert _states(doc) == ["unlocked", "locked", "completed"]
    assert doc["next_post_id"] == str(posts[0][0])
    # The roster and the enrollment list give the document's numbers (same evaluation).
    r = await p.client.get(f"{API}/courses/{course}/progress", headers=p.as_("admin"))
    (row,) = [i for i in r.json()["items"] if i["user_id"] == str(user)]
    assert (row["completed_posts"], row["percent"]) == (doc["completed_posts"], doc["percent"])
    assert (await p.enrollment(course, headers))["percent"] == doc["percent"]
    for post in posts[0]:
        assert (await p.complete(post, headers)).status_code == 201
    doc = await p.doc(course, headers)
    assert _states(doc) == ["completed", "unlocked", "completed"]

    # ModuleCompleted once per module completed so far.
    mine = [e for e in await p.events("ModuleCompleted") if e["data"]["user_id"] == str(user)]
    assert sorted(e["data"]["module_id"] for e in mine) == sorted([str(m1), str(m3)])

    # Lifting a prerequisite (catalog) unlocks without anything else happening.
    await w.gate(course, m2, prerequisites=[])
    await p.synced()
    assert (await p.complete(posts[1][0], headers)).status_code == 201


async def test_unlock_at_passes_without_an_event(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    course, (m1, m2), posts = await w.course_with(2, 1)
    at = utcnow() + dt.timedelta(seconds=3)
    await w.gate(course, m2, unlock_at=at)
    await w.gate(course, m1, unlock_at=utcnow() - dt.timedelta(days=1))  # already passed
    await p.synced()
    _, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201
    doc = await p.doc(course, headers)
    assert _states(doc) == ["unlocked", "locked"]
    (lock,) = doc["modules"][1]["locks"]
    assert lock["reason"] == "unlock_at"
    assert dt.datetime.fromisoformat(lock["at"]) == at
    body = assert_problem(await p.complete(posts[1][0], headers), 403)
    assert body["locks"] == [lock]  # as the document names it

    await asyncio.sleep(max(0.0, (at - utcnow()).total_seconds()) + 0.1)
    doc = await p.doc(course, headers)  # nothing was sent: the next read unlocks it
    assert _states(doc) == ["unlocked", "unlocked"]
    assert (await p.complete(posts[1][0], headers)).status_code == 201


async def test_sequential_course(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    course, _, posts = await w.course_with(2, 2, sequential=True)
    m1 = posts[0]
    module = w.outlines[course][0]
    video = await w.post(module, kind="video", completion={"rule": "view"})
    await p.synced()
    user, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201
    doc = await p.doc(course, headers)
    first = doc["modules"][0]["posts"]
    assert [q["locked"] for q in first] == [False, True, True]
    assert (first[1]["status"], first[1]["completed"]) == ("not_started", False)
    assert doc["modules"][1]["locks"] == [{"reason": "sequential", "post_id": str(m1[0])}]
    body = assert_problem(await p.complete(m1[1], headers), 403)
    assert body["locks"] == [{"reason": "sequential", "post_id": str(m1[0])}]

    # A view of a locked post is kept, and counts once the post unlocks.
    await w.view(video, user)
    await p.synced()
    doc = await p.doc(course, headers)
    assert doc["completed_posts"] == 0
    video_doc = doc["modules"][0]["posts"][2]
    assert (video_doc["locked"], video_doc["status"]) == (True, "in_progress")
    assert (await p.complete(m1[0], headers)).status_code == 201
    assert (await p.complete(m1[1], headers)).status_code == 201
    doc = await p.doc(course, headers)
    assert doc["completed_posts"] == 3  # the video's view counts now
    assert _states(doc) == ["completed", "unlocked"]
    assert doc["next_post_id"] == str(posts[1][0])

    # Turning the course non-sequential unlocks everything.
    await w.update_course(course, sequential=False)
    await p.doc_until(
        course, headers, lambda d: not any(q["locked"] for m in d["modules"] for q in m["posts"])
    )


async def test_an_unlock_date_passing_completes_what_waited_behind_it(
    progress: Progress,
) -> None:
    """A view on a post behind an unlock date counts once the date passes; the module and
    course completion are then decided with no further event (the decider's re-check)."""
    p = progress
    w = p.world
    course, (module,), _ = await w.course_with(1, 0)
    video = await w.post(module, kind="video", completion={"rule": "view"})
    at = utcnow() + dt.timedelta(seconds=3)
    await w.gate(course, module, unlock_at=at)
    await p.synced()
    user, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201
    await w.view(video, user)
    await p.synced()
    doc = await p.doc(course, headers)
    assert (doc["percent"], doc["status"], _states(doc)) == (0.0, "active", ["locked"])

    doc = await p.doc_until(course, headers, lambda d: d["status"] == "completed", timeout=7)
    assert utcnow() >= at and doc["percent"] == 100.0
    types = [e["type"].split(".")[2] for e in await p.events("ModuleCompleted", "CourseCompleted")]
    assert types == ["ModuleCompleted", "CourseCompleted"]

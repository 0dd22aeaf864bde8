"""Marking posts complete: who may, which posts, idempotency, and the events that result."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from syllabus_devkit.testing.asserts import assert_problem, eventually
from syllabus_shared.messaging.outbox import stream_name

from conftest import API, CONSISTENCY_WAIT, Progress


async def test_complete_then_again_then_unmark(shared_progress: Progress) -> None:
    p = shared_progress
    course, _, posts = await p.world.course_with(1, 2)
    await p.synced()
    user, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201
    post = posts[0][0]

    r = await p.complete(post, headers)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["post_id"] == str(post) and first["user_id"] == str(user)
    assert first["completed"] is True and first["completed_at"]
    r = await p.complete(post, headers)
    assert r.status_code == 200
    assert r.json() == first  # idempotent: same completion, same time

    url = f"{API}/me/completions/{post}"
    assert (await p.client.delete(url, headers=headers)).status_code == 204
    assert_problem(await p.client.delete(url, headers=headers), 404)
    assert (await p.doc(course, headers))["completed_posts"] == 0
    r = await p.complete(post, headers)
    assert r.status_code == 201  # completing again after unmarking is a new completion
    assert r.json()["completed_at"] > first["completed_at"]
    assert_problem(
        await p.client.delete(f"{API}/me/completions/{posts[0][1]}", headers=headers), 404
    )


async def test_who_may_complete_which_posts(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    course, modules, posts = await w.course_with(1, 1)
    _, _, other_posts = await w.course_with(1, 1)
    draft = await w.post(modules[0], status="draft")
    gone = await w.post(modules[0])
    await w.delete_post(gone)
    await p.synced()
    post = posts[0][0]

    assert_problem(await p.complete(post, {}), 401)
    assert_problem(await p.complete(post, p.as_("instructor")), 403)
    assert_problem(await p.complete(post, p.as_("admin")), 403)
    assert_problem(await p.client.put(f"{API}/me/completions/nope", headers=p.as_("student")), 422)

    # Enrolled nowhere: no event could change the answer, so it comes at once.
    _, stranger = p.student()
    started = time.monotonic()
    assert assert_problem(await p.complete(post, stranger), 403)["type"].endswith("/forbidden")
    assert_problem(await p.complete(uuid.uuid4(), stranger), 404)  # unknown (and not recent)
    assert time.monotonic() - started < CONSISTENCY_WAIT / 2

    _, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201
    # Enrolled, but in another course than the post's; a draft post; a deleted post. These
    # wait (bounded) in case an attach or publish event is on its way; all wait together.
    elsewhere, draft_r, gone_r = await asyncio.gather(
        p.complete(other_posts[0][0], headers),
        p.complete(draft, headers),
        p.complete(gone, headers),
    )
    assert_problem(elsewhere, 403)
    assert_problem(draft_r, 403)
    assert_problem(gone_r, 403)
    assert (await p.complete(post, headers)).status_code == 201


async def test_create_post_then_complete_at_once(shared_progress: Progress) -> None:
    """Read-your-writes: a post created (or a module attached) a moment ago is completable."""
    p = shared_progress
    w = p.world
    course, modules, _ = await w.course_with(1, 0)
    await p.synced()
    _, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201
    post = await w.post(modules[0])
    assert (await p.complete(post, headers)).status_code == 201

    module = await w.module()
    await w.attach(course, module)
    later = await w.post(module)
    assert (await p.complete(later, headers)).status_code == 201

    # A draft published just now.
    draft = await w.post(modules[0], status="draft")
    await p.synced()
    await w.update_post(draft, status="published")
    assert (await p.complete(draft, headers)).status_code == 201


async def _enrollment(p: Progress, headers: dict[str, str], course: uuid.UUID) -> dict[str, Any]:
    r = await p.client.get(f"{API}/me/enrollments?limit=100", headers=headers)
    return next(e for e in r.json()["items"] if e["course_id"] == str(course))


async def test_course_completed_once_and_stays_completed(progress: Progress) -> None:
    p = progress
    w = p.world
    course, modules, posts = await w.course_with(1, 2)
    await p.synced()
    _, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201
    assert (await p.complete(posts[0][0], headers)).status_code == 201
    assert (await _enrollment(p, headers, course))["status"] == "active"
    assert (await p.complete(posts[0][1], headers)).status_code == 201
    enrollment = await _enrollment(p, headers, course)
    assert enrollment["status"] == "completed" and enrollment["completed_at"]
    assert enrollment["percent"] == 100.0

    # New content: below 100 again, but the enrollment stays completed.
    extra = await w.post(modules[0])
    doc = await p.doc_until(course, headers, lambda d: d["total_posts"] == 3)
    assert doc["status"] == "completed" and doc["percent"] == 66.67
    assert doc["next_post_id"] == str(extra)
    # Completed enrollments may keep marking; reaching 100 again emits nothing new.
    assert (await p.complete(extra, headers)).status_code == 201
    assert (
        await p.client.delete(f"{API}/me/completions/{extra}", headers=headers)
    ).status_code == 204
    assert (await p.complete(extra, headers)).status_code == 201
    again = await _enrollment(p, headers, course)
    assert again["status"] == "completed" and again["completed_at"] == enrollment["completed_at"]

    # Dropping and re-enrolling a completed enrollment brings it back completed (once only).
    assert (
        await p.client.delete(f"{API}/courses/{course}/enrollments/me", headers=headers)
    ).status_code == 204
    r = await p.enroll(course, headers)
    assert r.status_code == 201 and r.json()["status"] == "completed"

    types = [row.event_type.split(".")[2] for row in await p.outbox()]
    assert types.count("CourseCompleted") == 1


async def test_racing_last_completions_complete_the_course_once(progress: Progress) -> None:
    p = progress
    course, _, posts = await p.world.course_with(2, 2)
    await p.synced()
    _, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201
    for post in posts[0]:
        assert (await p.complete(post, headers)).status_code == 201
    results = await asyncio.gather(*(p.complete(post, headers) for post in posts[1]))
    assert [r.status_code for r in results] == [201, 201]
    assert (await _enrollment(p, headers, course))["status"] == "completed"
    types = [row.event_type.split(".")[2] for row in await p.outbox()]
    assert types.count("CourseCompleted") == 1


async def test_events_are_recorded_and_published_exactly_once(progress: Progress) -> None:
    p = progress
    course, _, posts = await p.world.course_with(1, 2)
    await p.synced()
    user, headers = p.student()
    enrollment = (await p.enroll(course, headers)).json()
    a, b = posts[0]
    completion = (await p.complete(a, headers)).json()
    assert (await p.complete(a, headers)).status_code == 200  # no event
    assert (await p.client.delete(f"{API}/me/completions/{a}", headers=headers)).status_code == 204
    assert (await p.complete(a, headers)).status_code == 201
    assert (await p.complete(b, headers)).status_code == 201  # the course is complete
    assert (
        await p.client.delete(f"{API}/courses/{course}/enrollments/me", headers=headers)
    ).status_code == 204

    rows = await p.outbox()
    recorded = [
        (row.event_type.split(".")[2], row.sequence, json.loads(row.payload))
        for row in rows
        if not row.event_type.endswith(".Notice.v1")  # told to the live stream, not facts
    ]
    assert [(t, s) for t, s, _ in recorded] == [
        ("EnrollmentCreated", 1),
        ("PostCompleted", 1),
        ("PostUncompleted", 2),
        ("PostCompleted", 3),
        ("PostCompleted", 1),
        ("ModuleCompleted", 1),
        ("CourseCompleted", 2),
        ("EnrollmentDropped", 3),
    ]
    envelopes = [e for _, _, e in recorded]
    assert {e["subject"] for e in envelopes[1:4]} == {envelopes[1]["data"]["completion_id"]}
    assert envelopes[1]["aggregatetype"] == "completion"
    assert envelopes[1]["data"]["completed_at"].startswith(completion["completed_at"][:19])
    assert envelopes[0]["subject"] == enrollment["id"]
    assert envelopes[0]["data"] == {
        "enrollment_id": enrollment["id"],
        "user_id": str(user),
        "course_id": str(course),
        "status": "active",
        "enrolled_at": envelopes[0]["data"]["enrolled_at"],
        "sources": [{"kind": "self", "group_id": None}],
    }
    module_completed = envelopes[5]
    assert module_completed["aggregatetype"] == "module_completion"
    assert module_completed["subject"] == module_completed["data"]["module_completion_id"]
    assert {k: module_completed["data"][k] for k in ("enrollment_id", "user_id", "course_id")} == {
        "enrollment_id": enrollment["id"],
        "user_id": str(user),
        "course_id": str(course),
    }
    assert [e["data"]["status"] for e in (envelopes[0], envelopes[6], envelopes[7])] == [
        "active",
        "completed",
        "dropped",
    ]

    # The relay publishes each to the PROGRESS stream, once.
    js = p.world.nc.jetstream()
    stream = stream_name(p.settings.event_namespace, "PROGRESS")

    async def published() -> list[str]:
        info = await js.stream_info(stream)
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            if info.state.messages == 0:
                break
            msg = await js.get_msg(stream, seq)
            out.append(json.loads(msg.data)["id"])
        return out

    got = await eventually(published, lambda got: len(got) >= len(rows))
    assert sorted(got) == sorted(e["id"] for e in envelopes)  # each exactly once
    assert all(row.published_at is not None for row in await p.outbox())

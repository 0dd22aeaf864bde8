"""Enrolling, dropping, re-enrolling; who may; what the projection must show first."""

from __future__ import annotations

import asyncio
import time
import uuid

from syllabus_devkit.testing.asserts import assert_problem

from conftest import API, CONSISTENCY_WAIT, Progress


async def test_enroll_in_a_published_public_course(shared_progress: Progress) -> None:
    p = shared_progress
    course = await p.world.course()
    await p.synced()
    user, headers = p.student()
    r = await p.enroll(course, headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["user_id"] == str(user) and body["course_id"] == str(course)
    assert body["status"] == "active" and body["completed_at"] is None
    assert body["enrolled_at"] and body["version"] == 1
    assert r.headers["etag"] == '"1"'
    assert uuid.UUID(body["id"]).version == 7

    r = await p.client.get(f"{API}/me/enrollments", headers=headers)
    assert r.status_code == 200
    page = r.json()
    assert page["next_cursor"] is None
    assert [(e["id"], e["status"], e["percent"]) for e in page["items"]] == [
        (body["id"], "active", 0.0)
    ]


async def test_who_and_which_courses(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    published = await w.course()
    draft = await w.course(status="draft")
    archived = await w.course(status="archived")
    private = await w.course(visibility="private")
    deleted = await w.course(status="draft")
    await w.delete_course(deleted)
    await p.synced()
    _, headers = p.student()

    # Role first: only students enroll.
    assert_problem(await p.enroll(published, {}), 401)
    assert_problem(await p.enroll(published, p.as_("instructor")), 403)
    assert_problem(await p.enroll(published, p.as_("admin")), 403)

    # A course not (yet) enrollable is answered after the bounded read-your-writes wait
    # (its publication could be on its way); all four wait together here.
    started = time.monotonic()
    draft_r, archived_r, private_r, deleted_r = await asyncio.gather(
        p.enroll(draft, headers),
        p.enroll(archived, headers),
        p.enroll(private, headers),
        p.enroll(deleted, headers),
    )
    assert assert_problem(draft_r, 409)["type"].endswith("/course-not-published")
    assert_problem(archived_r, 409)
    assert_problem(private_r, 404)
    assert_problem(deleted_r, 404)
    assert time.monotonic() - started < CONSISTENCY_WAIT + 1.5

    # An id nobody minted lately (not a recent UUIDv7) is unknown at once.
    started = time.monotonic()
    assert_problem(await p.enroll(uuid.uuid4(), headers), 404)
    assert time.monotonic() - started < CONSISTENCY_WAIT / 2
    assert_problem(
        await p.client.post(f"{API}/courses/not-a-uuid/enrollments", headers=headers), 422
    )


async def test_publish_then_enroll_at_once(shared_progress: Progress) -> None:
    """Read-your-writes: no waiting for the projection by the client."""
    p = shared_progress
    w = p.world
    _, headers = p.student()
    # Created and published a moment ago: the events may not have arrived yet.
    fresh = await w.course()
    assert (await p.enroll(fresh, headers)).status_code == 201
    # Created long before, published just now: known to us as a draft until the event lands.
    old = await w.course(status="draft")
    await p.synced()
    await w.update_course(old, status="published")
    assert (await p.enroll(old, headers)).status_code == 201


async def test_already_enrolled_is_a_conflict_also_when_racing(shared_progress: Progress) -> None:
    p = shared_progress
    course = await p.world.course()
    await p.synced()
    _, headers = p.student()
    results = await asyncio.gather(*(p.enroll(course, headers) for _ in range(5)))
    assert sorted(r.status_code for r in results) == [201, 409, 409, 409, 409]
    conflict = next(r for r in results if r.status_code == 409)
    assert assert_problem(conflict, 409)["type"].endswith("/already-enrolled")


async def test_drop_and_reactivate(shared_progress: Progress) -> None:
    p = shared_progress
    course, _, posts = await p.world.course_with(1, 2)
    await p.synced()
    _, headers = p.student()
    first = (await p.enroll(course, headers)).json()
    assert (await p.complete(posts[0][0], headers)).status_code == 201
    url = f"{API}/courses/{course}/enrollments/me"

    assert_problem(await p.client.delete(url, headers={**headers, "If-Match": '"7"'}), 412)
    r = await p.client.delete(url, headers={**headers, "If-Match": '"1"'})
    assert r.status_code == 204
    assert_problem(await p.client.delete(url, headers=headers), 404)  # already dropped
    doc = await p.doc(course, headers)  # a dropped enrollment still has its document
    assert doc["status"] == "dropped" and doc["completed_posts"] == 1
    # Dropped: no more completions.
    assert_problem(await p.complete(posts[0][1], headers), 403)

    r = await p.enroll(course, headers)
    assert r.status_code == 201, r.text
    again = r.json()
    assert again["id"] == first["id"] and again["status"] == "active"
    assert again["version"] == 3
    assert (await p.doc(course, headers))["percent"] == 50.0  # completions were kept
    assert_problem(await p.enroll(course, headers), 409)

    # Never enrolled: nothing to drop.
    _, stranger = p.student()
    assert_problem(await p.client.delete(url, headers=stranger), 404)


async def test_idempotency_key_replays_the_first_response(shared_progress: Progress) -> None:
    p = shared_progress
    course = await p.world.course()
    await p.synced()
    _, headers = p.student()
    keyed = {**headers, "Idempotency-Key": "enroll-1"}
    first = await p.enroll(course, keyed)
    assert first.status_code == 201
    replay = await p.enroll(course, keyed)
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert_problem(await p.enroll(course, headers), 409)


async def test_my_enrollments_are_paginated_with_percent(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    courses = [await w.course_with(1, 3) for _ in range(3)]
    await p.synced()
    _, headers = p.student()
    for i, (course, _, posts) in enumerate(courses):
        assert (await p.enroll(course, headers)).status_code == 201
        for post in posts[0][:i]:
            assert (await p.complete(post, headers)).status_code == 201

    r = await p.client.get(f"{API}/me/enrollments?limit=2", headers=headers)
    assert r.status_code == 200
    page = r.json()
    assert [e["percent"] for e in page["items"]] == [66.67, 33.33]  # newest first
    assert page["next_cursor"]
    r = await p.client.get(
        f"{API}/me/enrollments?limit=2&cursor={page['next_cursor']}", headers=headers
    )
    rest = r.json()
    assert [e["percent"] for e in rest["items"]] == [0.0] and rest["next_cursor"] is None
    assert [e["course_id"] for e in page["items"] + rest["items"]] == [
        str(c) for c, _, _ in reversed(courses)
    ]
    # Any user may ask; an instructor simply has none.
    r = await p.client.get(f"{API}/me/enrollments", headers=p.as_("instructor"))
    assert r.json() == {"items": [], "next_cursor": None}
    assert_problem(await p.client.get(f"{API}/me/enrollments"), 401)
    assert_problem(await p.client.get(f"{API}/me/enrollments?cursor=%%%", headers=headers), 400)

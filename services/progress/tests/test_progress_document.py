"""The progress document and the roster: numbers, order, and instructors changing courses."""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from syllabus_devkit.testing.asserts import assert_problem

from conftest import API, Progress, ids, module_ids, post_ids

STRUCTURE_CHANGE_SLA = 2.0  # API.md: progress views reflect structure changes within 2 s


async def test_document_numbers_and_next_post(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    course, modules, posts = await w.course_with(2, 3, title="Rust")
    await w.post(modules[0], "a quiz", kind="quiz", status="draft")  # drafts never count
    await p.synced()
    user, headers = p.student()
    assert_problem(
        await p.client.get(f"{API}/me/courses/{course}/progress", headers=headers), 404
    )  # not enrolled
    assert_problem(await p.client.get(f"{API}/me/courses/{course}/progress"), 401)
    enrollment = (await p.enroll(course, headers)).json()

    doc = await p.doc(course, headers)
    assert doc["percent"] == 0.0 and doc["next_post_id"] == str(posts[0][0])
    for post in (posts[0][0], posts[1][1]):
        assert (await p.complete(post, headers)).status_code == 201
    doc = await p.doc(course, headers)
    assert {k: v for k, v in doc.items() if k != "modules"} == {
        "course_id": str(course),
        "user_id": str(user),
        "status": "active",
        "completed_posts": 2,
        "total_posts": 6,
        "percent": 33.33,
        "next_post_id": str(posts[0][1]),
    }
    first, second = doc["modules"]
    assert {k: v for k, v in first.items() if k != "posts"} == {
        "module_id": str(modules[0]),
        "position": 1,
        "title": "M1",
        "completed_posts": 1,
        "total_posts": 3,
        "percent": 33.33,
        "state": "started",
        "locks": [],
    }
    assert second["position"] == 2 and second["percent"] == 33.33
    assert first["posts"][0]["completed"] is True and first["posts"][0]["completed_at"]
    assert first["posts"][1] == {
        "post_id": str(posts[0][1]),
        "position": 2,
        "title": "P1.2",
        "kind": "text",
        "completed": False,
        "completed_at": None,
        "locked": False,
        "rule": "mark_done",
        "min_score": None,
        "status": "not_started",
        "score": None,
    }
    assert first["posts"][0]["status"] == "completed"
    for post in (posts[0][1], posts[0][2], posts[1][0]):
        assert (await p.complete(post, headers)).status_code == 201
    doc = await p.doc(course, headers)
    assert doc["percent"] == 83.33 and doc["modules"][0]["percent"] == 100.0
    assert doc["next_post_id"] == str(posts[1][2])
    assert (await p.complete(posts[1][2], headers)).status_code == 201
    doc = await p.doc(course, headers)
    assert doc["percent"] == 100.0 and doc["next_post_id"] is None
    assert doc["status"] == "completed"
    assert enrollment["status"] == "active"

    # A course without posts is 0 %, and its modules still show.
    empty, _, _ = await w.course_with(2, 0)
    await p.synced()
    assert (await p.enroll(empty, headers)).status_code == 201
    doc = await p.doc(empty, headers)
    assert (doc["percent"], doc["total_posts"], doc["next_post_id"]) == (0.0, 0, None)
    assert [m["total_posts"] for m in doc["modules"]] == [0, 0]


async def test_structure_changes_show_within_two_seconds(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    course, (m1, m2, m3), posts = await w.course_with(3, 2)
    await p.synced()
    _, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201
    assert (await p.complete(posts[0][0], headers)).status_code == 201

    async def shows(check: Any) -> dict[str, Any]:
        return await p.doc_until(course, headers, check, timeout=STRUCTURE_CHANGE_SLA)

    await w.reorder_modules(course, [m3, m1, m2])
    doc = await shows(lambda d: module_ids(d) == ids([m3, m1, m2]))
    assert [m["position"] for m in doc["modules"]] == [1, 2, 3]

    await w.detach(course, m1)
    doc = await shows(lambda d: module_ids(d) == ids([m3, m2]))
    assert (
        doc["completed_posts"] == 0 and doc["total_posts"] == 4
    )  # its completion no longer counts

    m4 = await w.module("Fresh")
    await w.attach(course, m4, position=1)
    new = await w.post(m4, "new")
    doc = await shows(lambda d: post_ids(d)[:1] == [[str(new)]])
    assert module_ids(doc) == ids([m4, m3, m2]) and doc["modules"][0]["title"] == "Fresh"
    assert doc["next_post_id"] == str(new)

    await w.attach(course, m1)  # back again: its completion counts again
    doc = await shows(lambda d: d["completed_posts"] == 1)
    assert module_ids(doc) == ids([m4, m3, m2, m1])

    await w.rename_module(m3, "Renamed module")
    await w.update_post(posts[1][0], title="Renamed post")
    doc = await shows(lambda d: d["modules"][1]["title"] == "Renamed module")
    doc = await shows(lambda d: d["modules"][2]["posts"][0]["title"] == "Renamed post")

    await w.update_post(posts[2][1], status="draft")  # unpublished
    doc = await shows(lambda d: post_ids(d)[1] == ids(posts[2][:1]))
    assert doc["total_posts"] == 6

    await w.delete_post(posts[1][1])
    doc = await shows(lambda d: post_ids(d)[2] == ids(posts[1][:1]))
    assert doc["total_posts"] == 5

    await w.reorder_posts(m1, [posts[0][1], posts[0][0]])
    doc = await shows(lambda d: post_ids(d)[3] == ids([posts[0][1], posts[0][0]]))
    assert [p["position"] for p in doc["modules"][3]["posts"]] == [1, 2]
    assert doc["percent"] == 20.0 and doc["next_post_id"] == str(new)


async def test_post_order_follows_reorder_then_own_position(shared_progress: Progress) -> None:
    """Posts listed in the module's order come by it; a post not listed yet (its reorder
    event still on the way) follows, by its own position."""
    p = shared_progress
    w = p.world
    course, (module,), ((a, b),) = await w.course_with(1, 2)
    await w.reorder_posts(module, [b, a])
    c = await w.post(module, "c")
    await p.synced()
    _, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201
    assert post_ids(await p.doc(course, headers)) == [ids([b, a, c])]
    await w.reorder_posts(module, [c, b, a])
    await p.doc_until(course, headers, lambda d: post_ids(d) == [ids([c, b, a])])


async def test_a_module_shared_by_two_courses_counts_in_both(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    first, (shared,), ((a, _),) = await w.course_with(1, 2)
    second, (own,), _ = await w.course_with(1, 2)
    await w.attach(second, shared, position=1)
    await p.synced()
    _, headers = p.student()
    for course in (first, second):
        assert (await p.enroll(course, headers)).status_code == 201
    assert (await p.complete(a, headers)).status_code == 201
    one, two = await p.doc(first, headers), await p.doc(second, headers)
    assert (one["completed_posts"], one["total_posts"], one["percent"]) == (1, 2, 50.0)
    assert (two["completed_posts"], two["total_posts"], two["percent"]) == (1, 4, 25.0)
    assert module_ids(two) == ids([shared, own])
    assert two["modules"][0]["posts"][0]["completed"] is True
    r = await p.client.get(f"{API}/me/enrollments", headers=headers)
    assert sorted(e["percent"] for e in r.json()["items"]) == [25.0, 50.0]


# ---------------------------------------------------------------- constant queries

counting: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("count", default=None)


@contextlib.contextmanager
def statements() -> Iterator[list[str]]:
    """SQL statements run by code called inside the block (this task only, not the
    consumers or relay running alongside)."""
    seen: list[str] = []
    token = counting.set(seen)
    try:
        yield seen
    finally:
        counting.reset(token)


def _count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    seen = counting.get()
    if seen is not None:
        seen.append(statement)


async def test_document_takes_a_constant_number_of_queries(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    small, _, small_posts = await w.course_with(2, 2)
    large, _, large_posts = await w.course_with(20, 20)
    await p.synced(timeout=30)
    _, headers = p.student()
    engine = p.runtime.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", _count)
    try:
        counts = {}
        for course, posts in ((small, small_posts), (large, large_posts)):
            assert (await p.enroll(course, headers)).status_code == 201
            for post in [row[0] for row in posts]:
                assert (await p.complete(post, headers)).status_code == 201
            with statements() as seen:
                doc = await p.doc(course, headers)
            counts[len(posts) * len(posts[0])] = len(seen)
            assert doc["total_posts"] == len(posts) * len(posts[0])
            assert doc["completed_posts"] == len(posts)
        with statements() as seen:
            r = await p.client.get(f"{API}/me/enrollments", headers=headers)
        # The page's standings, then its enrollments' sources (issue 26): two statements
        # whatever the page's size.
        assert len(r.json()["items"]) == 2 and len(seen) == 2
    finally:
        event.remove(engine, "before_cursor_execute", _count)
    assert counts == {4: 1, 400: 1}, counts  # enrollment, structure and completions at once


# ---------------------------------------------------------------- roster


async def test_roster_for_the_owner_and_admins(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    owner = uuid.uuid4()
    course, _, posts = await w.course_with(1, 3, owner=owner)
    private = await w.course(owner, visibility="private")
    students = [p.student() for _ in range(3)]
    # Names from identity's events; the first student's registration has not arrived.
    await w.register_user(students[1][0], "bea", "Bea Second")
    await w.register_user(students[2][0], "cy", "Cy Third")
    await p.synced()
    for i, (_, headers) in enumerate(students):
        assert (await p.enroll(course, headers)).status_code == 201
        for post in posts[0][:i]:
            assert (await p.complete(post, headers)).status_code == 201
    dropper = students[2][1]
    await p.client.delete(f"{API}/courses/{course}/enrollments/me", headers=dropper)

    url = f"{API}/courses/{course}/progress"
    r = await p.client.get(f"{url}?limit=2", headers=p.as_("instructor", owner))
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["items"] == [
        {
            "user_id": str(students[2][0]),
            "username": "cy",
            "display_name": "Cy Third",
            "status": "dropped",
            "completed_posts": 2,
            "total_posts": 3,
            "percent": 66.67,
        },
        {
            "user_id": str(students[1][0]),
            "username": "bea",
            "display_name": "Bea Second",
            "status": "active",
            "completed_posts": 1,
            "total_posts": 3,
            "percent": 33.33,
        },
    ]
    r = await p.client.get(f"{url}?limit=2&cursor={page['next_cursor']}", headers=p.as_("admin"))
    rest = r.json()
    # Listed before identity's event arrives, without names.
    assert [(i["user_id"], i["username"], i["display_name"]) for i in rest["items"]] == [
        (str(students[0][0]), None, None)
    ]
    assert rest["next_cursor"] is None

    assert_problem(await p.client.get(url), 401)
    assert_problem(await p.client.get(url, headers=p.as_("instructor")), 403)
    assert_problem(await p.client.get(url, headers=students[0][1]), 403)
    private_url = f"{API}/courses/{private}/progress"
    assert_problem(await p.client.get(private_url, headers=p.as_("instructor")), 404)
    r = await p.client.get(private_url, headers=p.as_("instructor", owner))
    assert r.json() == {"items": [], "next_cursor": None}
    assert_problem(
        await p.client.get(f"{API}/courses/{uuid.uuid4()}/progress", headers=p.as_("admin")), 404
    )
    # Read-your-writes: a course created a moment ago has a roster (empty) at once.
    fresh = await w.course(owner, status="draft")
    r = await p.client.get(f"{API}/courses/{fresh}/progress", headers=p.as_("instructor", owner))
    assert r.status_code == 200 and r.json()["items"] == []

"""GET /courses/{course_id}/submissions: a course's grading queue (an extension of API.md,
docs/api-notes.md): oldest first across the course's posts, its students only, with their
names and the post's title; the course's owner and admins only."""

from __future__ import annotations

import uuid
from typing import Any

from syllabus_devkit.testing.asserts import assert_problem

from conftest import API, Assessment


async def _queue(
    a: Assessment, course_id: uuid.UUID, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    r = await a.client.get(f"{API}/courses/{course_id}/submissions", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_the_queue_is_the_courses_work_oldest_first(shared_assessment: Assessment) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    second_module = await w.module(s.module_owner)
    await w.attach(s.course_id, second_module)
    essay_two = await w.post(second_module, "assignment", max_points=5, title="Second essay")
    other, _ = a.student()
    await w.enroll(other, s.course_id)
    await w.register_user(s.student, "quinn", "Quinn Q.")
    # The same module in another course: its students' work is not this course's.
    elsewhere = await w.course()
    await w.attach(elsewhere, s.module_id)
    stranger, _ = a.student()
    await w.enroll(stranger, elsewhere)
    await a.synced()

    first = await a.submitted(s.assignment, s.student, {"body": "one", "links": []})
    quiz = await a.submitted(s.quiz, other, {"answers": [1, 0, 2]})  # graded at once
    second = await a.submitted(essay_two, other, {"body": "two"})
    await a.submitted(s.assignment, stranger, {"body": "not here"})
    third = await a.submitted(s.assignment, s.student, {"body": "three"})
    await a.grade(third["id"], 15, a.as_("admin"), feedback="Good.")

    owner = a.as_("instructor", s.owner)
    every = await _queue(a, s.course_id, owner)
    assert [d["id"] for d in every["items"]] == [first["id"], quiz["id"], second["id"], third["id"]]
    assert every["next_cursor"] is None
    waiting = await _queue(a, s.course_id, owner, status="submitted")
    assert [d["id"] for d in waiting["items"]] == [first["id"], second["id"]]
    one, two = waiting["items"]
    assert (one["username"], one["display_name"]) == ("quinn", "Quinn Q.")
    assert (two["username"], two["display_name"]) == (None, None)  # not registered here yet
    assert one["post_title"] == w.posts[s.assignment]["title"]
    assert two["post_title"] == "Second essay"
    # Otherwise each item is the submission's own document (fields of its kind only).
    r = await a.client.get(f"{API}/submissions/{first['id']}", headers=owner)
    assert {
        k: v for k, v in one.items() if k not in ("username", "display_name", "post_title")
    } == r.json()
    graded = await _queue(a, s.course_id, a.as_("admin"), status="graded")
    assert [d["id"] for d in graded["items"]] == [quiz["id"], third["id"]]
    assert "answers" in graded["items"][0] and "body" not in graded["items"][0]
    assert (graded["items"][1]["score"], graded["items"][1]["feedback"]) == (15, "Good.")

    # Pages: oldest first, by the cursor.
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = await _queue(a, s.course_id, owner, **params)
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [d["id"] for d in every["items"]]


async def test_a_student_who_left_leaves_the_queue(shared_assessment: Assessment) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    work = await a.submitted(s.assignment, s.student, {"body": "mine"})
    owner = a.as_("instructor", s.owner)
    assert [d["id"] for d in (await _queue(a, s.course_id, owner))["items"]] == [work["id"]]
    await w.drop(s.enrollment)
    await a.synced()
    assert (await _queue(a, s.course_id, owner))["items"] == []


async def test_only_the_course_owner_and_admins_see_the_queue(
    shared_assessment: Assessment,
) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    private = await w.course(s.owner, status="draft", visibility="private")
    await a.synced()
    url = f"{API}/courses/{s.course_id}/submissions"
    assert_problem(await a.client.get(url, headers=a.as_("student", s.student)), 403)
    # The module's owner grades its posts (per post), but the course's queue is its owner's.
    assert_problem(await a.client.get(url, headers=a.as_("instructor", s.module_owner)), 403)
    assert_problem(await a.client.get(url), 401)
    hidden = f"{API}/courses/{private}/submissions"
    assert_problem(await a.client.get(hidden, headers=a.as_("instructor")), 404)
    assert (await a.client.get(hidden, headers=a.as_("instructor", s.owner))).status_code == 200
    assert_problem(
        await a.client.get(f"{API}/courses/{uuid.uuid4()}/submissions", headers=a.as_("admin")),
        404,
    )
    admin = a.as_("admin")
    assert_problem(await a.client.get(url, params={"status": "lost"}, headers=admin), 422)
    assert_problem(await a.client.get(url, params={"limit": 101}, headers=admin), 422)
    assert_problem(await a.client.get(url, params={"cursor": "%%%"}, headers=admin), 400)

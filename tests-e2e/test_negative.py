"""Negative journeys through the gateway: the wrong role, bad input, unknown ids.

Every refusal is an RFC 9457 problem document with the status API.md names, never a 500.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from journey import CONTENT, Actor, actor, within
from syllabus_devkit.testing.asserts import assert_problem

from conftest import Stack


@dataclass
class Scene:
    """A published course with one module and posts, its owner, and other people."""

    owner: Actor
    other_instructor: Actor
    student: Actor
    outsider: Actor  # a student not enrolled anywhere
    guest: Actor
    admin: Actor
    course: dict[str, Any]
    draft_course: dict[str, Any]
    module: dict[str, Any]
    post: dict[str, Any]
    draft_post: dict[str, Any]


@pytest.fixture(scope="module")
def scene(stack: Stack) -> Iterator[Scene]:
    owner = actor(stack, "instructor")
    course = owner.course("Negative", publish=False)
    module = owner.module("Negative module")
    post = owner.post(module["id"], "Published")
    draft_post = owner.post(module["id"], "Draft", status="draft")
    owner.attach(course["id"], module["id"])
    owner.publish(course["id"])
    student = actor(stack, "student")
    within(2.5, lambda: student.call("POST", f"/courses/{course['id']}/enrollments"), 201)
    admin = Actor("", stack.client(stack.admin_token))
    scene = Scene(
        owner=owner,
        other_instructor=actor(stack, "instructor"),
        student=student,
        outsider=actor(stack, "student"),
        guest=actor(stack, None),
        admin=admin,
        course=course,
        draft_course=owner.course("Still a draft"),
        module=module,
        post=post,
        draft_post=draft_post,
    )
    yield scene
    for person in (scene.owner, scene.other_instructor, scene.student, scene.outsider):
        person.http.close()
    scene.guest.http.close()
    scene.admin.http.close()


# ---------------------------------------------------------------- the wrong role


def test_students_and_guests_cannot_author(scene: Scene) -> None:
    cid, mid = scene.course["id"], scene.module["id"]
    for who, status in ((scene.student, 403), (scene.guest, 401)):
        assert_problem(who.call("POST", "/courses", json={"title": "Mine"}), status)
        assert_problem(who.call("POST", "/modules", json={"title": "Mine"}), status)
        assert_problem(who.call("PATCH", f"/courses/{cid}", json={"title": "x"}), status)
        body = {"title": "Mine", "content": CONTENT["text"]}
        assert who.call("POST", f"/modules/{mid}/posts", json=body).status_code == status
        assert_problem(who.call("PATCH", f"/posts/{scene.post['id']}", json={"title": "x"}), status)
        assert_problem(who.call("POST", f"/courses/{cid}/modules", json={"module_id": mid}), status)


def test_an_instructor_cannot_change_another_instructors_things(scene: Scene) -> None:
    other = scene.other_instructor
    cid, mid = scene.course["id"], scene.module["id"]
    assert_problem(other.call("PATCH", f"/courses/{cid}", json={"title": "Taken"}), 403)
    assert_problem(other.call("DELETE", f"/courses/{cid}/modules/{mid}"), 403)
    assert_problem(other.call("PATCH", f"/modules/{mid}", json={"title": "Taken"}), 403)
    assert_problem(other.call("PATCH", f"/posts/{scene.post['id']}", json={"title": "x"}), 403)
    assert_problem(other.call("GET", f"/courses/{cid}/progress"), 403)
    # ...and is not a student: enrolling and completing are for students.
    assert_problem(other.call("POST", f"/courses/{cid}/enrollments"), 403)
    assert_problem(other.call("PUT", f"/me/completions/{scene.post['id']}"), 403)


def test_only_admins_manage_users(scene: Scene) -> None:
    assert_problem(scene.owner.call("GET", "/users"), 403)
    promote = {"role": "admin"}
    assert_problem(scene.student.call("PATCH", f"/users/{scene.student.id}", json=promote), 403)
    assert_problem(scene.guest.call("GET", "/users/me"), 401)
    assert scene.admin.ok("GET", "/users", params={"role": "instructor", "limit": 100})["items"]


def test_students_see_only_what_they_may(scene: Scene) -> None:
    student, cid = scene.student, scene.course["id"]
    assert_problem(student.call("GET", f"/courses/{scene.draft_course['id']}"), 404)
    assert_problem(student.call("GET", f"/courses/{cid}/progress"), 403)  # the roster
    assert_problem(student.call("GET", f"/posts/{scene.draft_post['id']}"), 404)
    posts = student.ok("GET", f"/modules/{scene.module['id']}/posts")["items"]
    assert [p["id"] for p in posts] == [scene.post["id"]]
    # Not enrolled: no progress document, no completions.
    assert_problem(scene.outsider.call("GET", f"/me/courses/{cid}/progress"), 404)
    assert_problem(scene.outsider.call("PUT", f"/me/completions/{scene.post['id']}"), 403)
    # Enrolled, but the post is a draft.
    assert_problem(student.call("PUT", f"/me/completions/{scene.draft_post['id']}"), 403)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "visibility": "secret"}, "visibility"),
        ({"title": "ok", "stauts": "published"}, "stauts"),
        ({}, "title"),
    ],
)
def test_invalid_courses_are_422_naming_the_field(
    scene: Scene, body: dict[str, Any], field: str
) -> None:
    assert_problem(scene.owner.call("POST", "/courses", json=body), 422, field)


@pytest.mark.parametrize(
    "content",
    [
        {"kind": "video", "url": "ftp://files.example.com/v.mp4"},
        {"kind": "video", "url": "https://v.example.com", "duration_seconds": 0},
        {"kind": "quiz", "questions": [], "max_points": 1},
        {
            "kind": "quiz",
            "questions": [{"prompt": "?", "choices": ["a", "b"], "answer_index": 2}],
            "max_points": 1,
        },
        {
            "kind": "quiz",
            "questions": [{"prompt": "?", "choices": ["a"], "answer_index": 0}],
            "max_points": 1,
        },
        {"kind": "assignment", "instructions": "x", "max_points": 0},
        {"kind": "podcast", "url": "https://p.example.com"},
    ],
)
def test_invalid_post_content_is_422(scene: Scene, content: dict[str, Any]) -> None:
    r = scene.owner.call(
        "POST", f"/modules/{scene.module['id']}/posts", json={"title": "Bad", "content": content}
    )
    assert_problem(r, 422)


def test_malformed_and_out_of_range_requests(scene: Scene) -> None:
    owner, cid = scene.owner, scene.course["id"]
    r = owner.call(
        "POST", "/courses", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(r, 400)
    assert_problem(owner.call("GET", "/courses", params={"limit": 1000}), 422)
    assert_problem(owner.call("GET", "/courses/not-a-uuid"), 422)
    move = owner.call("PATCH", f"/courses/{cid}/modules/{scene.module['id']}", json={"position": 9})
    assert_problem(move, 422)
    name = f"dup_{uuid.uuid4().hex[:8]}"
    account = {"username": name, "email": f"{name}@example.com", "password": "long-enough-1"}
    scene.guest.call("POST", "/auth/register", 201, json=account)
    assert_problem(scene.guest.call("POST", "/auth/register", json=account), 409)
    short = {"username": f"x{name}", "email": f"x{name}@example.com", "password": "short"}
    assert_problem(scene.guest.call("POST", "/auth/register", json=short), 422, "password")


def test_conflicts_with_current_state_are_409(scene: Scene) -> None:
    owner, cid, mid = scene.owner, scene.course["id"], scene.module["id"]
    assert_problem(owner.call("POST", f"/courses/{cid}/modules", json={"module_id": mid}), 409)
    assert_problem(owner.call("PUT", f"/courses/{cid}/modules", json={"module_ids": []}), 409)
    assert_problem(owner.call("DELETE", f"/courses/{cid}"), 409)  # published, not a draft
    assert_problem(owner.call("DELETE", f"/modules/{mid}"), 409)  # attached to a course
    draft = scene.draft_course["id"]
    assert_problem(owner.call("PATCH", f"/courses/{draft}", json={"status": "archived"}), 409)
    assert_problem(scene.student.call("POST", f"/courses/{cid}/enrollments"), 409)  # enrolled
    assert scene.outsider.call("POST", f"/courses/{draft}/enrollments").status_code in (404, 409)
    posts = owner.call("PUT", f"/modules/{mid}/posts", json={"post_ids": [scene.post["id"]]})
    assert_problem(posts, 409)  # not the module's whole set of posts


# ---------------------------------------------------------------- unknown ids


def test_unknown_ids_are_404(scene: Scene) -> None:
    nobody = str(uuid.uuid4())
    owner, student, cid = scene.owner, scene.student, scene.course["id"]
    assert_problem(owner.call("GET", f"/courses/{nobody}"), 404)
    assert_problem(owner.call("GET", f"/modules/{nobody}"), 404)
    assert_problem(owner.call("GET", f"/posts/{nobody}"), 404)
    assert_problem(owner.call("POST", f"/courses/{cid}/modules", json={"module_id": nobody}), 404)
    assert_problem(owner.call("DELETE", f"/courses/{cid}/modules/{nobody}"), 404)
    body = {"title": "Lost", "content": CONTENT["text"]}
    assert_problem(owner.call("POST", f"/modules/{nobody}/posts", json=body), 404)
    assert_problem(owner.call("GET", f"/courses/{nobody}/progress"), 404)
    assert_problem(student.call("POST", f"/courses/{nobody}/enrollments"), 404)
    assert_problem(student.call("PUT", f"/me/completions/{nobody}"), 404)
    assert_problem(student.call("GET", f"/me/courses/{nobody}/progress"), 404)
    assert_problem(scene.admin.call("PATCH", f"/users/{nobody}", json={"role": "instructor"}), 404)
    assert_problem(owner.call("GET", "/no-such-thing"), 404)

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

GRADED_QUIZ = {
    "title": "Quiz",
    "status": "published",
    "content": {
        "kind": "quiz",
        "questions": [
            {"prompt": "1+1?", "choices": ["2", "3"], "answer_index": 0},
            {"prompt": "2+2?", "choices": ["3", "4", "5"], "answer_index": 1},
        ],
        "max_points": 4,
    },
}


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
    # Graded work, in a second module of the course: a quiz (2 questions, 1 attempt), an
    # assignment (5 points) and the student's submission to it.
    quiz: dict[str, Any]
    assignment: dict[str, Any]
    submission: dict[str, Any]


@pytest.fixture(scope="module")
def scene(stack: Stack) -> Iterator[Scene]:
    owner = actor(stack, "instructor")
    course = owner.course("Negative", publish=False)
    module = owner.module("Negative module")
    post = owner.post(module["id"], "Published")
    draft_post = owner.post(module["id"], "Draft", status="draft")
    graded = owner.module("Graded module")
    quiz = owner.ok("POST", f"/modules/{graded['id']}/posts", 201, json=GRADED_QUIZ)
    assignment = owner.post(graded["id"], "Essay", "assignment")
    owner.attach(course["id"], module["id"])
    owner.attach(course["id"], graded["id"])
    owner.publish(course["id"])
    student = actor(stack, "student")
    within(2.5, lambda: student.call("POST", f"/courses/{course['id']}/enrollments"), 201)
    submission = student.ok(
        "POST", f"/posts/{assignment['id']}/submissions", 201, json={"body": "My essay"}
    )
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
        quiz=quiz,
        assignment=assignment,
        submission=submission,
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


def test_submissions_and_grades_by_role(scene: Scene) -> None:
    """Who may submit, read and grade work, and read grades and gradebooks (API.md,
    "Assessment"). ``None``: not tried (it would change the scene, or only wait out the
    read-your-writes bound for a refusal another row already shows)."""
    cid, quiz, sid = scene.course["id"], scene.quiz["id"], scene.submission["id"]
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", f"/posts/{quiz}/submissions", {"json": {"answers": [0, 1]}}),
        ("GET", f"/posts/{quiz}/submissions", {}),
        ("GET", f"/submissions/{sid}", {}),
        ("PUT", f"/submissions/{sid}/grade", {"json": {"score": 7}}),
        ("GET", f"/me/courses/{cid}/grades", {}),
        ("GET", f"/courses/{cid}/grades", {}),
    ]
    matrix: list[tuple[str, Actor, list[int | None]]] = [
        ("guest", scene.guest, [401, 401, 401, 401, 401, 401]),
        ("student not enrolled", scene.outsider, [403, 200, 404, 404, 404, 403]),
        ("another instructor", scene.other_instructor, [None, 200, 404, 404, None, 403]),
        ("the submitting student", scene.student, [None, 200, 200, 403, 200, 403]),
        ("the course and module owner", scene.owner, [None, 200, 200, 200, None, 200]),
        ("admin", scene.admin, [None, 200, 200, None, None, 200]),
    ]
    for name, who, statuses in matrix:
        for (method, path, kw), status in zip(calls, statuses, strict=True):
            if status is None:
                continue
            r = who.call(method, path, **kw)
            if status >= 400:
                assert_problem(r, status)
            else:
                assert r.status_code == status, f"{name}: {method} {path}: {r.status_code} {r.text}"
    # Listing shows each caller only what they may see: the outsider nothing, graders all.
    assert scene.outsider.ok("GET", f"/posts/{scene.assignment['id']}/submissions")["items"] == []
    listed = scene.owner.ok("GET", f"/posts/{scene.assignment['id']}/submissions")["items"]
    assert [s["id"] for s in listed] == [sid]


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


@pytest.mark.parametrize(
    ("target", "body", "field"),
    [
        ("quiz", {"answers": [0]}, "answers"),  # one answer per question
        ("quiz", {"answers": [0, 1, 1]}, "answers"),
        ("quiz", {"answers": [0, 3]}, "answers.1"),  # the second question has 3 choices
        ("quiz", {"answers": [-1, None]}, "answers.0"),
        ("quiz", {"answers": [0, "1"]}, "answers.1"),
        ("quiz", {"body": "words"}, "answers"),
        ("assignment", {"answers": [0]}, "body"),
        ("assignment", {"body": "x" * 100_001}, "body"),
        ("assignment", {"body": "x", "links": ["ftp://files.example.com/a"]}, "links.0"),
        ("assignment", {"body": "x", "grade": 10}, "grade"),
    ],
)
def test_invalid_submissions_are_422_naming_the_field(
    scene: Scene, target: str, body: dict[str, Any], field: str
) -> None:
    post = scene.quiz if target == "quiz" else scene.assignment
    r = scene.student.call("POST", f"/posts/{post['id']}/submissions", json=body)
    assert_problem(r, 422, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"score": 10.01}, "score"),  # max_points is 10
        ({"score": -0.5}, "score"),
        ({"score": "5"}, "score"),
        ({"score": True}, "score"),
        ({}, "score"),
        ({"score": 5, "comment": "x"}, "comment"),
    ],
)
def test_invalid_grades_are_422_naming_the_field(
    scene: Scene, body: dict[str, Any], field: str
) -> None:
    r = scene.owner.call("PUT", f"/submissions/{scene.submission['id']}/grade", json=body)
    assert_problem(r, 422, field)


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
    # Only gradable posts take submissions; a quiz allows 1 attempt unless it says more.
    student = scene.student
    assert_problem(student.call("POST", f"/posts/{scene.post['id']}/submissions", json={}), 409)
    quiz = f"/posts/{scene.quiz['id']}/submissions"
    student.call("POST", quiz, 201, json={"answers": [0, None]})
    assert_problem(student.call("POST", quiz, json={"answers": [0, 1]}), 409)


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
    answers = {"answers": [0, 1]}
    assert_problem(student.call("POST", f"/posts/{nobody}/submissions", json=answers), 404)
    assert_problem(student.call("GET", f"/submissions/{nobody}"), 404)
    assert_problem(owner.call("PUT", f"/submissions/{nobody}/grade", json={"score": 1}), 404)
    assert_problem(student.call("GET", f"/me/courses/{nobody}/grades"), 404)
    assert_problem(owner.call("GET", f"/courses/{nobody}/grades"), 404)
    assert_problem(owner.call("GET", "/no-such-thing"), 404)

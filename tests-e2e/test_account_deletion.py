"""Deleting accounts (API.md, "Deleting an account"), through the gateway: a student with
enrollments, completions and submissions is deleted by an admin, a teacher with courses
deletes themself. Every count that included the student drops, every listing forgets
them, the teacher's course stays with ``creator_id`` null, the old tokens are refused by
every service within 2 s, login fails, and the username and email are free again."""

from __future__ import annotations

import time
import uuid
from typing import Any

from journey import API, Actor, actor, settles, within

from conftest import Stack

# One call per service that needs the caller to be authenticated (each verifies tokens).
AUTHENTICATED = {
    "identity": "/users/me",
    "catalog": "/modules",
    "progress": "/me/enrollments",
}


def _registered(stack: Stack, role: str = "student") -> tuple[Actor, str, str, str]:
    """A new user with ``role``: (actor, username, email, password)."""
    name = f"del_{uuid.uuid4().hex[:10]}"
    email = f"{name}@example.com"
    password = "pw-" + uuid.uuid4().hex
    with stack.client() as c:
        r = c.post(
            f"{API}/auth/register",
            json={"username": name, "email": email, "password": password},
        )
        assert r.status_code == 201, r.text
        user_id = str(r.json()["id"])
    if role != "student":
        with stack.client(stack.admin_token) as c:
            r = c.patch(f"{API}/users/{user_id}", json={"role": role})
            assert r.status_code == 200, r.text
    return Actor(user_id, stack.client(stack.token(name, password))), name, email, password


def _refused_everywhere(who: Actor, course_id: str, post_id: str, started: float) -> None:
    """Every service answers 401 to the deleted user's old token within 2 s of the delete."""
    calls = {
        **AUTHENTICATED,
        "content": f"/posts/{post_id}",
        "assessment": f"/me/courses/{course_id}/grades",
    }
    for service, path in calls.items():
        left = max(0.0, 2.0 - (time.monotonic() - started))
        r = within(left + 0.05, lambda path=path: who.call("GET", path), 401)
        assert r.status_code == 401, f"{service} {path}: {r.status_code} {r.text}"
    assert time.monotonic() - started <= 2.5


def _login(stack: Stack, username: str, password: str) -> int:
    with stack.client() as c:
        r = c.post(f"{API}/auth/token", data={"username": username, "password": password})
        return r.status_code


def test_deleting_a_student_and_a_teacher(stack: Stack) -> None:
    admin = Actor("", stack.client(stack.admin_token))
    teacher, t_name, t_email, t_password = _registered(stack, "instructor")
    student, s_name, s_email, s_password = _registered(stack)
    other = actor(stack, "student")

    # The teacher's course: one module with a text post and an assignment.
    course = teacher.course("Deletion", publish=False)
    module = teacher.module("Deletion module")
    text = teacher.post(module["id"], "Read me")
    assignment = teacher.post(module["id"], "Hand in", kind="assignment")
    teacher.attach(course["id"], module["id"])
    course = teacher.publish(course["id"])
    cid, tid, aid = course["id"], text["id"], assignment["id"]

    # Two students enroll, complete the text and submit the assignment; the teacher
    # grades the student's submission.
    submissions: dict[str, Any] = {}
    for learner in (student, other):
        within(
            2.5, lambda learner=learner: learner.call("POST", f"/courses/{cid}/enrollments"), 201
        )
        within(2.5, lambda learner=learner: learner.call("PUT", f"/me/completions/{tid}"), 201)
        r = within(
            2.5,
            lambda learner=learner: learner.call(
                "POST", f"/posts/{aid}/submissions", json={"body": "my essay"}
            ),
            201,
        )
        submissions[learner.id] = r.json()
    r = within(
        2.5,
        lambda: teacher.call(
            "PUT", f"/submissions/{submissions[student.id]['id']}/grade", json={"score": 7}
        ),
        200,
    )

    def counts() -> tuple[int, int, int]:
        return (
            admin.ok("GET", f"/courses/{cid}")["enrollment_count"],
            admin.ok("GET", f"/posts/{tid}")["completion_count"],
            admin.ok("GET", f"/posts/{aid}")["submission_count"],
        )

    def roster() -> list[str]:
        return sorted(
            row["user_id"] for row in admin.ok("GET", f"/courses/{cid}/progress")["items"]
        )

    def gradebook() -> list[str]:
        return sorted(row["user_id"] for row in admin.ok("GET", f"/courses/{cid}/grades")["items"])

    def submitters() -> list[str]:
        return sorted(s["user_id"] for s in admin.ok("GET", f"/posts/{aid}/submissions")["items"])

    both = sorted([student.id, other.id])
    settles(counts, (2, 2, 2))
    settles(roster, both)
    settles(gradebook, both)
    settles(submitters, both)

    # The admin deletes the student; the teacher deletes themself.
    admin.call("DELETE", f"/users/{student.id}", 204)
    student_deleted = time.monotonic()
    teacher.call("DELETE", "/users/me", 204)
    teacher_deleted = time.monotonic()

    # Old tokens: refused by every service within 2 s.
    _refused_everywhere(student, cid, tid, student_deleted)
    _refused_everywhere(teacher, cid, tid, teacher_deleted)

    # Every count that included the student drops; every listing forgets them.
    settles(counts, (1, 1, 1))
    settles(roster, [other.id])
    settles(gradebook, [other.id])
    settles(submitters, [other.id])
    r = admin.call("GET", f"/submissions/{submissions[student.id]['id']}")
    assert r.status_code == 404, r.text

    # The teacher's course, module and posts stay, with creator_id null.
    kept = admin.ok("GET", f"/courses/{cid}")
    assert kept["creator_id"] is None and kept["status"] == "published"
    assert admin.ok("GET", f"/modules/{module['id']}")["creator_id"] is None
    posts = admin.ok("GET", f"/modules/{module['id']}/posts")["items"]
    assert [p["creator_id"] for p in posts] == [None, None]
    assert admin.ok("GET", f"/courses?creator_id={teacher.id}")["items"] == []
    with stack.client() as guest:
        listed = guest.get(f"{API}/courses", params={"limit": 100}).json()["items"]
    assert any(c["id"] == cid and c["creator_id"] is None for c in listed)
    # The remaining student's progress is untouched (the text marked, the assignment submitted).
    assert other.ok("GET", f"/me/courses/{cid}/progress")["completed_posts"] == 2
    # Admins still manage the course (nobody else owns it).
    renamed = admin.ok("PATCH", f"/courses/{cid}", json={"title": "Adopted course"})
    assert renamed["creator_id"] is None
    stranger = actor(stack, "instructor")
    r = stranger.call("PATCH", f"/courses/{cid}", json={"title": "Mine now"})
    assert r.status_code == 403, r.text

    # Deleting again is 404; login fails; the username and email are free again.
    admin.call("DELETE", f"/users/{student.id}", 404)
    assert _login(stack, s_name, s_password) == 401
    assert _login(stack, t_name, t_password) == 401
    for name, email in ((s_name, s_email), (t_name, t_email)):
        with stack.client() as c:
            r = c.post(
                f"{API}/auth/register",
                json={"username": name, "email": email, "password": "pw-" + uuid.uuid4().hex},
            )
            assert r.status_code == 201, r.text
            assert r.json()["id"] not in (student.id, teacher.id)

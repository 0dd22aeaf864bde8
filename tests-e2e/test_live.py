"""The live stream through the gateway (API.md, "Live updates"): each event kind reaches
exactly the people named there, with a token that makes the next read show the change;
resume, limits, deletion, bad input, and privacy."""

from __future__ import annotations

import time

import httpx
import pytest
from journey import Actor, actor
from sse import SseStream

from conftest import Stack

pytestmark = pytest.mark.slow


def _token(a: Actor) -> str:
    return str(a.http.headers["Authorization"]).removeprefix("Bearer ")


def _stream(stack: Stack, who: Actor, last_event_id: str | None = None) -> SseStream:
    s = SseStream(stack.base_url, _token(who), last_event_id).start()
    assert s.status == 200, s.body
    ready = s.next(kind="ready")
    assert ready.id is not None and ready.id.isdigit()
    return s


def _course_with_student(stack: Stack) -> tuple[Actor, Actor, dict, dict, dict]:
    teacher, student = actor(stack, "instructor"), actor(stack, "student")
    course = teacher.course("Live", publish=True)
    module = teacher.module("Week 1")
    teacher.attach(course["id"], module["id"])
    post = teacher.post(module["id"], "Read me")
    student.enroll(course["id"])
    return teacher, student, course, module, post


def test_structure_and_completion_reach_the_student_and_the_owner(stack: Stack) -> None:
    teacher, student, course, _, post = _course_with_student(stack)
    mine, owners = _stream(stack, student), _stream(stack, teacher)

    student.complete(post["id"])
    done_event = mine.next(kind="progress")
    done, done_id = done_event.json(), done_event.id or "0"
    assert done["course_id"] == course["id"] and done["reason"] == "completion"
    roster = owners.next(kind="roster").json()
    assert roster["course_id"] == course["id"]

    # An outline change: the student's percent falls, and the token shows it at once.
    week2 = teacher.module("Week 2")
    teacher.post(week2["id"], "More")
    started = time.monotonic()
    teacher.attach(course["id"], week2["id"])
    event = mine.next(timeout=3.0, kind="progress")
    while event.json()["reason"] != "structure":
        event = mine.next(timeout=3.0, kind="progress")
    assert time.monotonic() - started < 3.0
    data = event.json()
    assert data["consistency"].startswith("2.")
    fresh = httpx.get(
        f"{stack.base_url}/api/v1/me/courses/{course['id']}/progress",
        headers={
            "Authorization": f"Bearer {_token(student)}",
            "Syllabus-Consistency": data["consistency"],
        },
    )
    assert fresh.status_code == 200, fresh.text
    assert [m["title"] for m in fresh.json()["modules"]] == ["Week 1", "Week 2"]
    assert int(event.id or 0) > int(done_id)


def test_grade_and_submission_events(stack: Stack) -> None:
    teacher, student, course, module, _ = _course_with_student(stack)
    homework = teacher.post(module["id"], "Homework", kind="assignment")
    graders, mine = _stream(stack, teacher), _stream(stack, student)

    sub = student.ok("POST", f"/posts/{homework['id']}/submissions", 201, json={"body": "my work"})
    waiting = graders.next(kind="submission").json()
    assert waiting["submission_id"] == sub["id"] and waiting["post_id"] == homework["id"]
    assert waiting["course_ids"] == [course["id"]]

    teacher.ok("PUT", f"/submissions/{sub['id']}/grade", json={"score": 7, "feedback": "good"})
    grade = mine.next(kind="grade").json()
    assert grade == {
        "submission_id": sub["id"],
        "post_id": homework["id"],
        "status": "graded",
        "score": 7.0,
        "consistency": grade["consistency"],
    }
    # The token makes progress (which consumes the grade) show the post as graded.
    doc = httpx.get(
        f"{stack.base_url}/api/v1/me/courses/{course['id']}/progress",
        headers={
            "Authorization": f"Bearer {_token(student)}",
            "Syllabus-Consistency": grade["consistency"],
        },
    ).json()
    statuses = {p["post_id"]: p["status"] for m in doc["modules"] for p in m["posts"]}
    assert statuses[homework["id"]] == "completed"


def test_resume_sends_what_was_missed_and_reset_when_unknown(stack: Stack) -> None:
    teacher, student, _, module, post = _course_with_student(stack)
    first = _stream(stack, student)
    student.complete(post["id"])
    seen = first.next(kind="progress")
    first.close()
    # Two changes while away.
    student.call("DELETE", f"/me/completions/{post['id']}", 204)
    other = teacher.post(module["id"], "Later")
    student.complete(other["id"])
    time.sleep(1.5)
    again = _stream(stack, student, last_event_id=seen.id)
    missed = [again.next(kind="progress").json()["reason"] for _ in range(2)]
    assert "completion" in missed
    # An id from the future (another stream) begins with reset.
    future = SseStream(stack.base_url, _token(student), "999999999").start()
    assert future.status == 200
    assert future.next(kind="ready")
    assert future.next(kind="reset")


def test_bad_input_is_a_clear_4xx(stack: Stack) -> None:
    student = actor(stack, "student")
    base = f"{stack.base_url}/api/v1/me/stream"
    auth = {"Authorization": f"Bearer {_token(student)}"}
    cases = [
        ({**auth, "Last-Event-ID": "abc"}, 400),
        ({**auth, "Last-Event-ID": "-1"}, 400),
        ({**auth, "Accept": "application/json"}, 406),
        ({}, 401),
        ({"Authorization": "Bearer not-a-token"}, 401),
        ({"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."}, 401),
    ]
    for headers, status in cases:
        r = httpx.get(base, headers=headers, timeout=5)
        assert r.status_code == status, (headers, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.headers.get("x-request-id")


def test_at_most_five_streams_per_user(stack: Stack) -> None:
    student = actor(stack, "student")
    streams = [_stream(stack, student) for _ in range(5)]
    sixth = SseStream(stack.base_url, _token(student)).start()
    assert sixth.status == 429, sixth.body
    assert all(not s.ended.is_set() for s in streams)


def test_the_stream_ends_when_the_account_is_deleted(stack: Stack) -> None:
    student = actor(stack, "student")
    s = _stream(stack, student)
    student.call("DELETE", "/users/me", 204)
    assert s.ended.wait(2.5), "stream still open 2.5 s after the account was deleted"
    refused = SseStream(stack.base_url, _token(student)).start()
    assert refused.status == 401


def test_nothing_private_reaches_another_person(stack: Stack) -> None:
    teacher, alice, course, module, post = _course_with_student(stack)
    bob = actor(stack, "student")
    bob.enroll(course["id"])
    other_teacher = actor(stack, "instructor")
    elsewhere = other_teacher.course("Elsewhere", publish=True)
    # The other teacher's course uses the same module: they grade its posts, but only for
    # students enrolled in their course (Alice is not).
    other_teacher.attach(elsewhere["id"], module["id"])
    watch_bob, watch_other = _stream(stack, bob), _stream(stack, other_teacher)
    watch_alice = _stream(stack, alice)
    homework = teacher.post(module["id"], "Essay", kind="assignment")

    alice.complete(post["id"])
    sub = alice.ok("POST", f"/posts/{homework['id']}/submissions", 201, json={"body": "secret"})
    teacher.ok("PUT", f"/submissions/{sub['id']}/grade", json={"score": 3})
    assert watch_alice.next(kind="grade").json()["submission_id"] == sub["id"]

    bob_saw = watch_bob.drain(wait=1.5)
    other_saw = watch_other.drain()
    for event in bob_saw + other_saw:
        assert event.event not in ("grade", "submission"), event
        assert sub["id"] not in event.data
        # Rosters only of one's own courses (the other teacher's: attaching the module).
        assert event.event != "roster" or event.json()["course_id"] == elsewhere["id"], event
    assert all(e.event != "roster" for e in bob_saw)
    # Bob heard only of structure (the new post), never of Alice's completion.
    assert all(e.json().get("reason") != "completion" for e in bob_saw if e.event == "progress")
    assert any(e.event == "progress" for e in bob_saw)  # he did hear of the new post

"""POST /posts/{post_id}/submissions: who may submit, quizzes graded at once, assignments,
attempts, lateness, validation, Idempotency-Key, read-your-writes, and the event."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from typing import Any

from syllabus_devkit.testing.asserts import assert_problem
from syllabus_shared.contracts import assessment as ev

from conftest import API, QUIZ_KEY, Assessment


def _events(outbox: list[Any], submission_id: str) -> list[tuple[str, int, dict[str, Any]]]:
    return [
        (row.event_type, row.sequence, json.loads(row.payload)["data"])
        for row in outbox
        if row.aggregate_id == submission_id
    ]


# ---------------------------------------------------------------- quizzes


async def test_a_quiz_is_graded_at_once_and_never_shows_its_key(
    shared_assessment: Assessment,
) -> None:
    a = shared_assessment
    s = await a.setup()
    r = await a.submit(s.quiz, s.student, {"answers": [1, 2, None]})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert r.headers["location"] == f"/api/v1/submissions/{doc['id']}"
    assert r.headers["etag"] == '"1"'
    assert doc["post_id"] == str(s.quiz)
    assert doc["user_id"] == str(s.student)
    assert doc["kind"] == "quiz"
    assert doc["attempt"] == 1
    assert doc["status"] == "graded"
    assert doc["score"] == 3.33  # 10 x 1/3
    assert doc["max_points"] == 10
    assert doc["late"] is False
    assert doc["answers"] == [1, 2, None]
    assert doc["results"] == [{"correct": True}, {"correct": False}, {"correct": False}]
    assert doc["graded_at"] is not None
    assert doc["grader_id"] is None
    assert doc["version"] == 1
    assert "body" not in doc and "links" not in doc
    text = r.text
    assert "answer_key" not in text and "answer_index" not in text
    # ... nor when it is read again.
    r = await a.client.get(f"{API}/submissions/{doc['id']}", headers=a.as_("student", s.student))
    assert r.status_code == 200
    assert r.json() == doc
    assert "answer_key" not in r.text


async def test_a_quiz_submission_records_its_event(shared_assessment: Assessment) -> None:
    a = shared_assessment
    s = await a.setup()
    doc = await a.submitted(s.quiz, s.student, {"answers": QUIZ_KEY})
    [(event_type, sequence, data)] = _events(await a.outbox(), doc["id"])
    assert event_type == ev.SubmissionCreated.type_name()
    assert sequence == 1
    assert data["status"] == "graded"
    assert data["score"] == 10.0
    assert data["kept_score"] == 10.0
    assert data["attempt"] == 1
    assert data["post_id"] == str(s.quiz)
    assert data["user_id"] == str(s.student)
    assert data["late"] is False
    assert data["grader_id"] is None


async def test_quiz_answers_are_validated(shared_assessment: Assessment) -> None:
    a = shared_assessment
    s = await a.setup()
    for answers, field in [
        ([1, 0], "answers"),
        ([1, 0, 2, 1], "answers"),
        ([], "answers"),
        ([1, 3, 0], "answers.1"),
        ([-1, 0, 0], "answers.0"),
    ]:
        r = await a.submit(s.quiz, s.student, {"answers": answers})
        assert_problem(r, 422, field)
    for body, field in [
        ({"answers": ["a", 0, 0]}, "answers.0"),
        ({"answers": [True, 0, 0]}, "answers.0"),
        ({"answers": [1.0, 0, 0]}, "answers.0"),
        ({"answers": [0, 0, 0], "body": "hi"}, "body"),
        ({"body": "an essay"}, "answers"),
        ({"answers": [0, 0, 0], "unknown": 1}, "unknown"),
    ]:
        r = await a.submit(s.quiz, s.student, body)
        assert_problem(r, 422, field)
    # None of those used the only attempt.
    r = await a.submit(s.quiz, s.student, {"answers": [1, 0, 2]})
    assert r.status_code == 201, r.text
    assert r.json()["score"] == 10.0


async def test_attempts_default_to_one_for_a_quiz(shared_assessment: Assessment) -> None:
    a = shared_assessment
    s = await a.setup()
    await a.submitted(s.quiz, s.student, {"answers": [0, 0, 0]})
    r = await a.submit(s.quiz, s.student, {"answers": [1, 0, 2]})
    assert_problem(r, 409)
    assert r.json()["type"].endswith("/attempts-used-up")


async def test_a_quiz_with_attempts_allows_that_many(shared_assessment: Assessment) -> None:
    a = shared_assessment
    s = await a.setup(quiz={"attempts": 2})
    first = await a.submitted(s.quiz, s.student, {"answers": [0, 0, 0]})
    second = await a.submitted(s.quiz, s.student, {"answers": [1, 0, 2]})
    assert (first["attempt"], second["attempt"]) == (1, 2)
    assert_problem(await a.submit(s.quiz, s.student, {"answers": [1, 0, 2]}), 409)


# ---------------------------------------------------------------- assignments


async def test_an_assignment_waits_for_a_grader(shared_assessment: Assessment) -> None:
    a = shared_assessment
    s = await a.setup()
    body = {"body": "# My essay\n\nDone.", "links": ["https://example.org/repo"]}
    r = await a.submit(s.assignment, s.student, body)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["status"] == "submitted"
    assert doc["kind"] == "assignment"
    assert doc["score"] is None
    assert doc["graded_at"] is None
    assert doc["max_points"] == 20
    assert doc["body"] == body["body"]
    assert doc["links"] == body["links"]
    assert "answers" not in doc and "results" not in doc
    [(event_type, sequence, data)] = _events(await a.outbox(), doc["id"])
    assert (event_type, sequence) == (ev.SubmissionCreated.type_name(), 1)
    assert data["status"] == "submitted"
    assert data["score"] is None
    assert data["kept_score"] is None


async def test_assignments_take_unlimited_attempts_by_default(
    shared_assessment: Assessment,
) -> None:
    a = shared_assessment
    s = await a.setup()
    attempts = [
        (await a.submitted(s.assignment, s.student, {"body": f"v{i}"}))["attempt"] for i in range(4)
    ]
    assert attempts == [1, 2, 3, 4]
    limited = await a.setup(attempts=1)
    await a.submitted(limited.assignment, limited.student, {"body": "once"})
    assert_problem(await a.submit(limited.assignment, limited.student, {"body": "twice"}), 409)


async def test_assignment_bodies_and_links_are_validated(shared_assessment: Assessment) -> None:
    a = shared_assessment
    s = await a.setup()
    for body, field in [
        ({"body": "x" * 100_001}, "body"),
        ({"body": "ok", "links": [f"https://example.org/{i}" for i in range(11)]}, "links"),
        ({"body": "ok", "links": ["ftp://example.org/file"]}, "links.0"),
        ({"body": "ok", "links": ["not a url"]}, "links.0"),
        ({"body": "nul \x00"}, "body"),
        ({"links": ["https://example.org"]}, "body"),
        ({"body": "ok", "answers": [0]}, "answers"),
    ]:
        assert_problem(await a.submit(s.assignment, s.student, body), 422, field)
    r = await a.submit(s.assignment, s.student, {"body": "x" * 100_000, "links": []})
    assert r.status_code == 201


async def test_late_work_is_accepted_and_flagged(shared_assessment: Assessment) -> None:
    a = shared_assessment
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    late = await a.setup(due_at=past, quiz={"due_at": future})
    doc = await a.submitted(late.assignment, late.student, {"body": "sorry"})
    assert doc["late"] is True
    doc = await a.submitted(late.quiz, late.student, {"answers": [0, 0, 0]})
    assert doc["late"] is False


# ---------------------------------------------------------------- who may submit


async def test_only_enrolled_students_submit_to_published_gradable_posts(
    shared_assessment: Assessment,
) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    text = await w.post(s.module_id, "text")
    draft = await w.post(s.module_id, "quiz", status="draft")
    stranger, _ = a.student()
    dropped, _ = a.student()
    await w.drop(await w.enroll(dropped, s.course_id))
    # The same module in a draft course: enrolling there does not count.
    draft_course = await w.course(status="draft")
    await w.attach(draft_course, s.module_id)
    in_draft_course, _ = a.student()
    await w.enroll(in_draft_course, draft_course)
    await a.synced()

    started = time.monotonic()
    refusals = await asyncio.gather(
        a.submit(s.quiz, stranger, {"answers": [0, 0, 0]}),
        a.submit(s.quiz, dropped, {"answers": [0, 0, 0]}),
        a.submit(s.quiz, in_draft_course, {"answers": [0, 0, 0]}),
        a.submit(draft, s.student, {"answers": [0, 0, 0]}),
        a.submit(s.quiz, s.student, {"answers": [0, 0, 0]}, Authorization="Bearer nope"),
    )
    for r in refusals[:4]:
        assert_problem(r, 403)
    assert_problem(refusals[4], 401)
    # Refusals that an event on its way could still turn round wait, but only so long.
    assert time.monotonic() - started < 4 * 2.0
    assert_problem(await a.submit(text, s.student, {"body": "x"}), 409)
    assert_problem(await a.submit(uuid.uuid4(), s.student, {"body": "x"}), 404)
    # An instructor is not enrolled either.
    r = await a.client.post(
        f"{API}/posts/{s.quiz}/submissions",
        json={"answers": [0, 0, 0]},
        headers=a.as_("instructor", s.module_owner),
    )
    assert_problem(r, 403)


async def test_a_completed_enrollment_still_counts(shared_assessment: Assessment) -> None:
    a = shared_assessment
    s = await a.setup()
    await a.world.complete_course(s.enrollment)
    await a.synced()
    await a.submitted(s.assignment, s.student, {"body": "after the end"})


async def test_a_detached_module_or_deleted_post_takes_no_more_submissions(
    shared_assessment: Assessment,
) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    await w.delete_post(s.quiz)
    await w.detach(s.course_id, s.module_id)
    await a.synced()
    assert_problem(await a.submit(s.quiz, s.student, {"answers": [0, 0, 0]}), 404)
    assert_problem(await a.submit(s.assignment, s.student, {"body": "x"}), 403)


# ---------------------------------------------------------------- Idempotency-Key


async def test_the_same_idempotency_key_submits_once(shared_assessment: Assessment) -> None:
    a = shared_assessment
    s = await a.setup()
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = await a.submit(s.assignment, s.student, {"body": "once"}, **key)
    again = await a.submit(s.assignment, s.student, {"body": "once"}, **key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.headers["etag"] == first.headers["etag"]
    other = await a.submit(s.assignment, s.student, {"body": "another"}, **key)
    assert_problem(other, 422)
    r = await a.client.get(
        f"{API}/posts/{s.assignment}/submissions", headers=a.as_("student", s.student)
    )
    assert [d["id"] for d in r.json()["items"]] == [first.json()["id"]]
    # A refused create does not use the key up.
    quiz_key = {"Idempotency-Key": f"q-{uuid.uuid4()}"}
    assert_problem(await a.submit(s.quiz, s.student, {"answers": [0]}, **quiz_key), 422)
    r = await a.submit(s.quiz, s.student, {"answers": [1, 0, 2]}, **quiz_key)
    assert r.status_code == 201, r.text


async def test_concurrent_submissions_get_distinct_attempts(
    shared_assessment: Assessment,
) -> None:
    a = shared_assessment
    s = await a.setup(quiz={"attempts": 3})
    results = await asyncio.gather(
        *(a.submit(s.quiz, s.student, {"answers": [1, 0, 2]}) for _ in range(6))
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 201, 201, 409, 409, 409], [r.text for r in results]
    attempts = sorted(r.json()["attempt"] for r in results if r.status_code == 201)
    assert attempts == [1, 2, 3]


# ---------------------------------------------------------------- read-your-writes


async def test_submitting_right_after_the_post_and_enrollment_exist_needs_no_retry(
    shared_assessment: Assessment,
) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    student, _ = a.student()
    post = await w.post(s.module_id, "quiz", hold=True)
    await w.enroll(student, s.course_id, hold=True)
    held = w.take_held()

    async def deliver_later() -> None:
        await asyncio.sleep(0.4)
        await w.deliver(held)

    r, _ = await asyncio.gather(a.submit(post, student, {"answers": [1, 0, 2]}), deliver_later())
    assert r.status_code == 201, r.text
    assert r.json()["score"] == 10.0

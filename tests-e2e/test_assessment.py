"""Assessment journeys through the gateway: a quiz graded at once, an assignment graded by
its module's owner, the student's grades, the instructor's gradebook (JSON and CSV), and
content's ``submission_count`` kept from assessment's events.

As in test_journeys.py: what travels by events is awaited by bounded polling (API.md
promises 2 s); a write followed by a dependent call of the same client needs no waiting.
"""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from journey import Actor, actor, settles, within
from syllabus_devkit.testing.asserts import assert_problem

from conftest import Stack, eventually

# The answer key of the quiz below; a student must never see it, in any form.
KEY = [1, 0, 2]
QUIZ = {
    "kind": "quiz",
    "questions": [
        {"prompt": "2+2?", "choices": ["3", "4"], "answer_index": KEY[0]},
        {"prompt": "Capital of France?", "choices": ["Paris", "Rome", "Oslo"], "answer_index": 0},
        {"prompt": "SQL's JOIN default?", "choices": ["LEFT", "FULL", "INNER"], "answer_index": 2},
    ],
    "max_points": 10,
    "attempts": 2,
}
ESSAY = {
    "kind": "assignment",
    "instructions": "Design a schema for a library.",
    "max_points": 20,
    "due_at": "2020-01-01T00:00:00Z",  # long past: every submission is late
}
SUBMISSION_FIELDS = {
    "id",
    "post_id",
    "user_id",
    "kind",
    "attempt",
    "status",
    "submitted_at",
    "late",
    "due_at",  # the date it was judged against (issue 26)
    "score",
    "max_points",
    "feedback",
    "graded_at",
    "grader_id",
    "version",
}


def _post(author: Actor, module_id: str, title: str, content: dict[str, Any]) -> dict[str, Any]:
    body = {"title": title, "content": content, "status": "published"}
    post: dict[str, Any] = author.ok("POST", f"/modules/{module_id}/posts", 201, json=body)
    return post


def _enroll_soon(student: Actor, course_id: str) -> None:
    within(2.5, lambda: student.call("POST", f"/courses/{course_id}/enrollments"), 201)


def _no_answer_key(doc: Any) -> None:
    """No trace of the key: no ``answer_index``/``answer_key`` anywhere in the document."""
    text = str(doc)
    assert "answer_index" not in text and "answer_key" not in text, doc


def _submit(student: Actor, post_id: str, expect: int = 201, **kw: Any) -> Any:
    return student.call("POST", f"/posts/{post_id}/submissions", expect, **kw)


def test_quiz_and_assignment_submitted_graded_and_in_the_gradebook(stack: Stack) -> None:
    ada = actor(stack, "instructor")
    course = ada.course("Graded work")
    cid = course["id"]
    week1, week2 = ada.module("Week 1"), ada.module("Week 2")
    intro = ada.post(week1["id"], "Intro", "text")
    quiz = _post(ada, week1["id"], "Check-in quiz", QUIZ)
    essay = _post(ada, week2["id"], "Schema essay", ESSAY)
    qid, eid = quiz["id"], essay["id"]
    assert [q["answer_index"] for q in quiz["content"]["questions"]] == KEY  # the author's view
    ada.attach(cid, week1["id"])
    ada.attach(cid, week2["id"])
    ada.publish(cid)
    bo, cy = actor(stack, "student"), actor(stack, "student")
    _enroll_soon(bo, cid)
    _enroll_soon(cy, cid)

    # The student sees the quiz (attempts, points) but not its key.
    seen = bo.ok("GET", f"/posts/{qid}")
    assert (seen["content"]["attempts"], seen["content"]["max_points"]) == (2, 10)
    _no_answer_key(seen)
    assert bo.ok("GET", f"/posts/{eid}")["content"]["due_at"].startswith("2020-01-01T00:00:00")

    # Quiz: graded at once; results per question, never the key.
    first = _submit(bo, qid, json={"answers": KEY}).json()
    assert SUBMISSION_FIELDS | {"answers", "results"} == first.keys()
    assert (first["attempt"], first["status"], first["score"], first["max_points"]) == (
        1,
        "graded",
        10.0,
        10,
    )
    assert first["results"] == [{"correct": True}] * 3
    assert (first["late"], first["grader_id"], first["answers"]) == (False, None, KEY)
    _no_answer_key(first)
    # A second attempt is allowed (a worse one: the kept score stays the highest).
    second = _submit(bo, qid, json={"answers": [KEY[0], None, 0]}).json()
    assert (second["attempt"], second["score"]) == (2, 3.33)
    assert second["results"] == [{"correct": True}, {"correct": False}, {"correct": False}]
    _no_answer_key(second)
    _no_answer_key(bo.ok("GET", f"/submissions/{second['id']}"))
    _no_answer_key(bo.ok("GET", f"/posts/{qid}/submissions"))
    assert_problem(_submit(bo, qid, None, json={"answers": KEY}), 409)  # attempts used up

    # Assignment: late (past due_at), waits for a grader; Idempotency-Key replays it.
    once = {"Idempotency-Key": f"essay-{uuid.uuid4().hex}"}
    work = {"body": "# Library\n\nBooks, loans, members.", "links": ["https://example.com/erd"]}
    handed = _submit(bo, eid, json=work, headers=once).json()
    assert SUBMISSION_FIELDS | {"body", "links"} == handed.keys()
    assert (handed["status"], handed["late"], handed["score"], handed["attempt"]) == (
        "submitted",
        True,
        None,
        1,
    )
    assert _submit(bo, eid, json=work, headers=once).json() == handed
    sid = handed["id"]

    # The module's owner grades it: If-Match with the current ETag; a stale one is 412.
    seen_by_ada = within(2.5, lambda: ada.call("GET", f"/submissions/{sid}"), 200)
    etag = seen_by_ada.headers["etag"]
    feedback = {"score": 14.5, "feedback": "Good; normalise loans."}
    graded = ada.call(
        "PUT", f"/submissions/{sid}/grade", 200, json=feedback, headers={"If-Match": etag}
    )
    doc = graded.json()
    assert (doc["status"], doc["score"], doc["grader_id"], doc["feedback"]) == (
        "graded",
        14.5,
        ada.id,
        feedback["feedback"],
    )
    assert doc["version"] > handed["version"] and graded.headers["etag"] != etag
    stale = ada.call(
        "PUT", f"/submissions/{sid}/grade", json={"score": 1}, headers={"If-Match": etag}
    )
    assert_problem(stale, 412)
    current = {"If-Match": graded.headers["etag"]}
    too_many = ada.call("PUT", f"/submissions/{sid}/grade", json={"score": 20.5}, headers=current)
    assert_problem(too_many, 422, "score")
    regraded = ada.ok("PUT", f"/submissions/{sid}/grade", json={"score": 15}, headers=current)
    assert (regraded["score"], regraded["feedback"]) == (15.0, None)  # PUT: feedback replaced
    assert bo.ok("GET", f"/submissions/{sid}")["score"] == 15.0

    # The student's grades: kept score = highest, in course order, totals.
    grades = bo.ok("GET", f"/me/courses/{cid}/grades")
    assert {k: grades[k] for k in ("course_id", "user_id", "earned", "possible", "percent")} == {
        "course_id": cid,
        "user_id": bo.id,
        "earned": 25.0,
        "possible": 30,
        "percent": 83.33,
    }
    entry = ("post_id", "kind", "max_points", "kept_score", "status", "attempts_used", "late")
    assert [tuple(p[k] for k in entry) for p in grades["posts"]] == [
        (qid, "quiz", 10, 10.0, "graded", 2, False),
        (eid, "assignment", 20, 15.0, "graded", 1, True),
    ]
    assert intro["id"] not in {p["post_id"] for p in grades["posts"]}

    # The instructor's gradebook: one row per enrolled student, by user_id.
    def rows() -> list[tuple[Any, ...]]:
        items = ada.ok("GET", f"/courses/{cid}/grades")["items"]
        return [
            tuple(i[k] for k in ("user_id", "earned", "possible", "percent"))
            + tuple(i[k] for k in ("graded", "submitted", "missing"))
            for i in items
        ]

    expected = sorted([(bo.id, 25.0, 30, 83.33, 2, 0, 0), (cy.id, 0.0, 30, 0.0, 0, 0, 2)])
    settles(rows, expected)
    r = ada.call("GET", f"/courses/{cid}/grades", 200, headers={"Accept": "text/csv"})
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment")
    table = list(csv.reader(io.StringIO(r.text)))
    assert table[0] == [
        "user_id",
        "username",
        "display_name",
        f"Check-in quiz ({qid})",
        f"Schema essay ({eid})",
        "earned",
        "possible",
        "percent",
    ]
    # The names (identity's, kept by assessment from its events: tests-e2e/test_names.py).
    bo_name, cy_name = (who.ok("GET", "/users/me")["username"] for who in (bo, cy))

    def csv_rows() -> list[list[str]]:
        r = ada.call("GET", f"/courses/{cid}/grades", 200, headers={"Accept": "text/csv"})
        return list(csv.reader(io.StringIO(r.text)))[1:]

    settles(
        csv_rows,
        sorted(
            [
                [bo.id, bo_name, bo_name, "10.00", "15.00", "25.00", "30", "83.33"],
                [cy.id, cy_name, cy_name, "", "", "0.00", "30", "0.00"],
            ]
        ),
    )

    # Content keeps the number of students who submitted (from assessment's events).
    assert eventually(lambda: ada.ok("GET", f"/posts/{qid}")["submission_count"] == 1, 2.5)
    assert eventually(lambda: ada.ok("GET", f"/posts/{eid}")["submission_count"] == 1, 2.5)
    assert ada.ok("GET", f"/posts/{intro['id']}")["submission_count"] == 0

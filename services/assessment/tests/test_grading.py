"""PUT /submissions/{id}/grade, GET /submissions/{id}, GET /posts/{post_id}/submissions:
graders, score bounds, If-Match, kept scores, visibility and listing."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from sqlalchemy import select
from syllabus_assessment.models import PostGrade
from syllabus_devkit.testing.asserts import assert_problem
from syllabus_shared.contracts import assessment as ev

from conftest import API, Assessment, Setup


async def _kept(a: Assessment, s: Setup, post_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    async with a.runtime.db.transaction() as session:
        return await session.scalar(
            select(PostGrade.kept_score).where(
                PostGrade.user_id == user_id,  # type: ignore[arg-type]
                PostGrade.post_id == post_id,  # type: ignore[arg-type]
            )
        )


# ---------------------------------------------------------------- grading


async def test_the_module_owner_grades_an_assignment(shared_assessment: Assessment) -> None:
    a = shared_assessment
    s = await a.setup()
    sub = await a.submitted(s.assignment, s.student, {"body": "essay"})
    grader = a.as_("instructor", s.module_owner)
    r = await a.grade(sub["id"], 17.5, grader, feedback="Good work")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["status"] == "graded"
    assert doc["score"] == 17.5
    assert doc["feedback"] == "Good work"
    assert doc["grader_id"] == str(s.module_owner)
    assert doc["graded_at"] is not None
    assert doc["version"] == 2
    assert r.headers["etag"] == '"2"'
    rows = [row for row in await a.outbox() if row.aggregate_id == sub["id"]]
    assert [(row.event_type, row.sequence) for row in rows] == [
        (ev.SubmissionCreated.type_name(), 1),
        (ev.SubmissionGraded.type_name(), 2),
    ]
    data = json.loads(rows[1].payload)["data"]
    assert data["score"] == 17.5
    assert data["kept_score"] == 17.5
    assert data["grader_id"] == str(s.module_owner)
    assert data["status"] == "graded"


async def test_scores_must_be_within_zero_and_max_points(shared_assessment: Assessment) -> None:
    a = shared_assessment
    s = await a.setup()
    sub = await a.submitted(s.assignment, s.student, {"body": "essay"})
    grader = a.as_("instructor", s.module_owner)
    for score in (20.01, 21, -0.5, -1):
        assert_problem(await a.grade(sub["id"], score, grader), 422, "score")
    for body in (
        {},
        {"score": "ten"},
        {"score": "5"},
        {"score": True},
        {"score": 5, "extra": 1},
        {"score": 5, "feedback": 3},
    ):
        r = await a.client.put(f"{API}/submissions/{sub['id']}/grade", json=body, headers=grader)
        assert_problem(r, 422)
    r = await a.client.put(
        f"{API}/submissions/{sub['id']}/grade",
        content=b'{"score": NaN}',
        headers={**grader, "content-type": "application/json"},
    )
    assert r.status_code in (400, 422)
    assert (await a.grade(sub["id"], 20, grader)).json()["score"] == 20.0
    assert (await a.grade(sub["id"], 0, grader)).json()["score"] == 0.0
    assert (await a.grade(sub["id"], 12.345, grader)).json()["score"] == 12.35


async def test_regrading_honours_if_match(shared_assessment: Assessment) -> None:
    a = shared_assessment
    s = await a.setup()
    sub = await a.submitted(s.assignment, s.student, {"body": "essay"})
    grader = a.as_("instructor", s.module_owner)
    first = await a.grade(sub["id"], 10, grader, **{"If-Match": '"1"'})
    assert first.status_code == 200, first.text
    stale = await a.grade(sub["id"], 12, grader, **{"If-Match": '"1"'})
    assert_problem(stale, 412)
    r = await a.grade(sub["id"], 12, grader, **{"If-Match": first.headers["etag"]})
    assert r.status_code == 200
    assert r.json()["score"] == 12.0
    assert r.json()["version"] == 3


async def test_a_grader_may_override_a_quiz_score(shared_assessment: Assessment) -> None:
    a = shared_assessment
    s = await a.setup()
    sub = await a.submitted(s.quiz, s.student, {"answers": [0, 0, 0]})
    assert sub["score"] == 3.33
    r = await a.grade(sub["id"], 8, a.as_("admin"), feedback="question 1 was ambiguous")
    assert r.status_code == 200, r.text
    assert r.json()["score"] == 8.0
    assert r.json()["results"] == sub["results"]
    assert_problem(await a.grade(sub["id"], 10.5, a.as_("admin")), 422, "score")


async def test_who_grades(shared_assessment: Assessment) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    sub = await a.submitted(s.assignment, s.student, {"body": "essay"})
    # The owner of another course using the module, in which the student is NOT enrolled.
    other_owner = uuid.uuid4()
    other_course = await w.course(other_owner)
    await w.attach(other_course, s.module_id)
    await a.synced()
    assert_problem(await a.grade(sub["id"], 5, a.as_("student", s.student)), 403)
    assert_problem(await a.grade(sub["id"], 5, a.as_("student")), 404)
    assert_problem(await a.grade(sub["id"], 5, a.as_("instructor")), 404)
    assert_problem(await a.grade(sub["id"], 5, a.as_("instructor", other_owner)), 404)
    assert_problem(await a.grade(str(uuid.uuid4()), 5, a.as_("admin")), 404)
    for grader in (s.owner, s.module_owner):
        r = await a.grade(sub["id"], 5, a.as_("instructor", grader))
        assert r.status_code == 200, r.text
    assert (await a.grade(sub["id"], 6, a.as_("admin"))).status_code == 200
    # Once the student enrolls in the other course, its owner grades too.
    await w.enroll(s.student, other_course)
    await a.synced()
    assert (await a.grade(sub["id"], 7, a.as_("instructor", other_owner))).status_code == 200


async def test_the_kept_score_is_the_highest_graded_one(shared_assessment: Assessment) -> None:
    a = shared_assessment
    s = await a.setup()
    grader = a.as_("instructor", s.module_owner)
    one = await a.submitted(s.assignment, s.student, {"body": "v1"})
    two = await a.submitted(s.assignment, s.student, {"body": "v2"})
    assert await _kept(a, s, s.assignment, s.student) is None
    await a.grade(one["id"], 15, grader)
    await a.grade(two["id"], 9, grader)
    assert float(await _kept(a, s, s.assignment, s.student)) == 15.0
    # Regrading the best one down: the kept score follows (the other is now the highest).
    r = await a.grade(one["id"], 5, grader)
    data = json.loads(
        next(row for row in reversed(await a.outbox()) if row.aggregate_id == one["id"]).payload
    )["data"]
    assert r.status_code == 200
    assert data["kept_score"] == 9.0
    assert float(await _kept(a, s, s.assignment, s.student)) == 9.0


# ---------------------------------------------------------------- reading one


async def test_a_submission_is_seen_by_its_student_and_its_graders(
    shared_assessment: Assessment,
) -> None:
    a = shared_assessment
    s = await a.setup()
    sub = await a.submitted(s.assignment, s.student, {"body": "essay"})
    url = f"{API}/submissions/{sub['id']}"
    for headers in (
        a.as_("student", s.student),
        a.as_("instructor", s.module_owner),
        a.as_("instructor", s.owner),
        a.as_("admin"),
    ):
        r = await a.client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json() == sub
        assert r.headers["etag"] == '"1"'
    for headers in (a.as_("student"), a.as_("instructor")):
        assert_problem(await a.client.get(url, headers=headers), 404)
    assert_problem(
        await a.client.get(f"{API}/submissions/{uuid.uuid4()}", headers=a.as_("admin")), 404
    )
    mine = a.as_("student", s.student)
    r = await a.client.get(url, headers={**mine, "If-None-Match": '"1"'})
    assert r.status_code == 304
    await a.grade(sub["id"], 3, a.as_("admin"))
    r = await a.client.get(url, headers={**mine, "If-None-Match": '"1"'})
    assert r.status_code == 200
    assert r.headers["etag"] == '"2"'


# ---------------------------------------------------------------- listing


async def test_graders_list_every_submission_newest_first(shared_assessment: Assessment) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    other, _ = a.student()
    await w.enroll(other, s.course_id)
    # The student's names from identity's event; the other's has not arrived (null).
    await w.register_user(s.student, "sally", "Sally S.")
    await a.synced()
    one = await a.submitted(s.assignment, s.student, {"body": "1"})
    two = await a.submitted(s.assignment, other, {"body": "2"})
    three = await a.submitted(s.assignment, s.student, {"body": "3"})
    await a.grade(one["id"], 4, a.as_("admin"))
    url = f"{API}/posts/{s.assignment}/submissions"
    newest_first = [three["id"], two["id"], one["id"]]
    names = [("sally", "Sally S."), (None, None), ("sally", "Sally S.")]
    for grader in (
        a.as_("instructor", s.module_owner),
        a.as_("instructor", s.owner),
        a.as_("admin"),
    ):
        r = await a.client.get(url, headers=grader)
        assert r.status_code == 200, r.text
        assert [d["id"] for d in r.json()["items"]] == newest_first
        assert [(d["username"], d["display_name"]) for d in r.json()["items"]] == names
        assert r.json()["next_cursor"] is None
    # Otherwise each item is the submission's own document.
    r = await a.client.get(f"{API}/submissions/{one['id']}", headers=a.as_("admin"))
    [listed] = [
        d
        for d in (await a.client.get(url, headers=a.as_("admin"))).json()["items"]
        if d["id"] == one["id"]
    ]
    assert {k: v for k, v in listed.items() if k not in ("username", "display_name")} == r.json()
    admin = a.as_("admin")
    r = await a.client.get(url, params={"user_id": str(s.student)}, headers=admin)
    assert [d["id"] for d in r.json()["items"]] == [three["id"], one["id"]]
    r = await a.client.get(url, params={"status": "graded"}, headers=admin)
    assert [d["id"] for d in r.json()["items"]] == [one["id"]]
    r = await a.client.get(url, params={"status": "submitted", "limit": 1}, headers=admin)
    page = r.json()
    assert [d["id"] for d in page["items"]] == [three["id"]]
    r = await a.client.get(
        url,
        params={"status": "submitted", "limit": 1, "cursor": page["next_cursor"]},
        headers=admin,
    )
    assert [d["id"] for d in r.json()["items"]] == [two["id"]]
    assert r.json()["next_cursor"] is None
    assert_problem(await a.client.get(url, params={"status": "lost"}, headers=admin), 422)
    assert_problem(await a.client.get(url, params={"limit": 101}, headers=admin), 422)
    assert_problem(await a.client.get(url, params={"cursor": "%%%"}, headers=admin), 400)


async def test_a_student_lists_only_their_own(shared_assessment: Assessment) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    other, other_headers = a.student()
    await w.enroll(other, s.course_id)
    await a.synced()
    mine = await a.submitted(s.assignment, s.student, {"body": "mine"})
    await a.submitted(s.assignment, other, {"body": "theirs"})
    url = f"{API}/posts/{s.assignment}/submissions"
    r = await a.client.get(url, headers=a.as_("student", s.student))
    assert [d["id"] for d in r.json()["items"]] == [mine["id"]]
    r = await a.client.get(url, params={"user_id": str(other)}, headers=a.as_("student", s.student))
    assert r.json()["items"] == []
    # An instructor who grades nothing here sees nothing either.
    r = await a.client.get(url, headers=a.as_("instructor"))
    assert r.json()["items"] == []
    assert_problem(
        await a.client.get(f"{API}/posts/{uuid.uuid4()}/submissions", headers=other_headers), 404
    )


async def test_concurrent_grades_with_one_if_match_apply_once(
    shared_assessment: Assessment,
) -> None:
    a = shared_assessment
    s = await a.setup()
    sub = await a.submitted(s.assignment, s.student, {"body": "essay"})
    grader = a.as_("instructor", s.module_owner)
    results = await asyncio.gather(
        *(a.grade(sub["id"], score, grader, **{"If-Match": '"1"'}) for score in (11, 12, 13, 14))
    )
    assert sorted(r.status_code for r in results) == [200, 412, 412, 412]
    [winner] = [r.json() for r in results if r.status_code == 200]
    assert winner["version"] == 2
    graded = [row for row in await a.outbox() if row.aggregate_id == sub["id"]][1:]
    assert len(graded) == 1
    assert json.loads(graded[0].payload)["data"]["score"] == winner["score"]


async def test_kept_scores_stay_right_under_concurrent_grading(
    shared_assessment: Assessment,
) -> None:
    a = shared_assessment
    s = await a.setup()
    subs = [await a.submitted(s.assignment, s.student, {"body": f"v{i}"}) for i in range(5)]
    grader = a.as_("admin")
    scores = [3, 19, 7, 11, 5]
    results = await asyncio.gather(
        *(a.grade(sub["id"], score, grader) for sub, score in zip(subs, scores, strict=True)),
        a.submit(s.assignment, s.student, {"body": "one more"}),
    )
    assert all(r.status_code in (200, 201) for r in results), [r.text for r in results]
    assert float(await _kept(a, s, s.assignment, s.student)) == 19.0
    async with a.runtime.db.transaction() as session:
        grade = await session.get(PostGrade, (s.student, s.assignment))
        assert grade is not None
        assert (grade.attempts_used, grade.status) == (6, "submitted")

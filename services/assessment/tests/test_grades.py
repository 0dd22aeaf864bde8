"""GET /me/courses/{course_id}/grades and GET /courses/{course_id}/grades (JSON and CSV):
course order, statuses, totals, structure changes, access."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import uuid
from typing import Any

from syllabus_assessment import views
from syllabus_devkit.testing.asserts import assert_problem
from syllabus_shared.auth import Principal, Role

from conftest import API, Assessment, Setup


async def _mine(a: Assessment, s: Setup, user_id: uuid.UUID | None = None) -> dict[str, Any]:
    r = await a.client.get(
        f"{API}/me/courses/{s.course_id}/grades", headers=a.as_("student", user_id or s.student)
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _book(a: Assessment, course_id: uuid.UUID, **params: Any) -> dict[str, Any]:
    r = await a.client.get(
        f"{API}/courses/{course_id}/grades", params=params, headers=a.as_("admin")
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _csv(a: Assessment, course_id: uuid.UUID, headers: dict[str, str]) -> list[list[str]]:
    r = await a.client.get(
        f"{API}/courses/{course_id}/grades", headers={**headers, "Accept": "text/csv"}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    return list(csv.reader(io.StringIO(r.text)))


# ---------------------------------------------------------------- a student's grades


async def test_a_students_grades_follow_the_course(shared_assessment: Assessment) -> None:
    a = shared_assessment
    w = a.world
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    s = await a.setup(due_at=past)
    # Not gradable, or not published: not listed.
    await w.post(s.module_id, "text")
    await w.post(s.module_id, "quiz", status="draft")
    second = await w.module()
    await w.attach(s.course_id, second)
    late_quiz = await w.post(second, "quiz", max_points=5)
    await a.synced()

    doc = await _mine(a, s)
    assert doc["course_id"] == str(s.course_id)
    assert doc["user_id"] == str(s.student)
    assert [p["post_id"] for p in doc["posts"]] == [str(s.quiz), str(s.assignment), str(late_quiz)]
    assert doc["possible"] == 35
    assert doc["earned"] == 0
    assert doc["percent"] == 0
    first = doc["posts"][0]
    assert first == {
        "post_id": str(s.quiz),
        "module_id": str(s.module_id),
        "title": w.posts[s.quiz]["title"],
        "kind": "quiz",
        "max_points": 10,
        "kept_score": None,
        "status": "not_submitted",
        "attempts_used": 0,
        "late": False,
        "due_at": None,  # the quiz has no due date
    }
    # The assignment's: the post's own (no override).
    assert dt.datetime.fromisoformat(doc["posts"][1]["due_at"]) == past

    await a.submitted(s.quiz, s.student, {"answers": [1, 0, 0]})  # 6.67
    essay = await a.submitted(s.assignment, s.student, {"body": "late"})
    doc = await _mine(a, s)
    by_id = {p["post_id"]: p for p in doc["posts"]}
    assert by_id[str(s.quiz)]["status"] == "graded"
    assert by_id[str(s.quiz)]["kept_score"] == 6.67
    assert by_id[str(s.assignment)]["status"] == "submitted"
    assert by_id[str(s.assignment)]["late"] is True
    assert by_id[str(s.assignment)]["attempts_used"] == 1
    assert by_id[str(late_quiz)]["status"] == "not_submitted"
    assert doc["earned"] == 6.67
    assert doc["percent"] == 19.06  # 6.67 / 35

    await a.grade(essay["id"], 20, a.as_("admin"))
    doc = await _mine(a, s)
    assert doc["earned"] == 26.67
    assert doc["percent"] == 76.2

    # Structure changes: the second module moves first, the first is detached later.
    await w.reorder_modules(s.course_id, [second, s.module_id])
    await a.synced()
    doc = await _mine(a, s)
    assert [p["post_id"] for p in doc["posts"]] == [str(late_quiz), str(s.quiz), str(s.assignment)]
    await w.reorder_posts(s.module_id, [s.assignment, *w.module_posts[s.module_id][:1]])
    await a.synced()
    doc = await _mine(a, s)
    assert [p["post_id"] for p in doc["posts"]][:2] == [str(late_quiz), str(s.assignment)]
    await w.detach(s.course_id, s.module_id)
    await a.synced()
    doc = await _mine(a, s)
    assert [p["post_id"] for p in doc["posts"]] == [str(late_quiz)]
    assert (doc["earned"], doc["possible"], doc["percent"]) == (0, 5, 0)


async def test_only_an_enrolled_student_has_grades(shared_assessment: Assessment) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    empty_course = await w.course()
    dropped, _ = a.student()
    await w.drop(await w.enroll(dropped, s.course_id))
    student_of_empty, _ = a.student()
    await w.enroll(student_of_empty, empty_course)
    await a.synced()
    stranger = a.as_("student")
    refusals = await asyncio.gather(
        a.client.get(f"{API}/me/courses/{s.course_id}/grades", headers=stranger),
        a.client.get(f"{API}/me/courses/{s.course_id}/grades", headers=a.as_("student", dropped)),
        a.client.get(f"{API}/me/courses/{uuid.uuid4()}/grades", headers=stranger),
    )
    for r in refusals:
        assert_problem(r, 404)
    r = await a.client.get(
        f"{API}/me/courses/{empty_course}/grades", headers=a.as_("student", student_of_empty)
    )
    assert r.status_code == 200
    assert r.json()["posts"] == []
    assert (r.json()["possible"], r.json()["percent"]) == (0, 0)


async def test_grades_right_after_enrolling_need_no_retry(shared_assessment: Assessment) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    student, headers = a.student()
    await w.enroll(student, s.course_id, hold=True)
    held = w.take_held()

    async def deliver_later() -> None:
        await asyncio.sleep(0.3)
        await w.deliver(held)

    r, _ = await asyncio.gather(
        a.client.get(f"{API}/me/courses/{s.course_id}/grades", headers=headers), deliver_later()
    )
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------- the gradebook


async def test_the_gradebook_has_a_row_per_enrolled_student(shared_assessment: Assessment) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    graded, waiting, idle, gone = (uuid.uuid4() for _ in range(4))
    for user in (graded, waiting, idle):
        await w.enroll(user, s.course_id)
    await w.drop(await w.enroll(gone, s.course_id))
    # Names from identity's events; idle's registration has not arrived (null names).
    await w.register_user(graded, "grace", "Grace H.")
    await w.register_user(waiting, "walt", "Walt W.")
    await a.synced()
    await a.submitted(s.quiz, graded, {"answers": [1, 0, 2]})  # 10
    essay = await a.submitted(s.assignment, graded, {"body": "essay"})
    await a.grade(essay["id"], 12.5, a.as_("admin"))
    await a.submitted(s.quiz, waiting, {"answers": [0, 0, 0]})  # 3.33
    await a.submitted(s.assignment, waiting, {"body": "pending"})

    for headers in (a.as_("instructor", s.owner), a.as_("admin")):
        r = await a.client.get(f"{API}/courses/{s.course_id}/grades", headers=headers)
        assert r.status_code == 200, r.text
    book = await _book(a, s.course_id)
    # The columns: the gradable posts in course order (an extension, docs/api-notes.md).
    assert book["posts"] == [
        {
            "post_id": str(post),
            "module_id": str(s.module_id),
            "title": w.posts[post]["title"],
            "kind": w.posts[post]["kind"],
            "max_points": points,
        }
        for post, points in ((s.quiz, 10), (s.assignment, 20))
    ]
    rows = {row.pop("user_id"): row for row in book["items"]}
    cells = {user: row.pop("scores") for user, row in rows.items()}
    assert set(rows) == {str(u) for u in (s.student, graded, waiting, idle)}
    assert cells[str(graded)] == [
        {"post_id": str(s.quiz), "kept_score": 10.0, "status": "graded", "late": False},
        {"post_id": str(s.assignment), "kept_score": 12.5, "status": "graded", "late": False},
    ]
    assert cells[str(waiting)] == [
        {"post_id": str(s.quiz), "kept_score": 3.33, "status": "graded", "late": False},
        {"post_id": str(s.assignment), "kept_score": None, "status": "submitted", "late": False},
    ]
    assert [c["status"] for c in cells[str(idle)]] == ["not_submitted", "not_submitted"]
    assert rows[str(graded)] == {
        "username": "grace",
        "display_name": "Grace H.",
        "earned": 22.5,
        "possible": 30,
        "percent": 75.0,
        "graded": 2,
        "submitted": 0,
        "missing": 0,
    }
    assert rows[str(waiting)] == {
        "username": "walt",
        "display_name": "Walt W.",
        "earned": 3.33,
        "possible": 30,
        "percent": 11.1,
        "graded": 1,
        "submitted": 1,
        "missing": 0,
    }
    assert rows[str(idle)]["missing"] == 2
    assert (rows[str(idle)]["username"], rows[str(idle)]["display_name"]) == (None, None)
    assert (rows[str(idle)]["earned"], rows[str(idle)]["percent"]) == (0, 0)


async def test_the_gradebook_pages_by_student(shared_assessment: Assessment) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    for _ in range(4):
        await w.enroll(uuid.uuid4(), s.course_id)
    await a.synced()
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await _book(a, s.course_id, **params)
        assert len(page["items"]) <= 2
        seen += [row["user_id"] for row in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5
    assert seen == sorted(seen)


async def test_only_the_course_owner_and_admins_read_the_gradebook(
    shared_assessment: Assessment,
) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    private = await w.course(s.owner, status="draft", visibility="private")
    await a.synced()
    url = f"{API}/courses/{s.course_id}/grades"
    assert_problem(await a.client.get(url, headers=a.as_("student", s.student)), 403)
    assert_problem(await a.client.get(url, headers=a.as_("instructor", s.module_owner)), 403)
    csv_refused = await a.client.get(url, headers={**a.as_("instructor"), "Accept": "text/csv"})
    assert_problem(csv_refused, 403)
    assert_problem(
        await a.client.get(f"{API}/courses/{private}/grades", headers=a.as_("instructor")), 404
    )
    assert (
        await a.client.get(f"{API}/courses/{private}/grades", headers=a.as_("instructor", s.owner))
    ).status_code == 200
    assert_problem(
        await a.client.get(f"{API}/courses/{uuid.uuid4()}/grades", headers=a.as_("admin")), 404
    )


async def test_the_gradebook_as_csv(shared_assessment: Assessment) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    await w.update_post(s.assignment, title="=HYPERLINK(evil)")
    other, unknown = uuid.uuid4(), uuid.uuid4()
    await w.enroll(other, s.course_id)
    await w.enroll(unknown, s.course_id)
    # Names a spreadsheet must neither split nor run; one student not known yet.
    await w.register_user(s.student, "sam", '=cmd|"/c calc"!A1')
    await w.register_user(other, "olive", 'Oyl, Olive "O."')
    await a.synced()
    await a.submitted(s.quiz, s.student, {"answers": [1, 0, 0]})
    essay = await a.submitted(s.assignment, other, {"body": "x"})
    await a.grade(essay["id"], 7.5, a.as_("admin"))

    rows = await _csv(a, s.course_id, a.as_("instructor", s.owner))
    header, *body = rows
    # The user id, the names, one column per gradable post, the totals.
    assert header[:3] == ["user_id", "username", "display_name"]
    assert header[-3:] == ["earned", "possible", "percent"]
    assert header[3] == f"{w.posts[s.quiz]['title']} ({s.quiz})"
    # A title a spreadsheet would run as a formula is neutralised.
    assert header[4] == f"'=HYPERLINK(evil) ({s.assignment})"
    by_user = {row[0]: row for row in body}
    assert by_user.keys() == {str(s.student), str(other), str(unknown)}
    assert by_user[str(s.student)][1:] == [
        "sam",
        '\'=cmd|"/c calc"!A1',
        "6.67",
        "",
        "6.67",
        "30",
        "22.23",
    ]
    assert by_user[str(other)][1:] == [
        "olive",
        'Oyl, Olive "O."',
        "",
        "7.50",
        "7.50",
        "30",
        "25.00",
    ]
    assert by_user[str(unknown)][1:] == ["", "", "", "", "0.00", "30", "0.00"]
    assert [row[0] for row in body] == sorted(by_user)


async def test_the_csv_streams_a_large_course(shared_assessment: Assessment) -> None:
    """More students than one cursor batch: every row arrives, in order."""
    a = shared_assessment
    s = await a.setup()
    students = sorted(uuid.uuid4() for _ in range(1_200))
    async with a.runtime.db.transaction() as session:
        from syllabus_assessment.models import Enrollment, PostGrade
        from syllabus_shared.db import utcnow

        session.add_all(
            Enrollment(
                enrollment_id=uuid.uuid4(), user_id=u, course_id=s.course_id, status="active"
            )
            for u in students
        )
        session.add_all(
            PostGrade(
                user_id=u,
                post_id=s.quiz,
                attempts_used=1,
                status="graded",
                kept_score=i % 11,
                updated_at=utcnow(),
            )
            for i, u in enumerate(students)
        )
    r = await a.client.get(
        f"{API}/courses/{s.course_id}/grades", headers={**a.as_("admin"), "Accept": "text/csv"}
    )
    assert r.status_code == 200
    text = r.text
    # The body is made batch by batch (the test transport buffers it; the view does not).
    chunks = [
        chunk
        async for chunk in await views.gradebook_csv(
            a.runtime.unit_of_work(), Principal(user_id=uuid.uuid4(), role=Role.admin), s.course_id
        )
    ]
    assert len(chunks) == 1 + 3  # the header, then 1,201 rows in batches of 500
    assert "".join(chunks) == text
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert len(rows) == 1_201  # and the setup's own student
    ids = [row[0] for row in rows]
    assert ids == sorted(ids)
    scores = {row[0]: row[3] for row in rows}  # after the user id and the names
    assert scores[str(students[10])] == "10.00"
    assert scores[str(students[11])] == "0.00"
    assert scores[str(s.student)] == ""


async def test_a_course_with_nothing_gradable(shared_assessment: Assessment) -> None:
    a = shared_assessment
    w = a.world
    owner, student = uuid.uuid4(), uuid.uuid4()
    course = await w.course(owner)
    module = await w.module()
    await w.attach(course, module)
    await w.post(module, "text")
    await w.enroll(student, course)
    await a.synced()
    book = await _book(a, course)
    assert book["posts"] == []
    [row] = book["items"]
    assert row == {
        "user_id": str(student),
        "username": None,
        "display_name": None,
        "earned": 0,
        "possible": 0,
        "percent": 0,
        "graded": 0,
        "submitted": 0,
        "missing": 0,
        "scores": [],
    }
    rows = await _csv(a, course, a.as_("instructor", owner))
    assert rows == [
        ["user_id", "username", "display_name", "earned", "possible", "percent"],
        [str(student), "", "", "0.00", "0", "0.00"],
    ]


async def test_the_csv_and_the_json_gradebook_agree(shared_assessment: Assessment) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    users = [uuid.uuid4() for _ in range(6)]
    for i, u in enumerate(users):
        await w.enroll(u, s.course_id)
        if i % 2:
            await w.register_user(u, f"agree_{i}", f"Agree {i}")
    await a.synced()
    for i, u in enumerate(users):
        if i % 2:
            await a.submitted(s.quiz, u, {"answers": [1, i % 3, 2]})
        if i % 3:
            essay = await a.submitted(s.assignment, u, {"body": "x"})
            await a.grade(essay["id"], i * 1.37, a.as_("admin"))
    book = {r["user_id"]: r for r in (await _book(a, s.course_id, limit=100))["items"]}
    _header, *body = await _csv(a, s.course_id, a.as_("admin"))
    assert len(body) == len(book) == 7
    for row in body:
        json_row = book[row[0]]
        assert row[1:3] == [json_row["username"] or "", json_row["display_name"] or ""]
        earned, possible, pct = row[-3:]
        assert (float(earned), int(possible), float(pct)) == (
            json_row["earned"],
            json_row["possible"],
            json_row["percent"],
        )
        cells = [float(c) for c in row[3:-3] if c]
        assert round(sum(cells), 2) == json_row["earned"]
        assert len(cells) == json_row["graded"]
        # The JSON row's cells are the CSV's, column by column.
        assert [c["kept_score"] for c in json_row["scores"]] == [
            float(c) if c else None for c in row[3:-3]
        ]


async def test_unpublished_or_deleted_posts_leave_the_grades(
    shared_assessment: Assessment,
) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    await a.submitted(s.quiz, s.student, {"answers": [1, 0, 2]})
    await w.update_post(s.quiz, status="draft")
    await a.synced()
    doc = await _mine(a, s)
    assert [p["post_id"] for p in doc["posts"]] == [str(s.assignment)]
    assert (doc["earned"], doc["possible"]) == (0, 20)
    await w.update_post(s.quiz, status="published", max_points=20)
    await a.synced()
    doc = await _mine(a, s)
    assert (doc["earned"], doc["possible"]) == (10, 40)  # the kept score stays as graded
    await w.delete_post(s.assignment)
    await a.synced()
    assert [p["post_id"] for p in (await _mine(a, s))["posts"]] == [str(s.quiz)]

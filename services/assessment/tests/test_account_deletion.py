"""A deleted account (identity's ``UserDeleted``): the student's submissions, kept grades
and projected enrollments are deleted (gradebooks no longer list them); courses and
modules a teacher owned stay without an owner (admins grade there); tokens are refused;
a redelivered deletion or a late enrollment changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from syllabus_assessment.models import Course, Enrollment, Module, PostGrade, Submission
from syllabus_devkit.testing.asserts import eventually
from syllabus_shared.contracts import identity as ie

from conftest import API, Assessment, Setup

# Generous: event lag on a loaded machine (the checks return as soon as they hold).
LAG = 15.0


async def _rows(a: Assessment, user_id: uuid.UUID) -> dict[str, int]:
    out = {}
    async with a.runtime.db.transaction() as session:
        for model in (Submission, PostGrade, Enrollment):
            n = await session.scalar(
                select(func.count()).select_from(model).where(model.user_id == user_id)  # type: ignore[attr-defined]
            )
            out[model.__tablename__] = int(n or 0)  # type: ignore[attr-defined]
    return out


async def _deleted(a: Assessment, user_id: uuid.UUID) -> bool:
    table = a.runtime.tables.deleted_users
    async with a.runtime.db.transaction() as session:
        found = await session.execute(select(table.c.user_id).where(table.c.user_id == user_id))
        return found.first() is not None


async def _book(a: Assessment, course_id: uuid.UUID) -> list[str]:
    r = await a.client.get(f"{API}/courses/{course_id}/grades", headers=a.as_("admin"))
    assert r.status_code == 200, r.text
    return sorted(row["user_id"] for row in r.json()["items"])


async def _owners(a: Assessment, s: Setup) -> tuple[Any, Any]:
    async with a.runtime.db.transaction() as session:
        course = await session.get(Course, s.course_id)
        module = await session.get(Module, s.module_id)
        assert course is not None and module is not None
        return course.creator_id, module.creator_id


async def _own_events(a: Assessment) -> list[Any]:
    """The outbox without the notices."""
    return [row for row in await a.outbox() if not row.event_type.endswith(".Notice.v1")]


async def test_the_cascade(assessment: Assessment) -> None:
    a = assessment
    s = await a.setup()
    other, _ = a.student()
    await a.world.enroll(other, s.course_id)
    await a.synced()
    assignments = {}
    for student in (s.student, other):
        await a.submitted(s.quiz, student, {"answers": [1, 0, 2]})
        assignments[student] = (await a.submitted(s.assignment, student, {"body": "essay"}))["id"]
    # The module's owner grades both assignments (a grade by a deleted grader stays,
    # without the grader).
    for student, score in ((s.student, 15), (other, 12)):
        r = await a.grade(assignments[student], score, a.as_("instructor", s.module_owner))
        assert r.status_code == 200, r.text
    assert await _rows(a, s.student) == {"submissions": 2, "post_grades": 2, "enrollments": 1}
    assert await _book(a, s.course_id) == sorted([str(s.student), str(other)])
    # Notices (tells_only: written a moment later by their own consumer) are not counted.
    events_before = len(await _own_events(a))

    await a.world.delete_user(s.student)
    await a.world.delete_user(s.owner)
    await a.world.delete_user(s.module_owner)
    assert await eventually(lambda: _deleted(a, s.module_owner), bool, timeout=LAG)

    assert await _rows(a, s.student) == {"submissions": 0, "post_grades": 0, "enrollments": 0}
    assert await _rows(a, other) == {"submissions": 2, "post_grades": 2, "enrollments": 1}
    # The gradebook (admins still read it) no longer lists the student.
    assert await _book(a, s.course_id) == [str(other)]
    # The course and the module stay, without an owner; the grade stays, without a grader.
    assert await _owners(a, s) == (None, None)
    r = await a.client.get(f"{API}/submissions/{assignments[other]}", headers=a.as_("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["score"] == 12 and r.json().get("grader_id") is None
    # No event for what was deleted (content and progress apply UserDeleted themselves).
    assert len(await _own_events(a)) == events_before
    # The deleted accounts' tokens are refused.
    for headers in (
        a.as_("student", s.student),
        a.as_("instructor", s.owner),
        a.as_("instructor", s.module_owner),
    ):
        r = await a.client.get(f"{API}/courses/{s.course_id}/grades", headers=headers)
        assert r.status_code == 401, r.text
    r = await a.submit(s.assignment, s.student, {"body": "again"})
    assert r.status_code == 401, r.text
    # Nobody owns the course now: another instructor may not read its gradebook; an
    # admin may regrade.
    r = await a.client.get(f"{API}/courses/{s.course_id}/grades", headers=a.as_("instructor"))
    assert r.status_code in (403, 404), r.text
    r = await a.grade(assignments[other], 13, a.as_("admin"))
    assert r.status_code == 200, r.text


async def test_redelivery_and_late_events_change_nothing(assessment: Assessment) -> None:
    a = assessment
    w = a.world
    s = await a.setup()
    await a.submitted(s.assignment, s.student, {"body": "essay"})
    deletion = await w.delete_user(s.student)
    await w.delete_user(s.owner)
    assert await eventually(lambda: _deleted(a, s.owner), bool, timeout=LAG)
    assert await _rows(a, s.student) == {"submissions": 0, "post_grades": 0, "enrollments": 0}

    # The deletion again, past the stream's duplicate window.
    await w.deliver([(ie.UserDeleted, deletion)], again=True)
    # The student's enrollment arriving after the deletion (progress's stream, or a
    # replay reading it after identity's), and a course state naming the deleted owner.
    await w.enroll(s.student, s.course_id)
    await w.reenroll(s.enrollment)
    await w.update_course(s.course_id, title="Late")
    # Behind them, another student's enrollment and another deletion.
    other, _ = a.student()
    await w.enroll(other, s.course_id)
    sentinel = uuid.uuid4()
    await w.delete_user(sentinel)
    await a.synced()
    assert await eventually(lambda: _deleted(a, sentinel), bool, timeout=LAG)

    assert await _rows(a, s.student) == {"submissions": 0, "post_grades": 0, "enrollments": 0}
    assert (await _rows(a, other))["enrollments"] == 1
    assert (await _owners(a, s))[0] is None
    assert await _book(a, s.course_id) == [str(other)]

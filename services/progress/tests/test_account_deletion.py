"""A deleted account (identity's ``UserDeleted``): the student's enrollments, completions,
facts (views, submissions), module completions and pending decisions are deleted, with no
event for them; courses the teacher owned stay without an owner; tokens are refused; a
redelivered deletion or a late fact changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from syllabus_devkit.testing.asserts import eventually
from syllabus_progress.models import (
    GROUPS,
    Completion,
    Course,
    Enrollment,
    ModuleCompletion,
    PendingDecision,
    PostView,
    Submission,
    UnlockOverride,
)
from syllabus_shared.contracts import identity as ie
from syllabus_shared.db import utcnow

from conftest import API, Progress

# Generous: event lag on a loaded machine (the checks return as soon as they hold).
LAG = 15.0


async def _rows(progress: Progress, user_id: uuid.UUID) -> dict[str, int]:
    """The user's rows in each of progress's own tables."""
    async with progress.runtime.db.transaction() as session:
        enrollments = select(Enrollment.id).where(Enrollment.user_id == user_id)
        counts: dict[str, Any] = {}
        for name, model in (
            ("enrollments", Enrollment),
            ("completions", Completion),
            ("post_views", PostView),
            ("submissions", Submission),
        ):
            counts[name] = await session.scalar(
                select(func.count()).select_from(model).where(model.user_id == user_id)  # type: ignore[attr-defined]
            )
        counts["module_completions"] = await session.scalar(
            select(func.count())
            .select_from(ModuleCompletion)
            .where(ModuleCompletion.enrollment_id.in_(enrollments))  # type: ignore[attr-defined]
        )
        counts["pending_decisions"] = await session.scalar(
            select(func.count())
            .select_from(PendingDecision)
            .where(PendingDecision.enrollment_id.in_(enrollments))  # type: ignore[attr-defined]
        )
        counts["unlock_overrides"] = await session.scalar(
            select(func.count())
            .select_from(UnlockOverride)
            .where(UnlockOverride.kind == "user", UnlockOverride.target_id == user_id)  # type: ignore[arg-type]
        )
        return {name: int(n or 0) for name, n in counts.items()}


async def _deleted(progress: Progress, user_id: uuid.UUID) -> bool:
    table = progress.runtime.tables.deleted_users
    async with progress.runtime.db.transaction() as session:
        found = await session.execute(select(table.c.user_id).where(table.c.user_id == user_id))
        return found.first() is not None


async def _creator(progress: Progress, course_id: uuid.UUID) -> uuid.UUID | None:
    async with progress.runtime.db.transaction() as session:
        return await session.scalar(select(Course.creator_id).where(Course.course_id == course_id))  # type: ignore[arg-type]


async def _a_student_with_everything(
    progress: Progress, teacher: uuid.UUID
) -> tuple[uuid.UUID, dict[str, str], dict[str, Any]]:
    """A student enrolled in two of the teacher's courses, both completed: one by a mark,
    one by a mark, a view and a submission (a module completion each)."""
    w = progress.world
    done_course, _, [[done_post]] = await w.course_with(1, 1, owner=teacher)
    course = await w.course(teacher)
    module = await w.module()
    await w.attach(course, module)
    video = await w.post(module, kind="video", completion={"rule": "view"})
    quiz = await w.post(module, kind="quiz", completion={"rule": "submit"})
    text = await w.post(module)
    await progress.synced()
    student, headers = progress.student()
    for course_id in (done_course, course):
        r = await progress.enroll(course_id, headers)
        assert r.status_code == 201, r.text
    for post in (done_post, text):
        r = await progress.complete(post, headers)
        assert r.status_code == 201, r.text
    await w.view(video, student)
    await w.submit(quiz, student, score=8)
    await progress.synced()
    rows = await eventually(
        lambda: _rows(progress, student),
        lambda r: r["completions"] == 4 and r["module_completions"] == 2,
        timeout=LAG,
    )
    assert rows == {
        "enrollments": 2,
        "completions": 4,
        "post_views": 1,
        "submissions": 1,
        "module_completions": 2,  # every post of both courses is done
        "pending_decisions": rows["pending_decisions"],  # decided or not yet: either
        "unlock_overrides": 0,
    }, rows
    doc = await progress.doc(done_course, headers)
    assert doc["status"] == "completed", doc
    made = {"course": course, "module": module, "video": video, "quiz": quiz, "text": text}
    return student, headers, made


async def test_the_cascade(progress: Progress) -> None:
    teacher = uuid.uuid4()
    student, headers, made = await _a_student_with_everything(progress, teacher)
    other, other_headers = progress.student()
    r = await progress.enroll(made["course"], other_headers)
    assert r.status_code == 201
    r = await progress.complete(made["text"], other_headers)
    assert r.status_code == 201, r.text
    events_before = len(await progress.events())
    other_before = await _rows(progress, other)

    await progress.world.delete_user(student)
    await progress.world.delete_user(teacher)
    assert await eventually(lambda: _deleted(progress, teacher), bool, timeout=LAG)
    assert await _deleted(progress, student)

    assert await _rows(progress, student) == dict.fromkeys(
        (
            "enrollments",
            "completions",
            "post_views",
            "submissions",
            "module_completions",
            "pending_decisions",
            "unlock_overrides",
        ),
        0,
    )
    assert await _rows(progress, other) == other_before
    # The teacher's course stays (the other student is still in it), without an owner.
    assert await _creator(progress, made["course"]) is None
    doc = await progress.doc(made["course"], other_headers)
    assert doc["status"] == "active"
    # No event for the deleted facts: each consumer applies UserDeleted itself.
    assert len(await progress.events()) == events_before
    # The deleted accounts' tokens are refused, by every route.
    r = await progress.client.get(f"{API}/me/enrollments", headers=headers)
    assert r.status_code == 401, r.text
    r = await progress.enroll(made["course"], headers)
    assert r.status_code == 401, r.text
    r = await progress.client.get(
        f"{API}/courses/{made['course']}/progress",
        headers=progress.tokens.headers(teacher, "instructor"),
    )
    assert r.status_code == 401, r.text
    # Admins still see the course's roster, without the deleted student.
    r = await progress.client.get(
        f"{API}/courses/{made['course']}/progress", headers=progress.as_("admin")
    )
    assert r.status_code == 200, r.text
    assert [e["user_id"] for e in r.json()["items"]] == [str(other)]


async def test_redelivery_and_late_facts_change_nothing(progress: Progress) -> None:
    w = progress.world
    teacher = uuid.uuid4()
    student, _, made = await _a_student_with_everything(progress, teacher)
    deletion = await w.delete_user(student)
    assert await eventually(lambda: _deleted(progress, student), bool, timeout=LAG)
    assert (await _rows(progress, student))["enrollments"] == 0
    events_before = len(await progress.events())

    # The deletion again (past the stream's duplicate window): nothing to do.
    await w.deliver([(ie.UserDeleted, deletion)], again=True)
    # Facts of the deleted student arriving after its deletion (other streams, or a
    # replay reading them after identity's): a view, a new submission, a grade.
    await w.view(made["text"], student)
    submission = await w.submit(made["quiz"], student)
    await w.grade(submission, 9)
    # An unlock date catalog set for them before it learned of the deletion.
    await w.unlock_override(made["course"], made["module"], "user", student, utcnow())
    # Another student's facts behind them on the same streams, and another deletion
    # behind the redelivery: once those are applied, so were the deleted student's.
    other, _ = progress.student()
    await w.view(made["text"], other)
    await w.submit(made["quiz"], other)
    sentinel = uuid.uuid4()
    await w.delete_user(sentinel)
    await progress.synced()
    assert await eventually(lambda: _deleted(progress, sentinel), bool, timeout=LAG)
    assert (await _rows(progress, other))["submissions"] == 1

    assert await _rows(progress, student) == dict.fromkeys(
        (
            "enrollments",
            "completions",
            "post_views",
            "submissions",
            "module_completions",
            "pending_decisions",
            "unlock_overrides",
        ),
        0,
    )
    # Only the other student's completions were published.
    new = (await progress.events())[events_before:]
    assert all(e["data"]["user_id"] == str(other) for e in new), new


async def test_a_deleted_creator_is_no_groups_creator(progress: Progress) -> None:
    """Identity forgets a deleted account as a group's creator without a group event: the
    kept group loses its creator with ``UserDeleted``, and a later event of the group that
    still names them (sent before identity applied the deletion) does not bring it back."""
    w = progress.world
    creator = uuid.uuid4()
    group = await w.group([], name="Kept", creator=creator)
    await progress.synced()

    async def creator_of() -> tuple[str, uuid.UUID | None]:
        groups = GROUPS.groups
        async with progress.runtime.db.transaction() as session:
            row = (
                await session.execute(
                    select(groups.c.name, groups.c.creator_id).where(groups.c.group_id == group)
                )
            ).one()
            return row.name, row.creator_id

    assert await creator_of() == ("Kept", creator)
    await w.delete_user(creator)
    assert await eventually(lambda: _deleted(progress, creator), bool, timeout=LAG)
    assert await creator_of() == ("Kept", None)

    await w.emit(ie.GroupUpdated(group_id=group, group_name="Renamed", creator_id=creator))
    sentinel = uuid.uuid4()
    await w.delete_user(sentinel)  # behind the rename on identity's stream
    assert await eventually(lambda: _deleted(progress, sentinel), bool, timeout=LAG)
    assert await creator_of() == ("Renamed", None)

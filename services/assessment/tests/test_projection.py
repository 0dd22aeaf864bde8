"""The projection of catalog's, content's and progress's events: idempotent, newest
sequence wins whatever the order of delivery, tombstones, and replaying it from the
streams (the kernel's ``replay`` of the declared projection) equals the live one."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select
from syllabus_assessment.main import SERVICE
from syllabus_assessment.models import Course, CourseModule, Enrollment, Module, Post
from syllabus_devkit.testing.plugin import Databases
from syllabus_devkit.testing.tokens import TokenFactory
from syllabus_shared.messaging.replay import replay

from conftest import API, MIGRATIONS, Assessment, World, assessment_settings

SRC = str(Path(__file__).resolve().parents[1] / "src")


async def _row(a: Assessment, model: Any, **key: Any) -> Any:
    async with a.runtime.db.transaction() as session:
        return await session.get(model, key)


async def test_post_events_in_any_order_leave_the_newest_state(
    shared_assessment: Assessment,
) -> None:
    a = shared_assessment
    w = a.world
    module = await w.module()
    due = dt.datetime(2031, 5, 1, 9, tzinfo=dt.UTC)
    post = await w.post(module, "quiz", status="draft", key=[0, 1], hold=True)
    await w.update_post(post, status="published", hold=True)
    await w.update_post(post, max_points=4, attempts=3, due_at=due, answer_key=[1, 1], hold=True)
    held = w.take_held()
    await w.deliver(list(reversed(held)))
    await w.deliver(held, again=True)  # past the broker's duplicate window
    await a.synced()
    row = await _row(a, Post, post_id=post)
    assert (row.kind, row.status, row.max_points, row.attempts) == ("quiz", "published", 4, 3)
    assert row.due_at == due
    assert row.answer_key == [1, 1]
    assert (row.question_count, row.choice_counts) == (2, [3, 3])
    assert row.module_id == module
    assert row.deleted is False


async def test_deletions_leave_tombstones_that_stale_events_do_not_revive(
    shared_assessment: Assessment,
) -> None:
    a = shared_assessment
    w = a.world
    course = await w.course()
    module = await w.module()
    post = await w.post(module, "assignment")
    await w.update_post(post, title="edited", hold=True)
    stale_edit = w.take_held()
    await w.delete_post(post)
    await w.deliver(stale_edit)  # sequence 2 after the deletion's 3: skipped
    await w.attach(course, module, hold=True)
    late_attach = w.take_held()
    await w.delete_course(course)
    await w.deliver(late_attach)  # an outline event after the course's deletion: ignored
    await w.delete_module(module)
    await a.synced()
    row = await _row(a, Post, post_id=post)
    assert (row.deleted, row.title, row.kind, row.max_points) == (True, "", "", None)
    assert (await _row(a, Course, course_id=course)).deleted is True
    assert (await _row(a, Module, module_id=module)).deleted is True
    async with a.runtime.db.transaction() as session:
        outline = await session.scalars(
            select(CourseModule).where(CourseModule.course_id == course)  # type: ignore[arg-type]
        )
        assert outline.all() == []


async def test_enrollments_follow_their_newest_status(shared_assessment: Assessment) -> None:
    a = shared_assessment
    w = a.world
    course = await w.course()
    user = uuid.uuid4()
    enrollment = await w.enroll(user, course, hold=True)
    await w.drop(enrollment, hold=True)
    created, dropped = w.take_held()
    await w.deliver([dropped, created])  # the drop first: the create is stale
    await a.synced()
    assert (await _row(a, Enrollment, enrollment_id=enrollment)).status == "dropped"
    await w.reenroll(enrollment)
    await a.synced()
    assert (await _row(a, Enrollment, enrollment_id=enrollment)).status == "active"
    await w.complete_course(enrollment)
    await a.synced()
    row = await _row(a, Enrollment, enrollment_id=enrollment)
    assert (row.status, row.user_id, row.course_id) == ("completed", user, course)


async def test_a_deleted_module_takes_its_posts_out_of_the_grades(
    shared_assessment: Assessment,
) -> None:
    a = shared_assessment
    s = await a.setup()
    await a.submitted(s.quiz, s.student, {"answers": [1, 0, 2]})
    extra = await a.world.module()
    await a.world.attach(s.course_id, extra)
    other = await a.world.post(extra, "assignment", max_points=5)
    await a.world.delete_module(s.module_id)
    await a.synced()
    r = await a.client.get(
        f"{API}/me/courses/{s.course_id}/grades", headers=a.as_("student", s.student)
    )
    assert [p["post_id"] for p in r.json()["posts"]] == [str(other)]
    assert (r.json()["earned"], r.json()["possible"]) == (0, 5)


# ---------------------------------------------------------------- replay


async def _messy_world(w: World) -> None:
    rng = random.Random(7)
    course = await w.course(hold=True)
    modules = [await w.module(hold=True) for _ in range(3)]
    for m in modules:
        await w.attach(course, m, hold=True)
    posts = [await w.post(m, kind, hold=True) for m in modules for kind in ("quiz", "assignment")]
    await w.update_post(posts[0], attempts=2, hold=True)
    await w.delete_post(posts[1], hold=True)
    await w.reorder_modules(course, list(reversed(modules)), hold=True)
    await w.reorder_posts(modules[2], list(reversed(w.module_posts[modules[2]])), hold=True)
    draft = await w.course(status="draft", hold=True)
    await w.attach(draft, modules[0], hold=True)
    await w.delete_course(draft, hold=True)
    students = [uuid.uuid4() for _ in range(3)]
    for student in students:
        enrollment = await w.enroll(student, course, hold=True)
    await w.drop(enrollment, hold=True)
    # Users' names (issue 25): registered, one renamed, one deleted (with its enrollment).
    for i, student in enumerate(students):
        await w.register_user(student, f"s{i}", f"Student {i}", hold=True)
    await w.rename_user(students[1], "s1", "Renamed 1", hold=True)
    await w.delete_user(students[2], hold=True)
    held = w.take_held()
    rng.shuffle(held)
    await w.deliver(held)
    await w.deliver(held[: len(held) // 2], again=True)


async def test_replay_into_an_empty_projection_equals_the_live_one(
    assessment: Assessment, databases: Databases, nats_url: str, tokens: TokenFactory
) -> None:
    a = assessment
    await _messy_world(a.world)
    await a.synced()
    live = await a.projection()
    assert all(live.values()), live

    settings = assessment_settings(
        await databases.create(MIGRATIONS), nats_url, a.settings.event_namespace, tokens
    )
    rt = SERVICE.runtime(settings)
    rt.nats.start()
    assert SERVICE.projection is not None
    try:
        counts = await replay(rt, SERVICE.projection)
        rebuilt = await a.projection(rt)
    finally:
        await rt.nats.close()
        await rt.db.dispose()
    assert rebuilt == live
    assert counts["catalog"] and counts["content"] and counts["progress"] and counts["identity"]
    assert sorted(row[1:] for row in rebuilt["users"]) == [
        ("s0", "Student 0"),
        ("s1", "Renamed 1"),
    ]


async def test_replay_in_place_keeps_submissions(assessment: Assessment) -> None:
    a = assessment
    s = await a.setup()
    sub = await a.submitted(s.quiz, s.student, {"answers": [1, 0, 2]})
    mine = f"{API}/me/courses/{s.course_id}/grades"
    headers = a.as_("student", s.student)
    before, doc = await a.projection(), (await a.client.get(mine, headers=headers)).json()
    assert SERVICE.projection is not None
    await replay(a.runtime, SERVICE.projection)  # while the service runs
    assert await a.projection() == before
    assert (await a.client.get(mine, headers=headers)).json() == doc
    r = await a.client.get(f"{API}/submissions/{sub['id']}", headers=headers)
    assert r.json() == sub


async def test_the_command_line_migrates_and_replays(
    assessment: Assessment, databases: Databases, nats_url: str, tokens: TokenFactory
) -> None:
    a = assessment
    await _messy_world(a.world)
    await a.synced()
    live = await a.projection()
    url = await databases.create_empty("assessment_cli")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "NATS_URL": nats_url,
        "EVENT_NAMESPACE": a.settings.event_namespace,
        "SERVICE_ENV": "test",
        "LOG_JSON": "false",
        "PYTHONPATH": os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])),
    }
    for command in ("migrate", "replay"):
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "syllabus_assessment", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
    rt = SERVICE.runtime(assessment_settings(url, nats_url, a.settings.event_namespace, tokens))
    try:
        assert await a.projection(rt) == live
    finally:
        await rt.db.dispose()

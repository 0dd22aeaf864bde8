"""Due overrides per group and per student (docs/dates.md): who may set them (the post's
graders), on which posts (gradable ones), for whom (a student enrolled in a course
containing the post, a group such a course follows: progress's events, fed through
content's real consumer), and their events, whose versions go on across removal and
setting again."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from syllabus_content.models import GROUPS, Enrollment
from syllabus_devkit.testing.asserts import assert_problem, eventually
from syllabus_shared.contracts import Envelope
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as pe

from conftest import API, CONTENT_OF_EACH_KIND, QUIZ, TEXT, Content

LAG = 15.0  # generous: event lag on a loaded machine (checks return as soon as they hold)
SET = "syllabus.content.DueOverrideSet.v1"
REMOVED = "syllabus.content.DueOverrideRemoved.v1"
WHEN = "2031-02-03T04:05:06Z"
ASSIGNMENT = CONTENT_OF_EACH_KIND["assignment"]


async def _settles(probe: Any, done: Any) -> None:
    assert done(await eventually(probe, done, timeout=LAG))


def _enrollment_id(user_id: uuid.UUID, course_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{user_id}:{course_id}")


async def _enrollment_status(
    content: Content, user_id: uuid.UUID, course_id: uuid.UUID
) -> str | None:
    async with content.runtime.db.transaction() as session:
        row = await session.get(Enrollment, _enrollment_id(user_id, course_id))
        return None if row is None else row.status


async def enroll(
    content: Content,
    user_id: uuid.UUID,
    course_id: uuid.UUID,
    status: str = "active",
    sequence: int = 1,
) -> None:
    """Progress's event for the student's enrollment (one id per pair), once applied."""
    fields: dict[str, Any] = {
        "enrollment_id": _enrollment_id(user_id, course_id),
        "user_id": user_id,
        "course_id": course_id,
        "status": status,
    }
    now = dt.datetime.now(dt.UTC)
    if status == "active":
        event: pe.EnrollmentEvent = pe.EnrollmentCreated(**fields, enrolled_at=now)
    elif status == "completed":
        event = pe.CourseCompleted(**fields, completed_at=now)
    else:
        event = pe.EnrollmentDropped(**fields)
    await content.publish(event, sequence)
    await _settles(lambda: _enrollment_status(content, user_id, course_id), lambda s: s == status)


async def _follows(content: Content, course_id: uuid.UUID, group_id: uuid.UUID) -> bool:
    follows = GROUPS.follows
    assert follows is not None
    async with content.runtime.db.transaction() as session:
        found = await session.scalar(
            select(follows.c.group_id).where(
                follows.c.course_id == course_id, follows.c.group_id == group_id
            )
        )
        return found is not None


async def follow(
    content: Content,
    course_id: uuid.UUID,
    group_id: uuid.UUID,
    *,
    following: bool = True,
    sequence: int = 1,
) -> None:
    fields: dict[str, Any] = {
        "follow_id": pe.follow_id(course_id, group_id),
        "course_id": course_id,
        "group_id": group_id,
    }
    now = dt.datetime.now(dt.UTC)
    event: pe.CourseGroupEvent = (
        pe.CourseGroupFollowed(**fields, followed_at=now)
        if following
        else pe.CourseGroupUnfollowed(**fields, unfollowed_at=now)
    )
    await content.publish(event, sequence)
    await _settles(lambda: _follows(content, course_id, group_id), lambda f: f == following)


def _path(post_id: str, kind: str = "", target: object = "") -> str:
    base = f"{API}/posts/{post_id}/overrides"
    return f"{base}/{kind}/{target}" if kind else base


async def _events(content: Content, post_id: str) -> list[Envelope]:
    return [
        e
        for e in await content.outbox()
        if e.type in (SET, REMOVED) and e.data["post_id"] == post_id
    ]


async def _world(content: Content) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, dict[str, Any]]:
    """A module's owner, the module, a published course (another owner's) using it, and a
    published assignment in it."""
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    course_id = await content.course(uuid.uuid4(), [module_id])
    post = await content.post(module_id, owner, ASSIGNMENT, status="published")
    return owner, module_id, course_id, post


async def test_a_students_override_set_replaced_removed_and_set_again(content: Content) -> None:
    owner, _, course_id, post = await _world(content)
    me = content.as_("instructor", owner)
    student = uuid.uuid4()
    path = _path(post["id"], "users", student)
    problem = assert_problem(
        await content.client.put(path, json={"due_at": WHEN}, headers=me), 422, "path.id"
    )
    assert "enrolled in no course" in problem["detail"]
    await enroll(content, student, course_id)

    r = await content.client.put(path, json={"due_at": "2031-02-03T05:05:06+01:00"}, headers=me)
    assert r.status_code == 201, r.text
    body = r.json()
    override_id = str(ce.override_id(uuid.UUID(post["id"]), uuid.UUID(post["id"]), "user", student))
    assert body["id"] == override_id
    assert body["post_id"] == post["id"] and body["kind"] == "user"
    assert body["target_id"] == str(student) and body["version"] == 1
    assert dt.datetime.fromisoformat(body["due_at"]) == dt.datetime(
        2031, 2, 3, 4, 5, 6, tzinfo=dt.UTC
    )
    r = await content.client.put(path, json={"due_at": WHEN}, headers=me)
    assert r.status_code == 200 and r.json()["version"] == 1, r.text  # unchanged: no event
    r = await content.client.put(path, json={"due_at": "2031-03-01T00:00:00Z"}, headers=me)
    assert r.status_code == 200 and r.json()["version"] == 2, r.text
    assert (await content.client.delete(path, headers=me)).status_code == 204
    assert_problem(await content.client.delete(path, headers=me), 404)
    r = await content.client.get(_path(post["id"]), headers=me)
    assert r.status_code == 200 and r.json() == []
    r = await content.client.put(path, json={"due_at": WHEN}, headers=me)
    assert r.status_code == 201 and r.json()["version"] == 4, r.text

    events = await _events(content, post["id"])
    assert [(e.type, e.sequence) for e in events] == [(SET, 1), (SET, 2), (REMOVED, 3), (SET, 4)]
    assert events[0].data == {
        "override_id": override_id,
        "post_id": post["id"],
        "kind": "user",
        "target_id": str(student),
        "due_at": "2031-02-03T04:05:06Z",
    }
    assert "due_at" not in events[2].data
    assert {e.subject for e in events} == {override_id}


async def test_who_the_student_must_be(content: Content) -> None:
    owner, module_id, course_id, post = await _world(content)
    me = content.as_("instructor", owner)
    finished, dropped, elsewhere = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await enroll(content, finished, course_id)
    await enroll(content, finished, course_id, "completed", 2)
    await enroll(content, dropped, course_id)
    await enroll(content, dropped, course_id, "dropped", 2)
    other_course = await content.course(owner, [await content.module(owner)])
    await enroll(content, elsewhere, other_course)
    r = await content.client.put(
        _path(post["id"], "users", finished), json={"due_at": WHEN}, headers=me
    )
    assert r.status_code == 201, r.text
    for student in (dropped, elsewhere):
        assert_problem(
            await content.client.put(
                _path(post["id"], "users", student), json={"due_at": WHEN}, headers=me
            ),
            422,
            "path.id",
        )
    # A student of a second course using the module counts too.
    second = await content.course(uuid.uuid4(), [module_id])
    await enroll(content, elsewhere, second)
    r = await content.client.put(
        _path(post["id"], "users", elsewhere), json={"due_at": WHEN}, headers=me
    )
    assert r.status_code == 201, r.text
    # A deleted account's enrollments go with it.
    gone = uuid.uuid4()
    await enroll(content, gone, course_id)
    await content.publish(ie.UserDeleted(user_id=gone, deleted_at=dt.datetime.now(dt.UTC)), 2)
    await _settles(lambda: _enrollment_status(content, gone, course_id), lambda s: s is None)
    assert_problem(
        await content.client.put(
            _path(post["id"], "users", gone), json={"due_at": WHEN}, headers=me
        ),
        422,
    )


async def test_group_overrides_need_a_course_with_the_post_to_follow_the_group(
    content: Content,
) -> None:
    owner, _, course_id, post = await _world(content)
    me = content.as_("instructor", owner)
    group, unrelated, left = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    path = _path(post["id"], "groups", group)
    problem = assert_problem(
        await content.client.put(path, json={"due_at": WHEN}, headers=me), 422, "path.id"
    )
    assert "followed by no course" in problem["detail"]
    await follow(content, course_id, group)
    r = await content.client.put(path, json={"due_at": WHEN}, headers=me)
    assert r.status_code == 201 and r.json()["kind"] == "group", r.text
    # A group followed only by a course without the post; one no longer followed.
    other_course = await content.course(owner, [await content.module(owner)])
    await follow(content, other_course, unrelated)
    await follow(content, course_id, left)
    await follow(content, course_id, left, following=False, sequence=2)
    for target in (unrelated, left):
        assert_problem(
            await content.client.put(
                _path(post["id"], "groups", target), json={"due_at": WHEN}, headers=me
            ),
            422,
        )
    # Each override listed on its own, groups first.
    student = uuid.uuid4()
    await enroll(content, student, course_id)
    r = await content.client.put(
        _path(post["id"], "users", student), json={"due_at": "2030-01-01T00:00:00Z"}, headers=me
    )
    assert r.status_code == 201, r.text
    listed = (await content.client.get(_path(post["id"]), headers=me)).json()
    assert [(o["kind"], o["target_id"]) for o in listed] == [
        ("group", str(group)),
        ("user", str(student)),
    ]


async def test_the_posts_graders_may_and_nobody_else(content: Content) -> None:
    owner, module_id, course_id, post = await _world(content)
    course = await content.known_course(course_id)
    assert course is not None and course.creator_id is not None
    course_owner = course.creator_id
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    await enroll(content, mine, course_id)
    # The same module in another owner's course, with its own student.
    other_course = await content.course(uuid.uuid4(), [module_id])
    await enroll(content, theirs, other_course)
    body = {"due_at": WHEN}

    # The owner of a course containing the post grades it: their students, not others'.
    as_course_owner = content.as_("instructor", course_owner)
    r = await content.client.put(
        _path(post["id"], "users", mine), json=body, headers=as_course_owner
    )
    assert r.status_code == 201, r.text
    problem = assert_problem(
        await content.client.put(
            _path(post["id"], "users", theirs), json=body, headers=as_course_owner
        ),
        422,
    )
    assert "that you own" in problem["detail"]
    r = await content.client.get(_path(post["id"]), headers=as_course_owner)
    assert r.status_code == 200 and len(r.json()) == 1
    # The module's owner and admins: anyone in any course containing it.
    r = await content.client.put(
        _path(post["id"], "users", theirs), json=body, headers=content.as_("admin")
    )
    assert r.status_code == 201, r.text
    r = await content.client.delete(
        _path(post["id"], "users", theirs), headers=content.as_("instructor", owner)
    )
    assert r.status_code == 204, r.text

    # Others: 403 where they see the post, 404 where they do not; a student 403; a guest 401.
    stranger = content.as_("instructor")
    path = _path(post["id"], "users", mine)
    for headers in (stranger, content.as_("student", mine)):
        assert_problem(await content.client.put(path, json=body, headers=headers), 403)
        assert_problem(await content.client.get(_path(post["id"]), headers=headers), 403)
        assert_problem(await content.client.delete(path, headers=headers), 403)
    assert_problem(await content.client.put(path, json=body), 401)
    draft = await content.post(module_id, owner, QUIZ)  # a draft: not visible to them
    assert_problem(
        await content.client.put(_path(draft["id"], "users", mine), json=body, headers=stranger),
        404,
    )
    # A draft post's graders may give it dates already.
    r = await content.client.put(
        _path(draft["id"], "users", mine), json=body, headers=as_course_owner
    )
    assert r.status_code == 201, r.text


async def test_bad_posts_paths_and_bodies(content: Content) -> None:
    owner, module_id, course_id, post = await _world(content)
    me = content.as_("instructor", owner)
    student = uuid.uuid4()
    await enroll(content, student, course_id)
    good = {"due_at": WHEN}
    # Only gradable posts have due dates.
    for kind in ("text", "video", "link"):
        other = await content.post(module_id, owner, CONTENT_OF_EACH_KIND[kind])
        problem = assert_problem(
            await content.client.put(_path(other["id"], "users", student), json=good, headers=me),
            422,
            "path.post_id",
        )
        assert "only assignments and quizzes" in problem["detail"]
    quiz = await content.post(module_id, owner, QUIZ)
    r = await content.client.put(_path(quiz["id"], "users", student), json=good, headers=me)
    assert r.status_code == 201, r.text
    # No such post; no such collection (whatever the method).
    assert_problem(
        await content.client.put(_path(str(uuid.uuid4()), "users", student), json=good, headers=me),
        404,
    )
    for kind in ("teams", "user"):
        assert_problem(
            await content.client.put(_path(post["id"], kind, student), json=good, headers=me), 404
        )
        assert_problem(
            await content.client.delete(_path(post["id"], kind, student), headers=me), 404
        )
    path = _path(post["id"], "users", student)
    for bad in (
        {"due_at": "2031-02-03T04:05:06"},
        {"due_at": "soon"},
        {"due_at": 1_900_000_000},
        {"due_at": None},
        {},
        {"due_at": WHEN, "unlock_at": WHEN},
        {"due_at": "0001-01-01T00:00:00+01:00"},
    ):
        assert_problem(await content.client.put(path, json=bad, headers=me), 422)
    assert_problem(
        await content.client.put(_path(post["id"], "users", "nope"), json=good, headers=me),
        422,
        "path.id",
    )
    assert await _events(content, post["id"]) == []


async def test_deleting_the_post_or_its_module_removes_its_overrides(content: Content) -> None:
    owner, module_id, course_id, post = await _world(content)
    me = content.as_("instructor", owner)
    students = [uuid.uuid4() for _ in range(3)]
    for student in students:
        await enroll(content, student, course_id)
        r = await content.client.put(
            _path(post["id"], "users", student), json={"due_at": WHEN}, headers=me
        )
        assert r.status_code == 201, r.text
    r = await content.client.delete(f"{API}/posts/{post['id']}", headers=me)
    assert r.status_code == 204, r.text
    removed = [e for e in await _events(content, post["id"]) if e.type == REMOVED]
    assert sorted(e.data["target_id"] for e in removed) == sorted(map(str, students))
    assert {e.sequence for e in removed} == {2}

    # The module deleted in catalog: its posts go, and their overrides with them.
    quiz = await content.post(module_id, owner, QUIZ, status="published")
    text = await content.post(module_id, owner, TEXT)
    r = await content.client.put(
        _path(quiz["id"], "users", students[0]), json={"due_at": WHEN}, headers=me
    )
    assert r.status_code == 201, r.text
    await content.publish(ce.ModuleDeleted(module_id=module_id), 2)

    async def quiz_removed() -> list[tuple[str, int]]:
        return [(e.type, e.sequence) for e in await _events(content, quiz["id"])]

    await _settles(quiz_removed, lambda events: events == [(SET, 1), (REMOVED, 2)])
    assert await _events(content, text["id"]) == []


async def test_a_deleted_students_own_overrides_go(content: Content) -> None:
    owner, _, course_id, post = await _world(content)
    me = content.as_("instructor", owner)
    student, group = uuid.uuid4(), uuid.uuid4()
    await enroll(content, student, course_id)
    await follow(content, course_id, group)
    for kind, target in (("users", student), ("groups", group)):
        r = await content.client.put(
            _path(post["id"], kind, target), json={"due_at": WHEN}, headers=me
        )
        assert r.status_code == 201, r.text
    await content.publish(ie.UserDeleted(user_id=student, deleted_at=dt.datetime.now(dt.UTC)), 2)

    async def listed() -> list[str]:
        r = await content.client.get(_path(post["id"]), headers=me)
        return [o["kind"] for o in r.json()]

    await _settles(listed, lambda kinds: kinds == ["group"])
    # No event for it (consumers apply UserDeleted themselves), and none can be set again.
    assert [e.type for e in await _events(content, post["id"])] == [SET, SET]
    assert_problem(
        await content.client.put(
            _path(post["id"], "users", student), json={"due_at": WHEN}, headers=me
        ),
        422,
    )

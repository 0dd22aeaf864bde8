"""Groups and dates per group or per student (issue 26), fed through the real consumers:
identity's groups and memberships, progress's follows, content's due overrides.

- A student's due date for a post: their own override (even when stricter), else the
  latest among the overrides of their groups that follow a course containing the post
  (even when stricter than the post's), else the post's; ``late`` is judged against it
  and kept on the submission with it (``due_at``), whatever happens to groups later.
- The gradebook (JSON and CSV) and the grading queue filtered by a group's current members.
- A deleted account's memberships and own dates go; a replay keeps groups and dates.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import Any

from sqlalchemy import func, select
from syllabus_assessment.main import SERVICE
from syllabus_assessment.models import GROUPS, DueOverride
from syllabus_devkit.testing.asserts import assert_problem
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import content as pe
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as pr
from syllabus_shared.ids import new_id
from syllabus_shared.messaging.replay import replay

from conftest import API, Assessment, Setup, World

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
PAST = NOW - dt.timedelta(days=2)
FUTURE = NOW + dt.timedelta(days=30)
ESSAY = {"body": "my essay"}


# ---------------------------------------------------------------- identity, progress, content


async def _group(w: World, name: str | None = None) -> uuid.UUID:
    group_id = new_id()
    await w.emit(
        ie.GroupCreated(
            group_id=group_id, group_name=name or f"Group {group_id.hex[-6:]}", creator_id=None
        )
    )
    return group_id


async def _delete_group(w: World, group_id: uuid.UUID) -> None:
    await w.emit(ie.GroupDeleted(group_id=group_id, deleted_at=dt.datetime.now(dt.UTC)))


async def _join(w: World, group_id: uuid.UUID, *users: uuid.UUID) -> None:
    for user_id in users:
        await w.emit(
            ie.GroupMemberAdded(
                membership_id=ie.membership_id(group_id, user_id),
                group_id=group_id,
                user_id=user_id,
                added_at=dt.datetime.now(dt.UTC),
            )
        )


async def _leave(w: World, group_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await w.emit(
        ie.GroupMemberRemoved(
            membership_id=ie.membership_id(group_id, user_id),
            group_id=group_id,
            user_id=user_id,
            removed_at=dt.datetime.now(dt.UTC),
        )
    )


async def _follow(w: World, course_id: uuid.UUID, group_id: uuid.UUID) -> None:
    await w.emit(
        pr.CourseGroupFollowed(
            follow_id=pr.follow_id(course_id, group_id),
            course_id=course_id,
            group_id=group_id,
            followed_at=dt.datetime.now(dt.UTC),
        )
    )


async def _unfollow(w: World, course_id: uuid.UUID, group_id: uuid.UUID) -> None:
    await w.emit(
        pr.CourseGroupUnfollowed(
            follow_id=pr.follow_id(course_id, group_id),
            course_id=course_id,
            group_id=group_id,
            unfollowed_at=dt.datetime.now(dt.UTC),
        )
    )


def _override_id(post_id: uuid.UUID, kind: ce.OverrideKind, target_id: uuid.UUID) -> uuid.UUID:
    return ce.override_id(post_id, post_id, kind, target_id)


async def _due(
    w: World, post_id: uuid.UUID, kind: ce.OverrideKind, target_id: uuid.UUID, due_at: dt.datetime
) -> None:
    await w.emit(
        pe.DueOverrideSet(
            override_id=_override_id(post_id, kind, target_id),
            post_id=post_id,
            kind=kind,
            target_id=target_id,
            due_at=due_at,
        )
    )


async def _undue(w: World, post_id: uuid.UUID, kind: ce.OverrideKind, target_id: uuid.UUID) -> None:
    await w.emit(
        pe.DueOverrideRemoved(
            override_id=_override_id(post_id, kind, target_id),
            post_id=post_id,
            kind=kind,
            target_id=target_id,
        )
    )


# ---------------------------------------------------------------- reads


def _at(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


async def _enrolled(a: Assessment, s: Setup) -> uuid.UUID:
    student: uuid.UUID = a.student()[0]
    await a.world.enroll(student, s.course_id)
    return student


async def _my_due(a: Assessment, s: Setup, student: uuid.UUID) -> dict[uuid.UUID, Any]:
    r = await a.client.get(
        f"{API}/me/courses/{s.course_id}/grades", headers=a.as_("student", student)
    )
    assert r.status_code == 200, r.text
    return {uuid.UUID(p["post_id"]): p for p in r.json()["posts"]}


async def _book(a: Assessment, course_id: uuid.UUID, **params: Any) -> list[str]:
    r = await a.client.get(
        f"{API}/courses/{course_id}/grades", params=params, headers=a.as_("admin")
    )
    assert r.status_code == 200, r.text
    return [row["user_id"] for row in r.json()["items"]]


async def _csv(a: Assessment, course_id: uuid.UUID, **params: Any) -> list[list[str]]:
    r = await a.client.get(
        f"{API}/courses/{course_id}/grades",
        params=params,
        headers={**a.as_("admin"), "Accept": "text/csv"},
    )
    assert r.status_code == 200, r.text
    return list(csv.reader(io.StringIO(r.text)))


# ---------------------------------------------------------------- a student's own date


async def test_a_students_own_date_wins_even_when_stricter(shared_assessment: Assessment) -> None:
    a, w = shared_assessment, shared_assessment.world
    s = await a.setup(due_at=FUTURE)  # the assignment: due in a month
    stricter = await _enrolled(a, s)
    lenient = await _enrolled(a, s)
    group = await _group(w)
    await _follow(w, s.course_id, group)
    await _join(w, group, stricter, lenient)
    await _due(w, s.assignment, "group", group, FUTURE + dt.timedelta(days=10))
    # Stricter than the post's date and than the group's: still theirs.
    await _due(w, s.assignment, "user", stricter, PAST)
    await a.synced()

    doc = await a.submitted(s.assignment, stricter, ESSAY)
    assert (doc["late"], _at(doc["due_at"])) == (True, PAST)
    assert _at((await _my_due(a, s, stricter))[s.assignment]["due_at"]) == PAST

    # More lenient than a post already past due.
    await w.update_post(s.assignment, due_at=PAST)
    await _due(w, s.assignment, "user", lenient, FUTURE)
    await a.synced()
    doc = await a.submitted(s.assignment, lenient, ESSAY)
    assert (doc["late"], _at(doc["due_at"])) == (False, FUTURE)
    mine = await _my_due(a, s, lenient)
    assert _at(mine[s.assignment]["due_at"]) == FUTURE
    assert mine[s.assignment]["late"] is False
    # The quiz has no date at all, and no override: null.
    assert mine[s.quiz]["due_at"] is None

    # The override removed: the group's date applies again.
    await _undue(w, s.assignment, "user", lenient)
    await a.synced()
    mine = await _my_due(a, s, lenient)
    assert _at(mine[s.assignment]["due_at"]) == FUTURE + dt.timedelta(days=10)
    # What the submission was judged by stays (read back as it was made).
    r = await a.client.get(f"{API}/submissions/{doc['id']}", headers=a.as_("student", lenient))
    assert (r.json()["late"], _at(r.json()["due_at"])) == (False, FUTURE)


# ---------------------------------------------------------------- groups' dates


async def test_the_latest_date_among_followed_groups(shared_assessment: Assessment) -> None:
    a, w = shared_assessment, shared_assessment.world
    s = await a.setup(due_at=FUTURE)
    elsewhere = await w.course()  # a course without the post's module
    strict, stricter, unrelated = [await _group(w) for _ in range(3)]
    for group in (strict, stricter):
        await _follow(w, s.course_id, group)
    await _follow(w, elsewhere, unrelated)
    await _due(w, s.assignment, "group", strict, NOW - dt.timedelta(hours=1))
    await _due(w, s.assignment, "group", stricter, NOW - dt.timedelta(hours=5))
    # The most lenient, but its group follows no course containing the post: ignored.
    await _due(w, s.assignment, "group", unrelated, FUTURE + dt.timedelta(days=5))
    everywhere, leaving, nowhere = [await _enrolled(a, s) for _ in range(3)]
    await _join(w, strict, everywhere, leaving)
    await _join(w, stricter, everywhere, leaving)
    await _join(w, unrelated, everywhere)
    await _leave(w, strict, leaving)  # a removed membership stops applying
    await a.synced()

    doc = await a.submitted(s.assignment, everywhere, ESSAY)
    # The latest of the followed groups' dates, even when stricter than the post's.
    assert (doc["late"], _at(doc["due_at"])) == (True, NOW - dt.timedelta(hours=1))
    doc = await a.submitted(s.assignment, leaving, ESSAY)
    assert (doc["late"], _at(doc["due_at"])) == (True, NOW - dt.timedelta(hours=5))
    doc = await a.submitted(s.assignment, nowhere, ESSAY)
    assert (doc["late"], _at(doc["due_at"])) == (False, FUTURE)

    # The unrelated group's course gains the post's module: its date now counts.
    await w.attach(elsewhere, s.module_id)
    await a.synced()
    mine = await _my_due(a, s, everywhere)
    assert _at(mine[s.assignment]["due_at"]) == FUTURE + dt.timedelta(days=5)
    # A group unfollowed or deleted stops counting.
    await _unfollow(w, elsewhere, unrelated)
    await _delete_group(w, strict)
    await a.synced()
    mine = await _my_due(a, s, everywhere)
    assert _at(mine[s.assignment]["due_at"]) == NOW - dt.timedelta(hours=5)


async def test_late_is_kept_after_the_student_leaves_the_group(
    shared_assessment: Assessment,
) -> None:
    a, w = shared_assessment, shared_assessment.world
    s = await a.setup(due_at=PAST)
    group = await _group(w)
    await _follow(w, s.course_id, group)
    await _join(w, group, s.student)
    await _due(w, s.assignment, "group", group, FUTURE)
    await a.synced()
    first = await a.submitted(s.assignment, s.student, ESSAY)
    assert (first["late"], _at(first["due_at"])) == (False, FUTURE)

    await _leave(w, group, s.student)
    await a.synced()
    mine = await _my_due(a, s, s.student)
    assert _at(mine[s.assignment]["due_at"]) == PAST  # their date now: the post's
    assert mine[s.assignment]["late"] is False  # the latest attempt was on time
    r = await a.client.get(f"{API}/submissions/{first['id']}", headers=a.as_("student", s.student))
    assert r.json() == first
    second = await a.submitted(s.assignment, s.student, ESSAY)
    assert (second["late"], _at(second["due_at"])) == (True, PAST)
    r = await a.client.get(
        f"{API}/posts/{s.assignment}/submissions", headers=a.as_("instructor", s.module_owner)
    )
    assert {(i["id"], i["late"]) for i in r.json()["items"]} == {
        (first["id"], False),
        (second["id"], True),
    }


# ---------------------------------------------------------------- filters


async def test_the_gradebook_and_queue_filtered_by_group(shared_assessment: Assessment) -> None:
    a, w = shared_assessment, shared_assessment.world
    s = await a.setup()
    second, third = await _enrolled(a, s), await _enrolled(a, s)
    outsider, _ = a.student()  # a member, not enrolled: not listed
    group = await _group(w)
    await _join(w, group, s.student, third, outsider)
    empty = await _group(w)
    for user_id, name in ((s.student, "ann"), (second, "bob"), (third, "cy")):
        await w.register_user(user_id, name)
    await a.synced()
    for student in (s.student, second, third):
        await a.submitted(s.assignment, student, ESSAY)

    members = sorted([str(s.student), str(third)])
    assert await _book(a, s.course_id, group_id=str(group)) == members
    assert len(await _book(a, s.course_id)) == 3
    assert await _book(a, s.course_id, group_id=str(empty)) == []
    # Paged like the whole gradebook.
    r = await a.client.get(
        f"{API}/courses/{s.course_id}/grades",
        params={"group_id": str(group), "limit": 1},
        headers=a.as_("admin"),
    )
    page = r.json()
    assert [i["user_id"] for i in page["items"]] == members[:1]
    r = await a.client.get(
        f"{API}/courses/{s.course_id}/grades",
        params={"group_id": str(group), "limit": 1, "cursor": page["next_cursor"]},
        headers=a.as_("admin"),
    )
    assert [i["user_id"] for i in r.json()["items"]] == members[1:]
    assert r.json()["next_cursor"] is None

    rows = await _csv(a, s.course_id, group_id=str(group))
    assert rows[0][:3] == ["user_id", "username", "display_name"]
    assert [row[0] for row in rows[1:]] == members
    assert len(await _csv(a, s.course_id)) == 1 + 3

    queue = f"{API}/courses/{s.course_id}/submissions"
    r = await a.client.get(queue, params={"group_id": str(group)}, headers=a.as_("admin"))
    assert r.status_code == 200, r.text
    assert sorted(i["user_id"] for i in r.json()["items"]) == members

    # Memberships as they are now.
    await _leave(w, group, third)
    await a.synced()
    assert await _book(a, s.course_id, group_id=str(group)) == [str(s.student)]
    assert [row[0] for row in (await _csv(a, s.course_id, group_id=str(group)))[1:]] == [
        str(s.student)
    ]

    # Bad and unknown groups.
    book = f"{API}/courses/{s.course_id}/grades"
    assert_problem(
        await a.client.get(book, params={"group_id": "nope"}, headers=a.as_("admin")), 422
    )
    csv_headers = {**a.as_("admin"), "Accept": "text/csv"}
    unknown = {"group_id": str(uuid.uuid4())}  # not minted moments ago: 404 at once
    assert_problem(await a.client.get(book, params=unknown, headers=a.as_("admin")), 404)
    assert_problem(await a.client.get(book, params=unknown, headers=csv_headers), 404)
    assert_problem(await a.client.get(queue, params=unknown, headers=a.as_("admin")), 404)
    await _delete_group(w, group)
    await a.synced()
    r = await a.client.get(book, params={"group_id": str(group)}, headers=a.as_("admin"))
    assert_problem(r, 404)
    assert r.json()["detail"] == "group not found"
    # The course's access rules come first: a student learns nothing about groups.
    assert_problem(
        await a.client.get(
            book, params={"group_id": str(empty)}, headers=a.as_("student", s.student)
        ),
        403,
    )


async def test_a_group_created_a_moment_ago_is_waited_for(shared_assessment: Assessment) -> None:
    a, w = shared_assessment, shared_assessment.world
    s = await a.setup()
    group_id = new_id()
    created = ie.GroupCreated(group_id=group_id, group_name="late", creator_id=None)
    await w.emit(created, hold=True)
    await _join(w, group_id, s.student)  # delivered before the group: kept all the same
    # Minted moments ago and not known yet: not a 404 but a wait, then 503.
    r = await a.client.get(
        f"{API}/courses/{s.course_id}/grades",
        params={"group_id": str(group_id)},
        headers=a.as_("admin"),
    )
    assert_problem(r, 503)
    await w.deliver(w.take_held())
    await a.synced()
    assert await _book(a, s.course_id, group_id=str(group_id)) == [str(s.student)]


# ---------------------------------------------------------------- deleted accounts, replay


async def _count(a: Assessment, user_id: uuid.UUID) -> tuple[int, int]:
    members, overrides = GROUPS.members, DueOverride.__table__  # type: ignore[attr-defined]
    async with a.runtime.db.transaction() as session:
        m = await session.scalar(
            select(func.count()).select_from(members).where(members.c.user_id == user_id)
        )
        o = await session.scalar(
            select(func.count()).select_from(overrides).where(overrides.c.target_id == user_id)
        )
    return int(m or 0), int(o or 0)


async def test_a_deleted_account_leaves_its_groups_and_dates(
    shared_assessment: Assessment,
) -> None:
    a, w = shared_assessment, shared_assessment.world
    s = await a.setup()
    group = await _group(w)
    await _join(w, group, s.student)
    await _due(w, s.assignment, "user", s.student, FUTURE)
    await a.synced()
    assert await _count(a, s.student) == (1, 1)
    await w.delete_user(s.student)
    await a.synced()
    assert await _count(a, s.student) == (0, 0)
    # Late events about the deleted account write nothing.
    await _due(w, s.quiz, "user", s.student, FUTURE)
    await _join(w, await _group(w), s.student)
    await a.synced()
    assert await _count(a, s.student) == (0, 0)


async def test_a_replay_keeps_groups_and_dates(assessment: Assessment) -> None:
    a, w = assessment, assessment.world
    s = await a.setup(due_at=PAST)
    group = await _group(w)
    await _follow(w, s.course_id, group)
    await _join(w, group, s.student)
    await _due(w, s.assignment, "group", group, FUTURE)
    await a.synced()
    before = await _my_due(a, s, s.student)
    assert _at(before[s.assignment]["due_at"]) == FUTURE
    assert SERVICE.projection is not None
    counts = await replay(a.runtime, SERVICE.projection)
    assert counts.get("stale", 0) >= 4  # the group, membership, follow, override events
    assert await _my_due(a, s, s.student) == before
    doc = await a.submitted(s.assignment, s.student, ESSAY)
    assert (doc["late"], _at(doc["due_at"])) == (False, FUTURE)

"""Groups a course follows (issue 26): members enrolled set-based and at once, joiners and
leavers within the lag, enrollment sources and the drop rule, drafts enrolling on publish,
deleted groups, the roster filtered by group, the course's group summary, and unlock dates
per group and per student. Identity and catalog are played by the test's ``World``."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select
from syllabus_devkit.testing.asserts import eventually
from syllabus_progress.models import Enrollment
from syllabus_shared.db import utcnow

from conftest import API, Progress

LAG = 15.0


def owner_headers(p: Progress, owner: uuid.UUID) -> dict[str, str]:
    return p.as_("instructor", owner)


async def follow(p: Progress, course: uuid.UUID, group: uuid.UUID, owner: uuid.UUID) -> Any:
    return await p.client.put(
        f"{API}/courses/{course}/groups/{group}", headers=owner_headers(p, owner)
    )


async def statuses(p: Progress, course: uuid.UUID) -> dict[uuid.UUID, str]:
    async with p.runtime.db.transaction() as session:
        rows = await session.execute(
            select(Enrollment.user_id, Enrollment.status).where(Enrollment.course_id == course)  # type: ignore[arg-type]
        )
        return {r.user_id: r.status for r in rows}


async def statuses_until(
    p: Progress, course: uuid.UUID, want: dict[uuid.UUID, str | None]
) -> dict[uuid.UUID, str]:
    """The course's enrollment statuses once each user in ``want`` has the wanted one
    (None: no enrollment row)."""

    def ok(found: dict[uuid.UUID, str]) -> bool:
        return all(found.get(user) == status for user, status in want.items())

    found = await eventually(lambda: statuses(p, course), ok, timeout=LAG)
    assert ok(found), (found, want)
    return found


def students(p: Progress, n: int) -> list[tuple[uuid.UUID, dict[str, str]]]:
    return [p.student() for _ in range(n)]


async def test_following_enrolls_every_member_at_once(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    owner = uuid.uuid4()
    course, _, _ = await w.course_with(1, 1, owner=owner)
    people = students(p, 3)
    group = await w.group([u for u, _ in people], creator=owner)
    await p.synced()

    r = await follow(p, course, group, owner)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["members"] == 3 and body["enrolled"] == 3
    assert body["course_id"] == str(course) and body["group_id"] == str(group)
    # At once: the answer came after the enrollments committed, in the same transaction.
    found = await statuses(p, course)
    assert {found.get(u) for u, _ in people} == {"active"}
    enrollment = await p.enrollment(course, people[0][1])
    assert enrollment["sources"] == [{"kind": "group", "group_id": str(group)}]

    again = await follow(p, course, group, owner)
    assert again.status_code == 200 and again.json()["enrolled"] == 3

    created = [
        e for e in await p.events("EnrollmentCreated") if e["data"]["course_id"] == str(course)
    ]
    assert len(created) == 3  # following again enrolled nobody twice
    assert all(e["data"]["sources"] == [{"kind": "group", "group_id": str(group)}] for e in created)
    followed = [
        e for e in await p.events("CourseGroupFollowed") if e["data"]["course_id"] == str(course)
    ]
    assert len(followed) == 1 and followed[0]["sequence"] == 1


async def test_joiners_are_enrolled_and_leavers_dropped_keeping_their_completions(
    shared_progress: Progress,
) -> None:
    p = shared_progress
    w = p.world
    owner = uuid.uuid4()
    course, _, posts = await w.course_with(1, 2, owner=owner)
    group = await w.group([], creator=owner)
    await p.synced()
    assert (await follow(p, course, group, owner)).status_code == 201

    ((joiner, headers),) = students(p, 1)
    await w.add_member(group, joiner)
    await statuses_until(p, course, {joiner: "active"})
    assert (await p.complete(posts[0][0], headers)).status_code == 201

    await w.remove_member(group, joiner)
    await statuses_until(p, course, {joiner: "dropped"})

    # Back in the group: the same enrollment, reactivated, with the completion it had.
    await w.add_member(group, joiner)
    await statuses_until(p, course, {joiner: "active"})
    doc = await p.doc(course, headers)
    assert doc["completed_posts"] == 1
    dropped = [
        e for e in await p.events("EnrollmentDropped") if e["data"]["user_id"] == str(joiner)
    ]
    assert len(dropped) == 1 and dropped[0]["data"]["sources"] == []


async def test_sources_and_the_drop_rule(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    owner = uuid.uuid4()
    course, _, _ = await w.course_with(1, 1, owner=owner)
    (both, both_h), (grouped, grouped_h), (twice, twice_h) = students(p, 3)
    first = await w.group([both, grouped, twice], creator=owner)
    second = await w.group([twice], creator=owner)
    await p.synced()
    assert (await p.enroll(course, both_h)).status_code == 201
    assert (await follow(p, course, first, owner)).status_code == 201
    assert (await follow(p, course, second, owner)).status_code == 201

    mine = await p.enrollment(course, both_h)
    assert mine["sources"] == [{"kind": "self"}, {"kind": "group", "group_id": str(first)}]

    # Held only by a group: the student cannot drop it (409 naming the groups).
    r = await p.client.delete(f"{API}/courses/{course}/enrollments/me", headers=grouped_h)
    assert r.status_code == 409, r.text
    assert r.json()["group_ids"] == [str(first)]
    assert r.headers["content-type"].startswith("application/problem+json")

    # Self and group: dropping removes only the student's own source.
    r = await p.client.delete(f"{API}/courses/{course}/enrollments/me", headers=both_h)
    assert r.status_code == 204, r.text
    mine = await p.enrollment(course, both_h)
    assert mine["status"] == "active"
    assert mine["sources"] == [{"kind": "group", "group_id": str(first)}]

    # A student held by a group may add their own source (then leaving keeps them).
    r = await p.enroll(course, grouped_h)
    assert r.status_code == 201, r.text
    assert r.json()["sources"][0] == {"kind": "self"}
    assert (await p.enroll(course, grouped_h)).status_code == 409  # already their own

    # Leaving one of two followed groups keeps the enrollment.
    await w.remove_member(first, twice)
    await w.remove_member(first, grouped)
    await w.remove_member(first, both)
    await statuses_until(p, course, {both: "dropped", grouped: "active", twice: "active"})
    assert (await p.enrollment(course, twice_h))["sources"] == [
        {"kind": "group", "group_id": str(second)}
    ]


async def test_unfollowing_drops_those_no_other_source_holds(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    owner = uuid.uuid4()
    course, _, _ = await w.course_with(1, 1, owner=owner)
    (own, own_h), (member, _) = students(p, 2)
    group = await w.group([own, member], creator=owner)
    await p.synced()
    assert (await p.enroll(course, own_h)).status_code == 201
    assert (await follow(p, course, group, owner)).status_code == 201

    r = await p.client.delete(
        f"{API}/courses/{course}/groups/{group}", headers=owner_headers(p, owner)
    )
    assert r.status_code == 204, r.text
    found = await statuses(p, course)
    assert found[own] == "active" and found[member] == "dropped"
    r = await p.client.delete(
        f"{API}/courses/{course}/groups/{group}", headers=owner_headers(p, owner)
    )
    assert r.status_code == 404

    # Following again: the same follow, one version later.
    assert (await follow(p, course, group, owner)).status_code == 201
    assert (await statuses(p, course))[member] == "active"
    follows = [
        e["sequence"]
        for e in await p.events("CourseGroupFollowed", "CourseGroupUnfollowed")
        if e["data"]["course_id"] == str(course)
    ]
    assert follows == [1, 2, 3]


async def test_a_draft_course_enrolls_its_groups_when_published(
    shared_progress: Progress,
) -> None:
    p = shared_progress
    w = p.world
    owner = uuid.uuid4()
    course = await w.course(owner, status="draft")
    ((member, _),) = students(p, 1)
    group = await w.group([member], creator=owner)
    await p.synced()
    r = await follow(p, course, group, owner)
    assert r.status_code == 201 and r.json()["enrolled"] == 0
    assert member not in await statuses(p, course)

    await w.update_course(course, status="published")
    await statuses_until(p, course, {member: "active"})


async def test_a_deleted_group_stops_being_followed(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    owner = uuid.uuid4()
    course, _, _ = await w.course_with(1, 1, owner=owner)
    ((member, _),) = students(p, 1)
    group = await w.group([member], creator=owner)
    await p.synced()
    assert (await follow(p, course, group, owner)).status_code == 201
    await w.delete_group(group)
    await statuses_until(p, course, {member: "dropped"})
    unfollowed = [
        e for e in await p.events("CourseGroupUnfollowed") if e["data"]["group_id"] == str(group)
    ]
    assert len(unfollowed) == 1
    # A late membership event for the deleted group enrolls nobody.
    ((late, _),) = students(p, 1)
    await w.add_member(group, late)
    await p.synced()
    assert late not in await statuses(p, course)
    r = await follow(p, course, group, owner)
    assert r.status_code == 404, r.text


async def test_roster_filter_and_group_summary(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    owner = uuid.uuid4()
    course, _, posts = await w.course_with(1, 2, owner=owner)
    (a, a_h), (b, _), (c, c_h) = students(p, 3)
    reds = await w.group([a, b], name="Reds", creator=owner)
    blues = await w.group([c], name="Blues", creator=owner)
    await p.synced()
    for group in (reds, blues):
        assert (await follow(p, course, group, owner)).status_code == 201
    assert (await p.complete(posts[0][0], a_h)).status_code == 201
    for post in posts[0]:
        assert (await p.complete(post, c_h)).status_code == 201

    r = await p.client.get(
        f"{API}/courses/{course}/progress?group_id={reds}", headers=owner_headers(p, owner)
    )
    assert r.status_code == 200, r.text
    assert {i["user_id"] for i in r.json()["items"]} == {str(a), str(b)}
    r = await p.client.get(
        f"{API}/courses/{course}/progress?group_id={uuid.uuid4()}",
        headers=owner_headers(p, owner),
    )
    assert r.status_code == 404
    r = await p.client.get(
        f"{API}/courses/{course}/progress?group_id=nope", headers=owner_headers(p, owner)
    )
    assert r.status_code == 422

    async def summary() -> list[dict[str, Any]]:
        r = await p.client.get(f"{API}/courses/{course}/groups", headers=owner_headers(p, owner))
        assert r.status_code == 200, r.text
        out: list[dict[str, Any]] = r.json()
        return out

    # Completion of the course is decided by the consumer a moment later.
    found = await eventually(summary, lambda s: s[0]["completed"] == 1, timeout=LAG)
    assert [(g["name"], g["members"], g["enrolled"], g["completed"]) for g in found] == [
        ("Blues", 1, 1, 1),
        ("Reds", 2, 2, 0),
    ]
    assert found[0]["average_percent"] == 100.0
    assert found[1]["average_percent"] == 25.0
    # Names and counts only (a page naming the groups): the same, without the average.
    r = await p.client.get(
        f"{API}/courses/{course}/groups?average=false", headers=owner_headers(p, owner)
    )
    assert r.status_code == 200, r.text
    assert [{**g, "average_percent": None} for g in found] == r.json()


async def test_only_the_owner_or_an_admin_manages_a_courses_groups(
    shared_progress: Progress,
) -> None:
    p = shared_progress
    w = p.world
    owner = uuid.uuid4()
    course, _, _ = await w.course_with(1, 1, owner=owner)
    group = await w.group([], creator=owner)
    await p.synced()
    path = f"{API}/courses/{course}/groups/{group}"
    assert (await p.client.put(path, headers=p.as_("student"))).status_code == 403
    # Someone else's group: its id alone enrolls nobody (and so reveals nobody): 404.
    theirs = await w.group([], creator=uuid.uuid4())
    await p.synced()
    r = await p.client.put(
        f"{API}/courses/{course}/groups/{theirs}", headers=p.as_("instructor", owner)
    )
    assert r.status_code == 404, r.text
    assert (await p.client.put(path, headers=p.as_("instructor"))).status_code == 403
    assert (await p.client.put(path)).status_code == 401
    assert (
        await p.client.get(f"{API}/courses/{course}/groups", headers=p.as_("student"))
    ).status_code == 403
    assert (await p.client.put(path, headers=p.as_("admin"))).status_code == 201
    unknown = f"{API}/courses/{course}/groups/{uuid.uuid4()}"
    assert (await p.client.put(unknown, headers=p.as_("admin"))).status_code == 404
    r = await p.client.put(f"{API}/courses/{uuid.uuid4()}/groups/{group}", headers=p.as_("admin"))
    assert r.status_code == 404


async def test_membership_changes_racing_a_follow_lose_nobody(
    shared_progress: Progress,
) -> None:
    """Members joining while the course follows the group (a request) and while it is
    published (a consumer): after both, every member is enrolled, each exactly once."""
    p = shared_progress
    w = p.world
    owner = uuid.uuid4()
    course, _, _ = await w.course_with(1, 1, owner=owner)
    early = [u for u, _ in students(p, 200)]
    group = await w.group(early, creator=owner)
    await p.synced()
    late = [u for u, _ in students(p, 60)]

    async def joining() -> None:
        for user in late:
            await w.add_member(group, user)
            await asyncio.sleep(0)

    r, _ = await asyncio.gather(follow(p, course, group, owner), joining())
    assert r.status_code == 201, r.text
    await statuses_until(p, course, {u: "active" for u in early + late})
    async with p.runtime.db.transaction() as session:
        rows = await session.scalar(
            select(func.count()).select_from(Enrollment).where(Enrollment.course_id == course)  # type: ignore[arg-type]
        )
    assert rows == len(early) + len(late)


async def test_unlock_dates_per_group_and_per_student(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    owner = uuid.uuid4()
    course, modules, _ = await w.course_with(1, 1, owner=owner)
    later = utcnow() + dt.timedelta(days=7)
    await w.gate(course, modules[0], unlock_at=later)
    (plain, plain_h), (grouped, grouped_h), (own, own_h), (strict, strict_h) = students(p, 4)
    followed = await w.group([grouped, own, strict], creator=owner)
    unfollowed = await w.group([plain], creator=owner)
    await p.synced()
    assert (await follow(p, course, followed, owner)).status_code == 201
    for headers in (plain_h,):
        assert (await p.enroll(course, headers)).status_code == 201

    earlier = utcnow() - dt.timedelta(hours=1)
    stricter = utcnow() + dt.timedelta(days=30)
    await w.unlock_override(course, modules[0], "group", followed, earlier)
    await w.unlock_override(course, modules[0], "group", unfollowed, earlier)  # not followed
    await w.unlock_override(course, modules[0], "user", own, earlier - dt.timedelta(hours=1))
    await w.unlock_override(course, modules[0], "user", strict, stricter)  # own wins, stricter
    await p.synced()

    def state(doc: dict[str, Any]) -> str:
        return str(doc["modules"][0]["state"])

    assert state(await p.doc(course, plain_h)) == "locked"
    assert state(await p.doc(course, grouped_h)) == "unlocked"
    assert state(await p.doc(course, own_h)) == "unlocked"
    doc = await p.doc(course, strict_h)
    assert state(doc) == "locked"
    assert doc["modules"][0]["locks"][0]["reason"] == "unlock_at"
    assert dt.datetime.fromisoformat(doc["modules"][0]["locks"][0]["at"]) == stricter

    # Removing the group's override puts its members back on the course's date.
    await w.unlock_override(course, modules[0], "group", followed, None)
    await p.synced()
    assert state(await p.doc(course, grouped_h)) == "locked"

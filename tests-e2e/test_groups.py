"""Groups and cohorts (issue 26) through the gateway, as clients use them: identity's groups
and members, a course following a group (members enrolled at once for the caller, within
2 s for everyone), joiners and leavers, enrollment sources and the drop rule, rosters and
gradebooks by group, the course's group summary, and dates per group and per student
(unlock dates judged by progress, due dates by assessment's ``late``).

What travels by events is awaited by bounded polling (API.md promises 2 s).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import Any

from journey import CONTENT, Actor, actor, settles, within

from conftest import Stack

LAG = 5.0


def _when(**delta: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(**delta)).isoformat()


def _enrollment(student: Actor, course_id: str) -> dict[str, Any] | None:
    items = student.ok("GET", "/me/enrollments?limit=100")["items"]
    return next((e for e in items if e["course_id"] == course_id), None)


def _status(student: Actor, course_id: str) -> str | None:
    found = _enrollment(student, course_id)
    return None if found is None else str(found["status"])


def _course_with_posts(owner: Actor) -> tuple[str, str, str, str]:
    """A published course of one module: a text post and a quiz. (course, module, text,
    quiz)."""
    course = owner.course("Cohort course")
    module = owner.module("Cohort module")
    text = owner.post(module["id"], "Reading")
    quiz = owner.post(module["id"], "Check", kind="quiz")
    owner.attach(course["id"], module["id"])
    owner.publish(course["id"])
    return course["id"], module["id"], text["id"], quiz["id"]


def test_a_group_enrolls_its_members_and_its_changes_follow(stack: Stack) -> None:
    owner = actor(stack, "instructor")
    ann, ben, cat = (actor(stack, "student") for _ in range(3))
    cid, _, text_id, _ = _course_with_posts(owner)

    group = owner.ok("POST", "/groups", 201, json={"name": f"Class {uuid.uuid4().hex[:6]}"})
    gid = group["id"]
    ghost = str(uuid.uuid4())
    added = owner.ok("POST", f"/groups/{gid}/members", json={"user_ids": [ann.id, ben.id, ghost]})
    assert sorted(added["added"]) == sorted([ann.id, ben.id])
    assert added["unknown_user_ids"] == [ghost]
    again = owner.ok("POST", f"/groups/{gid}/members", json={"user_ids": [ann.id]})
    assert again["already_members"] == [ann.id] and again["added"] == []

    # Following: every member enrolled, at once for the owner (read-your-writes).
    followed = owner.ok("PUT", f"/courses/{cid}/groups/{gid}", 201)
    assert followed["members"] == 2 and followed["enrolled"] == 2
    roster = owner.ok("GET", f"/courses/{cid}/progress?group_id={gid}")["items"]
    assert {i["user_id"] for i in roster} == {ann.id, ben.id}
    assert owner.ok("PUT", f"/courses/{cid}/groups/{gid}")["enrolled"] == 2  # 200: already

    # ... and within 2 s for the members themselves, with their source.
    settles(lambda: _status(ann, cid), "active", LAG)
    mine = _enrollment(ann, cid)
    assert mine is not None and mine["sources"] == [{"kind": "group", "group_id": gid}]
    assert any(g["id"] == gid for g in ann.ok("GET", "/me/groups")["items"])

    # A member cannot drop what the group holds.
    r = ann.call("DELETE", f"/courses/{cid}/enrollments/me", 409)
    assert r.json()["group_ids"] == [gid]

    # A joiner is enrolled within 2 s; a leaver dropped, keeping their completion.
    owner.ok("PUT", f"/groups/{gid}/members/{cat.id}", 201)
    settles(lambda: _status(cat, cid), "active", LAG)
    within(LAG, lambda: ben.call("PUT", f"/me/completions/{text_id}"), 201)
    owner.call("DELETE", f"/groups/{gid}/members/{ben.id}", 204)
    settles(lambda: _status(ben, cid), "dropped", LAG)
    owner.ok("PUT", f"/groups/{gid}/members/{ben.id}", 201)
    settles(lambda: _status(ben, cid), "active", LAG)
    assert ben.progress(cid)["completed_posts"] == 1

    # The course's groups with how their members stand.
    summary = owner.ok("GET", f"/courses/{cid}/groups")
    assert [(g["group_id"], g["members"], g["enrolled"]) for g in summary] == [(gid, 3, 3)]

    # Unfollowing drops those no other source holds: Cat enrolls herself first.
    cat.ok("POST", f"/courses/{cid}/enrollments", 201)
    owner.call("DELETE", f"/courses/{cid}/groups/{gid}", 204)
    settles(lambda: _status(ann, cid), "dropped", LAG)
    settles(lambda: _status(cat, cid), "active", LAG)
    assert _enrollment(cat, cid)["sources"] == [{"kind": "self"}]  # type: ignore[index]


def test_gradebooks_filter_by_group(stack: Stack) -> None:
    owner = actor(stack, "instructor")
    inside, outside = actor(stack, "student"), actor(stack, "student")
    cid, _, _, quiz_id = _course_with_posts(owner)
    gid = owner.ok("POST", "/groups", 201, json={"name": f"Graded {uuid.uuid4().hex[:6]}"})["id"]
    owner.ok("PUT", f"/groups/{gid}/members/{inside.id}", 201)
    owner.ok("PUT", f"/courses/{cid}/groups/{gid}", 201)
    within(LAG, lambda: outside.call("POST", f"/courses/{cid}/enrollments"), 201)
    for student in (inside, outside):
        within(
            LAG,
            lambda s=student: s.call(
                "POST", f"/posts/{quiz_id}/submissions", json={"answers": [1]}
            ),
            201,
        )

    def book() -> set[str]:
        items = owner.ok("GET", f"/courses/{cid}/grades?group_id={gid}")["items"]
        return {i["user_id"] for i in items}

    settles(book, {inside.id}, LAG)
    r = owner.call(
        "GET", f"/courses/{cid}/grades?group_id={gid}", 200, headers={"Accept": "text/csv"}
    )
    _, *rows = list(csv.reader(io.StringIO(r.text)))
    assert [row[0] for row in rows] == [inside.id]
    everyone = owner.ok("GET", f"/courses/{cid}/grades")["items"]
    assert {i["user_id"] for i in everyone} == {inside.id, outside.id}


def test_dates_per_group_and_per_student(stack: Stack) -> None:
    owner = actor(stack, "instructor")
    early, plain, late_one = (actor(stack, "student") for _ in range(3))
    course = owner.course("Dated course")
    cid = course["id"]
    module = owner.module("Dated module")
    # The quiz was due yesterday, the module opens next week for everyone.
    quiz = owner.ok(
        "POST",
        f"/modules/{module['id']}/posts",
        201,
        json={
            "title": "Dated quiz",
            "content": {**CONTENT["quiz"], "due_at": _when(days=-1)},
            "status": "published",
        },
    )
    owner.attach(cid, module["id"])
    owner.ok("PATCH", f"/courses/{cid}/modules/{module['id']}", json={"unlock_at": _when(days=7)})
    owner.publish(cid)
    gid = owner.ok("POST", "/groups", 201, json={"name": f"Early {uuid.uuid4().hex[:6]}"})["id"]
    owner.ok("POST", f"/groups/{gid}/members", json={"user_ids": [early.id, late_one.id]})
    owner.ok("PUT", f"/courses/{cid}/groups/{gid}", 201)
    within(LAG, lambda: plain.call("POST", f"/courses/{cid}/enrollments"), 201)

    # A group's unlock date: the group's members only.
    r = owner.call(
        "PUT",
        f"/courses/{cid}/modules/{module['id']}/overrides/groups/{gid}",
        201,
        json={"unlock_at": _when(hours=-1)},
    )
    assert r.json()["kind"] == "group"
    # One student's own date, stricter than their group's: theirs wins.
    owner.call(
        "PUT",
        f"/courses/{cid}/modules/{module['id']}/overrides/users/{late_one.id}",
        201,
        json={"unlock_at": _when(days=30)},
    )
    listed = owner.ok("GET", f"/courses/{cid}/modules/{module['id']}/overrides")
    assert sorted(o["kind"] for o in listed) == ["group", "user"]  # each listed, not merged

    def state(student: Actor) -> str:
        return str(student.progress(cid)["modules"][0]["state"])

    settles(lambda: state(early), "unlocked", LAG)
    settles(lambda: state(late_one), "locked", LAG)
    assert state(plain) == "locked"

    # A due date for one student: their submission is on time; another's is late.
    owner.call(
        "PUT",
        f"/posts/{quiz['id']}/overrides/users/{early.id}",
        201,
        json={"due_at": _when(days=3)},
    )

    def my_due(student: Actor) -> Any:
        grades = student.ok("GET", f"/me/courses/{cid}/grades")
        return grades["posts"][0]["due_at"] is not None and dt.datetime.fromisoformat(
            grades["posts"][0]["due_at"]
        ) > dt.datetime.now(dt.UTC)

    settles(lambda: my_due(early), True, LAG)
    submitted = early.ok("POST", f"/posts/{quiz['id']}/submissions", 201, json={"answers": [1]})
    assert submitted["late"] is False
    # Without an override of their own or their group's: the post's date, long past.
    other = plain.ok("POST", f"/posts/{quiz['id']}/submissions", 201, json={"answers": [1]})
    assert other["late"] is True
    assert dt.datetime.fromisoformat(other["due_at"]) < dt.datetime.now(dt.UTC)


def test_mistakes_get_clear_problems(stack: Stack) -> None:
    owner = actor(stack, "instructor")
    student = actor(stack, "student")
    cid, module_id, _, quiz_id = _course_with_posts(owner)
    name = f"Unique {uuid.uuid4().hex[:6]}"
    owner.ok("POST", "/groups", 201, json={"name": name})
    r = owner.call("POST", "/groups", 409, json={"name": name.upper()})
    assert r.headers["content-type"].startswith("application/problem+json")
    student.call("POST", "/groups", 403, json={"name": f"Mine {uuid.uuid4().hex[:6]}"})
    gid = owner.ok("POST", "/groups", 201, json={"name": f"Other {uuid.uuid4().hex[:6]}"})["id"]
    too_many = [str(uuid.uuid4()) for _ in range(1001)]
    r = owner.call("POST", f"/groups/{gid}/members", json={"user_ids": too_many})
    assert r.status_code in (413, 422), r.text
    # Overrides for a group the course does not follow, or a student not enrolled: 422.
    owner.call(
        "PUT",
        f"/courses/{cid}/modules/{module_id}/overrides/groups/{gid}",
        422,
        json={"unlock_at": _when(days=1)},
    )
    owner.call(
        "PUT",
        f"/posts/{quiz_id}/overrides/users/{student.id}",
        422,
        json={"due_at": _when(days=1)},
    )
    owner.call(
        "PUT",
        f"/courses/{cid}/modules/{module_id}/overrides/teams/{gid}",
        404,
        json={"unlock_at": _when(days=1)},
    )
    # A student may not follow groups for a course, nor read its groups.
    student.call("PUT", f"/courses/{cid}/groups/{gid}", 403)
    student.call("GET", f"/courses/{cid}/groups", 403)
    # Unknown group on the roster filter: 404; not a uuid: 422.
    owner.call("GET", f"/courses/{cid}/progress?group_id={uuid.uuid4()}", 404)
    owner.call("GET", f"/courses/{cid}/progress?group_id=abc", 422)

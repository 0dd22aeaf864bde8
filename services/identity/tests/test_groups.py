"""Groups and their members (API.md "Groups and cohorts"), the staff directory, and the
projections (course owners, follows) that say which groups an instructor sees."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlmodel import col
from syllabus_devkit.testing.asserts import assert_problem
from syllabus_identity import rules
from syllabus_identity.models import CourseOwner, Group, GroupMembership
from syllabus_shared.contracts import Event
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as pe
from syllabus_shared.messaging.outbox import Outbox

from conftest import API, Identity

Headers = dict[str, str]


# ---------------------------------------------------------------- helpers


def _name(prefix: str = "Group") -> str:
    return f"{prefix} {uuid.uuid4().hex[:10]}"


async def _group(identity: Identity, headers: Headers, **fields: Any) -> dict[str, Any]:
    body = {"name": _name(), **fields}
    r = await identity.client.post(f"{API}/groups", json=body, headers=headers)
    assert r.status_code == 201, r.text
    group: dict[str, Any] = r.json()
    return group


async def _get(identity: Identity, path: str, headers: Headers) -> Any:
    r = await identity.client.get(f"{API}{path}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _ids(identity: Identity, path: str, headers: Headers) -> list[str]:
    return [item["id"] for item in (await _get(identity, path, headers))["items"]]


async def _events(identity: Identity, aggregate_id: str) -> list[tuple[str, int, dict[str, Any]]]:
    """(event name, sequence, data) of the outbox's events about one aggregate, in order."""
    out = []
    for row in await identity.outbox():
        if row.aggregate_id == aggregate_id:
            envelope = json.loads(row.payload)
            out.append((row.event_type.split(".")[2], row.sequence, envelope["data"]))
    return out


async def _group_events(identity: Identity, group_id: str) -> list[str]:
    """The names of every group and membership event of ``group_id``, in order."""
    out = []
    for row in await identity.outbox():
        kind = row.event_type
        if kind.startswith("syllabus.identity.Group") and (
            json.loads(row.payload)["data"]["group_id"] == group_id
        ):
            out.append(kind.split(".")[2])
    return out


def _membership(group_id: str, user_id: str) -> str:
    return str(ie.membership_id(uuid.UUID(group_id), uuid.UUID(user_id)))


async def _feed(identity: Identity, event: Event, sequence: int = 1) -> None:
    """Apply another service's event through identity's own consumer runner (inbox,
    sequence check, handler), as it would arrive from that service's stream."""
    rt = identity.runtime
    outbox = Outbox(rt.tables, source=event.source, namespace=identity.settings.event_namespace)
    payload = outbox.envelope(event, sequence).model_dump_json().encode()
    [consumer] = [c for c in rt.consumers if c.subscription.handler_for(event.type_name())]
    assert await consumer.apply_payloads([payload]) == ["applied"]


def _course(
    course_id: uuid.UUID, owner: str | None, cls: type[ce.CourseState] = ce.CourseCreated
) -> ce.CourseState:
    return cls(
        course_id=course_id,
        slug=f"c-{course_id.hex[:8]}",
        title="A course",
        status="published",
        visibility="public",
        creator_id=uuid.UUID(owner) if owner else None,
    )


def _follow(
    course_id: uuid.UUID, group_id: str, cls: type[pe.CourseGroupEvent] = pe.CourseGroupFollowed
) -> pe.CourseGroupEvent:
    gid = uuid.UUID(group_id)
    when = dt.datetime.now(dt.UTC)
    at = {"followed_at": when} if cls is pe.CourseGroupFollowed else {"unfollowed_at": when}
    return cls(follow_id=pe.follow_id(course_id, gid), course_id=course_id, group_id=gid, **at)


# ---------------------------------------------------------------- rules (no database)


def test_bulk_outcome_keeps_the_order_sent_and_each_id_once() -> None:
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    added, already, unknown = rules.bulk_outcome([c, a, b, a, d, c], known=[a, b, c], added=[c, b])
    assert (added, already, unknown) == ([c, b], [a], [d])


def test_only_the_creator_and_admins_manage_a_group() -> None:
    me, other = uuid.uuid4(), uuid.uuid4()
    assert rules.may_manage_group(me, "instructor", me)
    assert not rules.may_manage_group(me, "instructor", other)
    assert not rules.may_manage_group(me, "instructor", None)  # creator deleted: admins'
    assert rules.may_manage_group(me, "admin", None)
    assert rules.is_staff("instructor") and rules.is_staff("admin")
    assert not rules.is_staff("student")


def test_contains_pattern_matches_percent_and_underscore_as_themselves() -> None:
    assert rules.contains_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"


# ---------------------------------------------------------------- creating and reading


async def test_an_instructor_creates_a_group(shared_identity: Identity) -> None:
    identity = shared_identity
    me, headers = await identity.user("instructor")
    name = _name("Class")
    r = await identity.client.post(
        f"{API}/groups",
        json={"name": f"  {name}  ", "description": "Autumn intake"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    group = r.json()
    assert group["name"] == name  # trimmed
    assert group["description"] == "Autumn intake"
    assert group["creator_id"] == me["id"]
    assert group["member_count"] == 0
    assert group["version"] == 1
    assert set(group) == {
        "id",
        "name",
        "description",
        "creator_id",
        "member_count",
        "created_at",
        "updated_at",
        "version",
    }
    assert r.headers["Location"] == f"/api/v1/groups/{group['id']}"
    assert r.headers["ETag"] == '"1.0"'
    assert await _events(identity, group["id"]) == [
        (
            "GroupCreated",
            1,
            {
                "group_id": group["id"],
                "group_name": name,
                "description": "Autumn intake",
                "creator_id": me["id"],
            },
        )
    ]
    again = await _get(identity, f"/groups/{group['id']}", headers)
    assert again == group
    r = await identity.client.get(
        f"{API}/groups/{group['id']}", headers={**headers, "If-None-Match": '"1.0"'}
    )
    assert r.status_code == 304


async def test_group_names_are_unique_ignoring_case(shared_identity: Identity) -> None:
    identity = shared_identity
    _, headers = await identity.user("instructor")
    _, other = await identity.user("instructor")
    name = _name("Cohort")
    await _group(identity, headers, name=name)
    r = await identity.client.post(
        f"{API}/groups", json={"name": f" {name.upper()} "}, headers=other
    )
    body = assert_problem(r, 409)
    assert body["type"].endswith("/group-name-taken")
    # Concurrent creations of one name: one wins, the other is a 409 (never a 500).
    racing = _name("Race")
    answers = await asyncio.gather(
        *(
            identity.client.post(f"{API}/groups", json={"name": n}, headers=headers)
            for n in (racing, racing.lower())
        )
    )
    assert sorted(a.status_code for a in answers) == [201, 409]


async def test_invalid_groups_are_refused(shared_identity: Identity) -> None:
    identity = shared_identity
    _, headers = await identity.user("instructor")
    cases = [
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "tab\there"}, "name"),
        ({"name": _name(), "description": "d" * 2001}, "description"),
        ({"name": _name(), "description": "nul\x00"}, "description"),
        ({"name": _name(), "creator_id": str(uuid.uuid4())}, "creator_id"),
        ({}, "name"),
    ]
    for body, field in cases:
        r = await identity.client.post(f"{API}/groups", json=body, headers=headers)
        assert_problem(r, 422, field)
    r = await identity.client.post(
        f"{API}/groups", json={"name": "x" * 200, "description": "d" * 2000}, headers=headers
    )
    assert r.status_code == 201, r.text


async def test_students_manage_no_groups(shared_identity: Identity) -> None:
    identity = shared_identity
    _, staff = await identity.user("instructor")
    group = await _group(identity, staff)
    student, headers = await identity.user()
    gid = group["id"]
    calls = [
        ("POST", "/groups", {"name": _name()}),
        ("GET", "/groups", None),
        ("GET", f"/groups/{gid}", None),
        ("PATCH", f"/groups/{gid}", {"name": _name()}),
        ("DELETE", f"/groups/{gid}", None),
        ("GET", f"/groups/{gid}/members", None),
        ("PUT", f"/groups/{gid}/members/{student['id']}", None),
        ("POST", f"/groups/{gid}/members", {"user_ids": [student["id"]]}),
        ("DELETE", f"/groups/{gid}/members/{student['id']}", None),
        ("GET", "/users/directory?q=a", None),
    ]
    for method, path, body in calls:
        r = await identity.client.request(method, f"{API}{path}", json=body, headers=headers)
        assert_problem(r, 403)
    r = await identity.client.get(f"{API}/groups")
    assert_problem(r, 401)


async def test_idempotency_key_creates_one_group(shared_identity: Identity) -> None:
    identity = shared_identity
    _, headers = await identity.user("instructor")
    keyed = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    body = {"name": _name()}
    first = await identity.client.post(f"{API}/groups", json=body, headers=keyed)
    second = await identity.client.post(f"{API}/groups", json=body, headers=keyed)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"


# ---------------------------------------------------------------- who sees which group


async def test_list_groups_visibility_and_search(shared_identity: Identity) -> None:
    identity = shared_identity
    _, mine = await identity.user("instructor")
    _, theirs = await identity.user("instructor")
    tag = uuid.uuid4().hex[:8]
    a = await _group(identity, mine, name=f"Maths {tag} 50%")
    b = await _group(identity, mine, name=f"History {tag}")
    c = await _group(identity, theirs, name=f"maths {tag} B")
    assert await _ids(identity, f"/groups?q={tag}", mine) == [b["id"], a["id"]]
    assert await _ids(identity, f"/groups?q=MATHS {tag}", mine) == [a["id"]]
    assert await _ids(identity, f"/groups?q={tag}", theirs) == [c["id"]]
    admin = await identity.admin()
    assert await _ids(identity, f"/groups?q=maths {tag}", admin) == [c["id"], a["id"]]
    assert await _ids(identity, f"/groups?q={tag} 50%25", admin) == [a["id"]]
    assert await _ids(identity, f"/groups?q={tag} _0", admin) == []  # _ is no wildcard
    # Pages, newest first.
    page = await _get(identity, f"/groups?q={tag}&limit=2", admin)
    assert [g["id"] for g in page["items"]] == [c["id"], b["id"]]
    rest = await _get(identity, f"/groups?q={tag}&limit=2&cursor={page['next_cursor']}", admin)
    assert [g["id"] for g in rest["items"]] == [a["id"]] and rest["next_cursor"] is None
    # Someone else's group: not found for an instructor, there for an admin.
    r = await identity.client.get(f"{API}/groups/{c['id']}", headers=mine)
    assert_problem(r, 404)
    r = await identity.client.patch(f"{API}/groups/{c['id']}", json={"name": "x"}, headers=mine)
    assert_problem(r, 404)
    assert (await _get(identity, f"/groups/{c['id']}", admin))["id"] == c["id"]
    r = await identity.client.get(f"{API}/groups", params={"q": "a\x00"}, headers=admin)
    assert_problem(r, 422)


async def test_an_instructor_sees_the_groups_that_follow_their_courses(
    shared_identity: Identity,
) -> None:
    identity = shared_identity
    _, creator = await identity.user("instructor")
    owner, headers = await identity.user("instructor")
    student, _ = await identity.user()
    group = await _group(identity, creator)
    gid = group["id"]
    r = await identity.client.put(f"{API}/groups/{gid}/members/{student['id']}", headers=creator)
    assert r.status_code == 201, r.text
    assert gid not in await _ids(identity, "/groups", headers)

    course_id = uuid.uuid4()
    await _feed(identity, _course(course_id, owner["id"]))
    await _feed(identity, _follow(course_id, gid))
    assert await _ids(identity, "/groups", headers) == [gid]
    assert (await _get(identity, f"/groups/{gid}", headers))["id"] == gid
    members = await _get(identity, f"/groups/{gid}/members", headers)
    assert [m["user_id"] for m in members["items"]] == [student["id"]]
    # Seeing is not managing: the creator and admins change it.
    r = await identity.client.patch(f"{API}/groups/{gid}", json={"name": _name()}, headers=headers)
    assert_problem(r, 403)
    r = await identity.client.delete(f"{API}/groups/{gid}/members/{student['id']}", headers=headers)
    assert_problem(r, 403)
    r = await identity.client.post(
        f"{API}/groups/{gid}/members", json={"user_ids": [owner["id"]]}, headers=headers
    )
    assert_problem(r, 403)

    # The course changes hands (a newer course event): the old owner no longer sees it.
    _, next_owner = await identity.user("instructor")
    new_owner_id = (await _get(identity, "/users/me", next_owner))["id"]
    await _feed(identity, _course(course_id, new_owner_id, ce.CourseUpdated), sequence=2)
    assert await _ids(identity, "/groups", headers) == []
    assert await _ids(identity, "/groups", next_owner) == [gid]
    # Unfollowed: nobody but the creator (and admins) sees it.
    await _feed(identity, _follow(course_id, gid, pe.CourseGroupUnfollowed), sequence=2)
    assert await _ids(identity, "/groups", next_owner) == []
    # A stale follow (older sequence) changes nothing.
    rt = identity.runtime
    outbox = Outbox(rt.tables, source="progress", namespace=identity.settings.event_namespace)
    stale = outbox.envelope(_follow(course_id, gid), 1).model_dump_json().encode()
    [consumer] = [c for c in rt.consumers if c.subscription.name == "identity-from-progress"]
    assert await consumer.apply_payloads([stale]) == ["stale"]
    assert await _ids(identity, "/groups", next_owner) == []
    # Followed again, then the course is deleted: its owner no longer sees the group.
    await _feed(identity, _follow(course_id, gid), sequence=3)
    assert await _ids(identity, "/groups", next_owner) == [gid]
    await _feed(identity, ce.CourseDeleted(course_id=course_id), sequence=3)
    assert await _ids(identity, "/groups", next_owner) == []


async def test_a_follow_of_a_group_identity_does_not_have_writes_nothing(
    shared_identity: Identity,
) -> None:
    identity = shared_identity
    owner, headers = await identity.user("instructor")
    course_id = uuid.uuid4()
    await _feed(identity, _course(course_id, owner["id"]))
    await _feed(identity, _follow(course_id, str(uuid.uuid4())))
    assert await _ids(identity, "/groups", headers) == []


# ---------------------------------------------------------------- editing and deleting


async def test_patch_renames_with_if_match_and_publishes_updates(
    shared_identity: Identity,
) -> None:
    identity = shared_identity
    _, headers = await identity.user("instructor")
    group = await _group(identity, headers, description="first")
    taken = await _group(identity, headers)
    path = f"{API}/groups/{group['id']}"

    r = await identity.client.patch(
        path, json={"name": "Renamed " + group["id"][-8:]}, headers={**headers, "If-Match": '"7"'}
    )
    body = assert_problem(r, 412)
    assert body["current_version"] == 1
    r = await identity.client.patch(path, json={"name": taken["name"].swapcase()}, headers=headers)
    assert_problem(r, 409)
    r = await identity.client.patch(path, json={"name": None}, headers=headers)
    assert_problem(r, 422, "name")
    # The same values again: nothing changes, nothing is published.
    r = await identity.client.patch(
        path, json={"name": group["name"], "description": "first"}, headers=headers
    )
    assert r.status_code == 200 and r.json()["version"] == 1

    new_name = group["name"].upper()  # a change of case is a rename
    r = await identity.client.patch(
        path, json={"name": new_name}, headers={**headers, "If-Match": r.headers["ETag"]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == new_name and r.json()["version"] == 2
    r = await identity.client.patch(path, json={"description": None}, headers=headers)
    assert r.json()["description"] is None and r.json()["version"] == 3
    events = await _events(identity, group["id"])
    assert [(name, seq) for name, seq, _ in events] == [
        ("GroupCreated", 1),
        ("GroupUpdated", 2),
        ("GroupUpdated", 3),
    ]
    assert events[1][2]["group_name"] == new_name and events[2][2]["description"] is None

    admin = await identity.admin()
    r = await identity.client.patch(path, json={"description": "by an admin"}, headers=admin)
    assert r.status_code == 200 and r.json()["version"] == 4


async def test_deleting_a_group_takes_its_memberships(shared_identity: Identity) -> None:
    identity = shared_identity
    _, headers = await identity.user("instructor")
    member, member_headers = await identity.user()
    group = await _group(identity, headers)
    gid = group["id"]
    await identity.client.put(f"{API}/groups/{gid}/members/{member['id']}", headers=headers)
    await identity.client.patch(f"{API}/groups/{gid}", json={"description": "v2"}, headers=headers)
    assert await _ids(identity, "/me/groups", member_headers) == [gid]

    r = await identity.client.delete(f"{API}/groups/{gid}", headers={**headers, "If-Match": '"1"'})
    assert_problem(r, 412)
    r = await identity.client.delete(f"{API}/groups/{gid}", headers={**headers, "If-Match": '"2"'})
    assert r.status_code == 204, r.text
    assert_problem(await identity.client.get(f"{API}/groups/{gid}", headers=headers), 404)
    assert_problem(await identity.client.delete(f"{API}/groups/{gid}", headers=headers), 404)
    assert await _ids(identity, "/me/groups", member_headers) == []
    async with identity.runtime.db.transaction() as session:
        left = await session.scalar(
            select(col(GroupMembership.id)).where(col(GroupMembership.group_id) == uuid.UUID(gid))
        )
    assert left is None
    events = await _events(identity, gid)
    assert [(name, seq) for name, seq, _ in events] == [
        ("GroupCreated", 1),
        ("GroupUpdated", 2),
        ("GroupDeleted", 3),
    ]
    assert set(events[-1][2]) == {"group_id", "deleted_at"}
    # No GroupMemberRemoved for the memberships that went with it.
    assert await _group_events(identity, gid) == [
        "GroupCreated",
        "GroupMemberAdded",
        "GroupUpdated",
        "GroupDeleted",
    ]
    # The name is free again.
    await _group(identity, headers, name=group["name"])


# ---------------------------------------------------------------- members


async def test_members_added_removed_and_added_again(shared_identity: Identity) -> None:
    identity = shared_identity
    _, headers = await identity.user("instructor")
    member, member_headers = await identity.user()
    await identity.client.patch(
        f"{API}/users/{member['id']}", json={"display_name": "Ada L."}, headers=member_headers
    )
    group = await _group(identity, headers)
    gid, uid = group["id"], member["id"]
    path = f"{API}/groups/{gid}/members/{uid}"

    r = await identity.client.put(path, headers=headers)
    assert r.status_code == 201, r.text
    added = r.json()
    assert set(added) == {"user_id", "username", "display_name", "added_at"}
    assert (added["user_id"], added["username"], added["display_name"]) == (
        uid,
        member["username"],
        "Ada L.",
    )
    r = await identity.client.put(path, headers=headers)
    assert r.status_code == 200 and r.json() == added  # already a member: same membership
    group_now = await _get(identity, f"/groups/{gid}", headers)
    assert group_now["member_count"] == 1 and group_now["version"] == 1
    members = await _get(identity, f"/groups/{gid}/members", headers)
    assert members == {"items": [added], "next_cursor": None}
    assert await _ids(identity, "/me/groups", member_headers) == [gid]

    assert (await identity.client.delete(path, headers=headers)).status_code == 204
    body = assert_problem(await identity.client.delete(path, headers=headers), 404)
    assert "not a member" in body["detail"]
    assert (await _get(identity, f"/groups/{gid}", headers))["member_count"] == 0
    assert await _ids(identity, "/me/groups", member_headers) == []
    assert (await _get(identity, f"/groups/{gid}/members", headers))["items"] == []

    r = await identity.client.put(path, headers=headers)
    assert r.status_code == 201  # added again
    assert (await _get(identity, f"/groups/{gid}", headers))["member_count"] == 1

    mid = _membership(gid, uid)
    events = await _events(identity, mid)
    assert [(name, seq) for name, seq, _ in events] == [
        ("GroupMemberAdded", 1),
        ("GroupMemberRemoved", 2),
        ("GroupMemberAdded", 3),
    ]
    assert set(events[0][2]) == {"membership_id", "group_id", "user_id", "added_at"}
    assert events[0][2]["membership_id"] == mid and events[0][2]["user_id"] == uid
    assert set(events[1][2]) == {"membership_id", "group_id", "user_id", "removed_at"}


async def test_unknown_users_and_groups_are_not_found(shared_identity: Identity) -> None:
    identity = shared_identity
    _, headers = await identity.user("instructor")
    group = await _group(identity, headers)
    nobody = uuid.uuid4()
    r = await identity.client.put(f"{API}/groups/{group['id']}/members/{nobody}", headers=headers)
    assert_problem(r, 404)
    r = await identity.client.delete(
        f"{API}/groups/{group['id']}/members/{nobody}", headers=headers
    )
    assert_problem(r, 404)
    for method in ("GET", "PATCH", "DELETE"):
        r = await identity.client.request(
            method,
            f"{API}/groups/{uuid.uuid4()}",
            json={} if method == "PATCH" else None,
            headers=headers,
        )
        assert_problem(r, 404)
    r = await identity.client.get(f"{API}/groups/{uuid.uuid4()}/members", headers=headers)
    assert_problem(r, 404)
    r = await identity.client.get(f"{API}/groups/not-a-uuid", headers=headers)
    assert_problem(r, 422)


async def test_bulk_add_reports_what_it_did(shared_identity: Identity) -> None:
    identity = shared_identity
    _, headers = await identity.user("instructor")
    group = await _group(identity, headers)
    gid = group["id"]
    users = [(await identity.user())[0]["id"] for _ in range(3)]
    await identity.client.put(f"{API}/groups/{gid}/members/{users[0]}", headers=headers)
    await identity.client.delete(f"{API}/groups/{gid}/members/{users[0]}", headers=headers)
    await identity.client.put(f"{API}/groups/{gid}/members/{users[1]}", headers=headers)
    unknown = str(uuid.uuid4())

    body = {"user_ids": [users[2], users[1], unknown, users[0], users[2]]}
    r = await identity.client.post(f"{API}/groups/{gid}/members", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "added": [users[2], users[0]],
        "already_members": [users[1]],
        "unknown_user_ids": [unknown],
    }
    assert (await _get(identity, f"/groups/{gid}", headers))["member_count"] == 3
    # One GroupMemberAdded per membership that began; users[0]'s third version.
    assert [(n, s) for n, s, _ in await _events(identity, _membership(gid, users[2]))] == [
        ("GroupMemberAdded", 1)
    ]
    assert [s for _, s, _ in await _events(identity, _membership(gid, users[0]))] == [1, 2, 3]
    assert [s for _, s, _ in await _events(identity, _membership(gid, users[1]))] == [1]
    # All again: nothing added, nothing published.
    r = await identity.client.post(f"{API}/groups/{gid}/members", json=body, headers=headers)
    assert r.json()["added"] == [] and len(r.json()["already_members"]) == 3
    assert (await _group_events(identity, gid)).count("GroupMemberAdded") == 4
    r = await identity.client.post(
        f"{API}/groups/{gid}/members", json={"user_ids": []}, headers=headers
    )
    assert r.json() == {"added": [], "already_members": [], "unknown_user_ids": []}


async def test_bulk_add_takes_at_most_a_thousand_ids(shared_identity: Identity) -> None:
    identity = shared_identity
    _, headers = await identity.user("instructor")
    group = await _group(identity, headers)
    path = f"{API}/groups/{group['id']}/members"
    r = await identity.client.post(
        path, json={"user_ids": [str(uuid.uuid4()) for _ in range(1001)]}, headers=headers
    )
    body = assert_problem(r, 422, "user_ids")
    assert "1,000" in json.dumps(body)
    r = await identity.client.post(path, json={"user_ids": ["nope"]}, headers=headers)
    assert_problem(r, 422)
    # A thousand: fine (unknown ones reported), in one request.
    ids = [str(uuid.uuid4()) for _ in range(1000)]
    r = await identity.client.post(path, json={"user_ids": ids}, headers=headers)
    assert r.status_code == 200 and r.json()["unknown_user_ids"] == ids


async def test_many_members_at_once_and_in_pages(shared_identity: Identity) -> None:
    identity = shared_identity
    _, headers = await identity.user("instructor")
    group = await _group(identity, headers)
    gid = group["id"]
    users = [await identity.register(f"m{i}_{uuid.uuid4().hex[:8]}") for i in range(5)]
    ids = [u["id"] for u in users]
    # Two overlapping bulk adds at once: every membership begins once, the count is exact.
    answers = await asyncio.gather(
        identity.client.post(
            f"{API}/groups/{gid}/members", json={"user_ids": ids[:4]}, headers=headers
        ),
        identity.client.post(
            f"{API}/groups/{gid}/members", json={"user_ids": ids[1:]}, headers=headers
        ),
    )
    added = [u for a in answers for u in a.json()["added"]]
    assert sorted(added) == sorted(ids)
    assert (await _get(identity, f"/groups/{gid}", headers))["member_count"] == 5
    assert (await _group_events(identity, gid)).count("GroupMemberAdded") == 5

    seen: list[str] = []
    cursor = ""
    while True:
        page = await _get(identity, f"/groups/{gid}/members?limit=2{cursor}", headers)
        seen += [m["username"] for m in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == sorted((u["username"] for u in users), key=str.lower)


async def test_my_groups_lists_the_callers_groups(shared_identity: Identity) -> None:
    identity = shared_identity
    _, staff = await identity.user("instructor")
    member, headers = await identity.user()
    first = await _group(identity, staff)
    second = await _group(identity, staff)
    await _group(identity, staff)  # not a member of this one
    for group in (first, second):
        await identity.client.put(
            f"{API}/groups/{group['id']}/members/{member['id']}", headers=staff
        )
    page = await _get(identity, "/me/groups", headers)
    assert [g["id"] for g in page["items"]] == [second["id"], first["id"]]
    assert page["items"][0]["member_count"] == 1
    page = await _get(identity, "/me/groups?limit=1", headers)
    assert [g["id"] for g in page["items"]] == [second["id"]]
    rest = await _get(identity, f"/me/groups?limit=1&cursor={page['next_cursor']}", headers)
    assert [g["id"] for g in rest["items"]] == [first["id"]]
    assert await _ids(identity, "/me/groups", staff) == []


# ---------------------------------------------------------------- deleting accounts


async def test_a_deleted_account_leaves_every_group(shared_identity: Identity) -> None:
    identity = shared_identity
    _, staff = await identity.user("instructor")
    member, member_headers = await identity.user()
    stays, _ = await identity.user()
    groups = [await _group(identity, staff) for _ in range(2)]
    for group in groups:
        r = await identity.client.post(
            f"{API}/groups/{group['id']}/members",
            json={"user_ids": [member["id"], stays["id"]]},
            headers=staff,
        )
        assert len(r.json()["added"]) == 2
    before = {g["id"]: await _group_events(identity, g["id"]) for g in groups}

    r = await identity.client.delete(f"{API}/users/me", headers=member_headers)
    assert r.status_code == 204, r.text
    for group in groups:
        now = await _get(identity, f"/groups/{group['id']}", staff)
        assert now["member_count"] == 1 and now["version"] == 1
        members = await _get(identity, f"/groups/{group['id']}/members", staff)
        assert [m["user_id"] for m in members["items"]] == [stays["id"]]
        # No membership events: consumers apply UserDeleted.
        assert await _group_events(identity, group["id"]) == before[group["id"]]
    async with identity.runtime.db.transaction() as session:
        left = await session.scalar(
            select(col(GroupMembership.id)).where(
                col(GroupMembership.user_id) == uuid.UUID(member["id"])
            )
        )
    assert left is None
    # Re-adding the deleted id: an unknown user.
    r = await identity.client.put(
        f"{API}/groups/{groups[0]['id']}/members/{member['id']}", headers=staff
    )
    assert_problem(r, 404)


async def test_a_deleted_creators_groups_stay_for_admins(shared_identity: Identity) -> None:
    identity = shared_identity
    creator, staff = await identity.user("instructor")
    group = await _group(identity, staff)
    owner_course = uuid.uuid4()
    await _feed(identity, _course(owner_course, creator["id"]))
    r = await identity.client.delete(f"{API}/users/me", headers=staff)
    assert r.status_code == 204, r.text
    admin = await identity.admin()
    now = await _get(identity, f"/groups/{group['id']}", admin)
    assert now["creator_id"] is None and now["version"] == 2  # a new ETag, no event
    assert [n for n, _, _ in await _events(identity, group["id"])] == ["GroupCreated"]
    r = await identity.client.patch(
        f"{API}/groups/{group['id']}", json={"description": "kept"}, headers=admin
    )
    assert r.status_code == 200 and r.json()["version"] == 3
    events = await _events(identity, group["id"])
    assert events[-1][:2] == ("GroupUpdated", 3) and events[-1][2]["creator_id"] is None
    # A late course event naming the deleted owner projects no owner.
    await _feed(identity, _course(owner_course, creator["id"], ce.CourseUpdated), sequence=2)
    async with identity.runtime.db.transaction() as session:
        owner = await session.scalar(
            select(col(CourseOwner.owner_id)).where(col(CourseOwner.course_id) == owner_course)
        )
        kept = await session.get(Group, uuid.UUID(group["id"]))
    assert owner is None and kept is not None


# ---------------------------------------------------------------- the staff directory


async def test_staff_look_people_up_without_seeing_emails(shared_identity: Identity) -> None:
    identity = shared_identity
    _, staff = await identity.user("instructor")
    tag = uuid.uuid4().hex[:8]
    ada = await identity.register(f"Ada_{tag}", display_name="Ada Lovelace")
    bob = await identity.register(f"bob_{tag}", display_name=f"Robert {tag}")
    await identity.register(f"carl_{tag}x")

    page = await _get(identity, f"/users/directory?q={tag}", staff)
    assert [e["username"] for e in page["items"]] == [f"Ada_{tag}", f"bob_{tag}", f"carl_{tag}x"]
    for entry in page["items"]:
        assert set(entry) == {"id", "username", "display_name"}
    assert "@" not in json.dumps(page)
    assert page["items"][0] == {
        "id": ada["id"],
        "username": ada["username"],
        "display_name": "Ada Lovelace",
    }
    # Display names match too, ignoring case.
    assert await _ids(identity, f"/users/directory?q=robert {tag.upper()}", staff) == [bob["id"]]
    # Exact usernames, many at once, ignoring case; names that are not usernames match nobody.
    query = f"username=ADA_{tag}&username=bob_{tag}&username=nobody_{tag}&username=no%20way"
    assert await _ids(identity, f"/users/directory?{query}", staff) == [ada["id"], bob["id"]]
    assert await _ids(identity, f"/users/directory?username=carl_{tag}", staff) == []
    # Both: both apply.
    assert await _ids(identity, f"/users/directory?q=Lovelace&{query}", staff) == [ada["id"]]
    # Pages.
    first = await _get(identity, f"/users/directory?q={tag}&limit=2", staff)
    rest = await _get(
        identity, f"/users/directory?q={tag}&limit=2&cursor={first['next_cursor']}", staff
    )
    assert [e["username"] for e in first["items"] + rest["items"]] == [
        f"Ada_{tag}",
        f"bob_{tag}",
        f"carl_{tag}x",
    ]
    # Admins too; at most a thousand usernames.
    assert await _ids(identity, f"/users/directory?q=Ada_{tag}", await identity.admin()) == [
        ada["id"]
    ]
    many = "&".join(f"username=u{i}" for i in range(1001))
    body = assert_problem(
        await identity.client.get(f"{API}/users/directory?{many}", headers=staff),
        422,
        "query.username",
    )
    assert "1,000" in body["detail"]
    # /users/{user_id} still answers for ids, and "directory" is not taken for one.
    r = await identity.client.get(f"{API}/users/directory", headers=staff)
    assert r.status_code == 200

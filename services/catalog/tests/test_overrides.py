"""Unlock overrides per group and per student (docs/dates.md): who may set them, what
they may name (a student enrolled in the course, a group it follows: progress's events,
fed through catalog's real consumer), and their events, whose versions go on across
removal and setting again."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest_asyncio
from nats.js import JetStreamContext
from sqlalchemy import select
from syllabus_catalog.models import GROUPS, EnrollmentCount
from syllabus_devkit.testing.asserts import assert_problem, eventually
from syllabus_shared.contracts import Event
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as pe
from syllabus_shared.messaging.outbox import Outbox, subject_for

from conftest import API, Catalog

LAG = 15.0  # generous: event lag on a loaded machine (checks return as soon as they hold)
SET = "syllabus.catalog.UnlockOverrideSet.v1"
REMOVED = "syllabus.catalog.UnlockOverrideRemoved.v1"
WHEN = "2031-02-03T04:05:06Z"


class Progress:
    """Stands in for progress: publishes its enrollment and follow events."""

    def __init__(self, catalog: Catalog, js: JetStreamContext) -> None:
        self.catalog = catalog
        self.js = js
        self.ns = catalog.settings.event_namespace
        self.outbox = Outbox(catalog.runtime.tables, source="progress", namespace=self.ns)
        self.versions: dict[uuid.UUID, int] = {}

    async def publish(self, event: Event) -> None:
        subject_id = event.subject_id()
        self.versions[subject_id] = sequence = self.versions.get(subject_id, 0) + 1
        envelope = self.outbox.envelope(event, sequence)
        await self.js.publish(
            subject_for(self.ns, type(event)),
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": str(envelope.id)},
        )

    async def enroll(self, user_id: uuid.UUID, course_id: str, status: str = "active") -> None:
        """The student's enrollment in the course (one id per pair), now in ``status``."""
        now = dt.datetime.now(dt.UTC)
        fields: dict[str, Any] = {
            "enrollment_id": uuid.uuid5(uuid.NAMESPACE_URL, f"{user_id}:{course_id}"),
            "user_id": user_id,
            "course_id": uuid.UUID(course_id),
            "status": status,
        }
        if status == "active":
            await self.publish(pe.EnrollmentCreated(**fields, enrolled_at=now))
        elif status == "completed":
            await self.publish(pe.CourseCompleted(**fields, completed_at=now))
        else:
            await self.publish(pe.EnrollmentDropped(**fields))
        await _settles(lambda: self._enrollment_status(user_id, course_id), lambda s: s == status)

    async def follow(self, course_id: str, group_id: uuid.UUID, *, following: bool = True) -> None:
        course = uuid.UUID(course_id)
        fields: dict[str, Any] = {
            "follow_id": pe.follow_id(course, group_id),
            "course_id": course,
            "group_id": group_id,
        }
        now = dt.datetime.now(dt.UTC)
        if following:
            await self.publish(pe.CourseGroupFollowed(**fields, followed_at=now))
        else:
            await self.publish(pe.CourseGroupUnfollowed(**fields, unfollowed_at=now))
        await _settles(lambda: self._follows(course_id, group_id), lambda f: f == following)

    async def _enrollment_status(self, user_id: uuid.UUID, course_id: str) -> str | None:
        async with self.catalog.runtime.db.transaction() as session:
            status: str | None = await session.scalar(
                select(EnrollmentCount.status).where(  # type: ignore[call-overload]
                    EnrollmentCount.user_id == user_id,
                    EnrollmentCount.course_id == uuid.UUID(course_id),
                )
            )
            return status

    async def _follows(self, course_id: str, group_id: uuid.UUID) -> bool:
        follows = GROUPS.follows
        assert follows is not None
        async with self.catalog.runtime.db.transaction() as session:
            found = await session.scalar(
                select(follows.c.group_id).where(
                    follows.c.course_id == uuid.UUID(course_id), follows.c.group_id == group_id
                )
            )
            return found is not None


async def _settles(probe: Any, done: Any) -> None:
    assert done(await eventually(probe, done, timeout=LAG))


@pytest_asyncio.fixture
async def progress(catalog: Catalog) -> AsyncIterator[Progress]:
    for consumer in catalog.runtime.consumers:  # their streams exist, nothing is missed
        await asyncio.wait_for(consumer.ready.wait(), 10)
    nc = await nats.connect(catalog.settings.nats_url)
    try:
        yield Progress(catalog, nc.jetstream())
    finally:
        await nc.close()


async def _setup(catalog: Catalog) -> tuple[uuid.UUID, str, str]:
    """An owner, their published course and a module attached to it."""
    owner = uuid.uuid4()
    course = await catalog.course(owner, status="published")
    module = await catalog.module(owner)
    await catalog.attach(course["id"], module["id"], owner)
    return owner, course["id"], module["id"]


def _path(course_id: str, module_id: str, kind: str = "", target: object = "") -> str:
    base = f"{API}/courses/{course_id}/modules/{module_id}/overrides"
    return f"{base}/{kind}/{target}" if kind else base


async def _override_events(catalog: Catalog) -> list[tuple[str, int, dict[str, Any]]]:
    """(type, sequence, data) of the override events catalog recorded, in order."""
    events = []
    for row in await catalog.outbox():
        envelope = json.loads(row.payload)
        if envelope["type"] in (SET, REMOVED):
            events.append((envelope["type"], envelope["sequence"], envelope["data"]))
    return events


async def test_a_students_override_set_replaced_removed_and_set_again(
    catalog: Catalog, progress: Progress
) -> None:
    owner, course_id, module_id = await _setup(catalog)
    student = uuid.uuid4()
    me = catalog.as_("instructor", owner)
    path = _path(course_id, module_id, "users", student)
    # Not enrolled yet: 422, naming the id.
    assert_problem(await catalog.client.put(path, json={"unlock_at": WHEN}, headers=me), 422)
    await progress.enroll(student, course_id)

    r = await catalog.client.put(path, json={"unlock_at": "2031-02-03T05:05:06+01:00"}, headers=me)
    assert r.status_code == 201, r.text
    body = r.json()
    override_id = str(ce.override_id(uuid.UUID(course_id), uuid.UUID(module_id), "user", student))
    assert body["id"] == override_id
    assert body["course_id"] == course_id and body["module_id"] == module_id
    assert body["kind"] == "user" and body["target_id"] == str(student)
    assert dt.datetime.fromisoformat(body["unlock_at"]) == dt.datetime(
        2031, 2, 3, 4, 5, 6, tzinfo=dt.UTC
    )
    assert body["version"] == 1
    assert "Syllabus-Consistency" in r.headers  # a write: the client's token

    # The same time again: 200, nothing changes, no event.
    r = await catalog.client.put(path, json={"unlock_at": WHEN}, headers=me)
    assert r.status_code == 200 and r.json()["version"] == 1, r.text
    # Another time: 200, replaced.
    r = await catalog.client.put(path, json={"unlock_at": "2031-03-01T00:00:00Z"}, headers=me)
    assert r.status_code == 200 and r.json()["version"] == 2, r.text

    r = await catalog.client.delete(path, headers=me)
    assert r.status_code == 204, r.text
    assert_problem(await catalog.client.delete(path, headers=me), 404)
    r = await catalog.client.get(_path(course_id, module_id), headers=me)
    assert r.status_code == 200 and r.json() == []

    # Set again after the removal: created (201), its version going on.
    r = await catalog.client.put(path, json={"unlock_at": WHEN}, headers=me)
    assert r.status_code == 201 and r.json()["version"] == 4, r.text

    events = await _override_events(catalog)
    assert [(t, s) for t, s, _ in events] == [(SET, 1), (SET, 2), (REMOVED, 3), (SET, 4)]
    assert events[0][2] == {
        "override_id": override_id,
        "course_id": course_id,
        "module_id": module_id,
        "kind": "user",
        "target_id": str(student),
        "unlock_at": "2031-02-03T04:05:06Z",
    }
    assert "unlock_at" not in events[2][2]
    assert {e[2]["override_id"] for e in events} == {override_id}


async def test_a_completed_student_may_get_one_a_dropped_one_not(
    catalog: Catalog, progress: Progress
) -> None:
    owner, course_id, module_id = await _setup(catalog)
    me = catalog.as_("instructor", owner)
    finished, gone = uuid.uuid4(), uuid.uuid4()
    await progress.enroll(finished, course_id)
    await progress.enroll(finished, course_id, "completed")
    await progress.enroll(gone, course_id)
    await progress.enroll(gone, course_id, "dropped")
    r = await catalog.client.put(
        _path(course_id, module_id, "users", finished), json={"unlock_at": WHEN}, headers=me
    )
    assert r.status_code == 201, r.text
    problem = assert_problem(
        await catalog.client.put(
            _path(course_id, module_id, "users", gone), json={"unlock_at": WHEN}, headers=me
        ),
        422,
        "path.id",
    )
    assert "not enrolled" in problem["detail"]
    # Enrolled in another course is not enrolled in this one.
    elsewhere = await catalog.course(owner, status="published")
    await progress.enroll(gone, elsewhere["id"])
    assert_problem(
        await catalog.client.put(
            _path(course_id, module_id, "users", gone), json={"unlock_at": WHEN}, headers=me
        ),
        422,
    )


async def test_group_overrides_need_the_course_to_follow_the_group(
    catalog: Catalog, progress: Progress
) -> None:
    owner, course_id, module_id = await _setup(catalog)
    me = catalog.as_("instructor", owner)
    group, other = uuid.uuid4(), uuid.uuid4()
    path = _path(course_id, module_id, "groups", group)
    problem = assert_problem(
        await catalog.client.put(path, json={"unlock_at": WHEN}, headers=me), 422, "path.id"
    )
    assert "does not follow" in problem["detail"]
    await progress.follow(course_id, group)
    r = await catalog.client.put(path, json={"unlock_at": WHEN}, headers=me)
    assert r.status_code == 201 and r.json()["kind"] == "group", r.text
    # Each override is listed on its own, groups first.
    student = uuid.uuid4()
    await progress.enroll(student, course_id)
    r = await catalog.client.put(
        _path(course_id, module_id, "users", student),
        json={"unlock_at": "2030-01-01T00:00:00Z"},
        headers=me,
    )
    assert r.status_code == 201, r.text
    listed = (await catalog.client.get(_path(course_id, module_id), headers=me)).json()
    assert [(o["kind"], o["target_id"]) for o in listed] == [
        ("group", str(group)),
        ("user", str(student)),
    ]
    # A group the course followed and stopped following: no new override (the one set
    # stays, inert while the course does not follow the group).
    await progress.follow(course_id, other)
    await progress.follow(course_id, other, following=False)
    assert_problem(
        await catalog.client.put(
            _path(course_id, module_id, "groups", other), json={"unlock_at": WHEN}, headers=me
        ),
        422,
    )


async def test_who_may_set_list_and_remove(catalog: Catalog, progress: Progress) -> None:
    owner, course_id, module_id = await _setup(catalog)
    student = uuid.uuid4()
    await progress.enroll(student, course_id)
    path = _path(course_id, module_id, "users", student)
    body = {"unlock_at": WHEN}
    stranger = catalog.as_("instructor")
    for headers in (catalog.as_("student", student), stranger):
        assert_problem(await catalog.client.put(path, json=body, headers=headers), 403)
        assert_problem(await catalog.client.get(_path(course_id, module_id), headers=headers), 403)
        assert_problem(await catalog.client.delete(path, headers=headers), 403)
    assert_problem(await catalog.client.put(path, json=body), 401)
    # An admin may; the owner then sees it.
    r = await catalog.client.put(path, json=body, headers=catalog.as_("admin"))
    assert r.status_code == 201, r.text
    r = await catalog.client.get(
        _path(course_id, module_id), headers=catalog.as_("instructor", owner)
    )
    assert r.status_code == 200 and len(r.json()) == 1
    # Another instructor's draft course is not theirs to see: 404.
    draft = await catalog.course(owner)
    assert_problem(
        await catalog.client.put(
            _path(draft["id"], module_id, "users", student), json=body, headers=stranger
        ),
        404,
    )


async def test_bad_paths_and_bodies(catalog: Catalog, progress: Progress) -> None:
    owner, course_id, module_id = await _setup(catalog)
    me = catalog.as_("instructor", owner)
    student = uuid.uuid4()
    await progress.enroll(student, course_id)
    good = {"unlock_at": WHEN}
    # Not an override collection: 404 (a problem), whatever the method.
    for kind in ("teams", "user", "group"):
        assert_problem(
            await catalog.client.put(
                _path(course_id, module_id, kind, student), json=good, headers=me
            ),
            404,
        )
        assert_problem(
            await catalog.client.delete(_path(course_id, module_id, kind, student), headers=me),
            404,
        )
    # A module not in the course, an unknown course.
    other = await catalog.module(owner)
    for path in (
        _path(course_id, other["id"], "users", student),
        _path(str(uuid.uuid4()), module_id, "users", student),
    ):
        assert_problem(await catalog.client.put(path, json=good, headers=me), 404)
    assert_problem(await catalog.client.get(_path(course_id, other["id"]), headers=me), 404)
    # Times: RFC 3339 with a timezone, required, not null.
    path = _path(course_id, module_id, "users", student)
    for bad in (
        {"unlock_at": "2031-02-03T04:05:06"},
        {"unlock_at": "tomorrow"},
        {"unlock_at": 1_900_000_000},
        {"unlock_at": None},
        {},
        {"unlock_at": WHEN, "due_at": WHEN},
    ):
        assert_problem(await catalog.client.put(path, json=bad, headers=me), 422)
    assert_problem(
        await catalog.client.put(
            _path(course_id, module_id, "users", "not-a-uuid"), json=good, headers=me
        ),
        422,
        "path.id",
    )
    assert await _override_events(catalog) == []


async def test_detaching_the_module_and_deleting_the_course_remove_their_overrides(
    catalog: Catalog, progress: Progress
) -> None:
    owner, course_id, module_id = await _setup(catalog)
    me = catalog.as_("instructor", owner)
    second = await catalog.module(owner)
    await catalog.attach(course_id, second["id"], owner)
    students = [uuid.uuid4() for _ in range(3)]
    group = uuid.uuid4()
    await progress.follow(course_id, group)
    for student in students:
        await progress.enroll(student, course_id)
        r = await catalog.client.put(
            _path(course_id, module_id, "users", student), json={"unlock_at": WHEN}, headers=me
        )
        assert r.status_code == 201, r.text
    r = await catalog.client.put(
        _path(course_id, second["id"], "groups", group), json={"unlock_at": WHEN}, headers=me
    )
    assert r.status_code == 201, r.text
    # The course-wide list: every module's, in course order.
    r = await catalog.client.get(f"{API}/courses/{course_id}/overrides", headers=me)
    assert r.status_code == 200, r.text
    assert [o["module_id"] for o in r.json()] == [module_id] * 3 + [second["id"]]

    r = await catalog.client.delete(f"{API}/courses/{course_id}/modules/{module_id}", headers=me)
    assert r.status_code == 204, r.text
    removed = [e for e in await _override_events(catalog) if e[0] == REMOVED]
    assert sorted(e[2]["target_id"] for e in removed) == sorted(str(s) for s in students)
    assert {e[1] for e in removed} == {2}
    r = await catalog.client.get(f"{API}/courses/{course_id}/overrides", headers=me)
    assert [o["module_id"] for o in r.json()] == [second["id"]]
    # Attached again: none come back; one set again goes on from its version.
    await catalog.attach(course_id, module_id, owner)
    r = await catalog.client.get(_path(course_id, module_id), headers=me)
    assert r.json() == []
    r = await catalog.client.put(
        _path(course_id, module_id, "users", students[0]), json={"unlock_at": WHEN}, headers=me
    )
    assert r.status_code == 201 and r.json()["version"] == 3, r.text

    # A draft course deleted: its overrides removed with it, each with its event.
    draft = await catalog.course(owner)
    await catalog.attach(draft["id"], module_id, owner)
    await progress.follow(draft["id"], group)
    r = await catalog.client.put(
        _path(draft["id"], module_id, "groups", group), json={"unlock_at": WHEN}, headers=me
    )
    assert r.status_code == 201, r.text
    before = len(await _override_events(catalog))
    r = await catalog.client.delete(f"{API}/courses/{draft['id']}", headers=me)
    assert r.status_code == 204, r.text
    after = (await _override_events(catalog))[before:]
    assert [(t, s, d["course_id"], d["target_id"]) for t, s, d in after] == [
        (REMOVED, 2, draft["id"], str(group))
    ]


async def test_a_deleted_students_own_overrides_go(catalog: Catalog, progress: Progress) -> None:
    owner, course_id, module_id = await _setup(catalog)
    me = catalog.as_("instructor", owner)
    student, group = uuid.uuid4(), uuid.uuid4()
    await progress.enroll(student, course_id)
    await progress.follow(course_id, group)
    for kind, target in (("users", student), ("groups", group)):
        r = await catalog.client.put(
            _path(course_id, module_id, kind, target), json={"unlock_at": WHEN}, headers=me
        )
        assert r.status_code == 201, r.text
    identity = Outbox(catalog.runtime.tables, source="identity", namespace=progress.ns)
    deleted = ie.UserDeleted(user_id=student, deleted_at=dt.datetime.now(dt.UTC))
    await progress.js.publish(
        subject_for(progress.ns, ie.UserDeleted),
        identity.envelope(deleted, 2).model_dump_json().encode(),
    )

    async def listed() -> list[str]:
        r = await catalog.client.get(_path(course_id, module_id), headers=me)
        return [o["kind"] for o in r.json()]

    await _settles(listed, lambda kinds: kinds == ["group"])
    # No event for it (consumers apply UserDeleted themselves), and none can be set again.
    assert [t for t, _, _ in await _override_events(catalog)] == [SET, SET]
    assert_problem(
        await catalog.client.put(
            _path(course_id, module_id, "users", student), json={"unlock_at": WHEN}, headers=me
        ),
        422,
    )

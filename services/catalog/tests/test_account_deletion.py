"""A deleted account (identity's ``UserDeleted``): its enrollments leave the counts, its
courses and modules stay without a creator, and its tokens are refused."""

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
from sqlalchemy import func, select
from syllabus_catalog.models import EnrollmentCount
from syllabus_devkit.testing.asserts import eventually
from syllabus_shared.contracts import Envelope, Event
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as pe
from syllabus_shared.messaging.outbox import Outbox, subject_for

from conftest import API, Catalog

# Generous: event lag on a loaded machine (the checks return as soon as they hold).
LAG = 15.0


class Others:
    """Stands in for identity and progress: publishes their events into the namespace."""

    def __init__(self, catalog: Catalog, js: JetStreamContext) -> None:
        self.catalog = catalog
        self.js = js
        self.ns = catalog.settings.event_namespace
        self.outboxes = {
            source: Outbox(catalog.runtime.tables, source=source, namespace=self.ns)
            for source in ("identity", "progress")
        }

    async def publish(
        self, event: Event, sequence: int, envelope: Envelope | None = None
    ) -> Envelope:
        """Publish (a fresh Nats-Msg-Id each time: the same envelope again is a redelivery
        the stream does not drop)."""
        envelope = envelope or self.outboxes[event.source].envelope(event, sequence)
        await self.js.publish(
            subject_for(self.ns, type(event)),
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": str(uuid.uuid4())},
        )
        return envelope

    async def enroll(self, user_id: uuid.UUID, course_id: str) -> uuid.UUID:
        enrollment_id = uuid.uuid4()
        await self.publish(
            pe.EnrollmentCreated(
                enrollment_id=enrollment_id,
                user_id=user_id,
                course_id=uuid.UUID(course_id),
                status="active",
                enrolled_at=dt.datetime.now(dt.UTC),
            ),
            1,
        )
        return enrollment_id

    async def delete_user(self, user_id: uuid.UUID) -> Envelope:
        event = ie.UserDeleted(user_id=user_id, deleted_at=dt.datetime.now(dt.UTC))
        return await self.publish(event, 2)


@pytest_asyncio.fixture
async def others(catalog: Catalog) -> AsyncIterator[Others]:
    for consumer in catalog.runtime.consumers:  # their streams exist, nothing is missed
        await asyncio.wait_for(consumer.ready.wait(), 10)
    nc = await nats.connect(catalog.settings.nats_url)
    try:
        yield Others(catalog, nc.jetstream())
    finally:
        await nc.close()


async def _course(catalog: Catalog, course_id: str) -> dict[str, Any]:
    r = await catalog.client.get(f"{API}/courses/{course_id}", headers=catalog.as_("admin"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _count_settles(catalog: Catalog, course_id: str, expected: int) -> None:
    course = await eventually(
        lambda: _course(catalog, course_id),
        lambda c: c["enrollment_count"] == expected,
        timeout=LAG,
    )
    assert course["enrollment_count"] == expected, course


async def _rows_of(catalog: Catalog, user_id: uuid.UUID) -> int:
    async with catalog.runtime.db.transaction() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(EnrollmentCount)
                .where(EnrollmentCount.user_id == user_id)  # type: ignore[arg-type]
            )
            or 0
        )


async def _deleted(catalog: Catalog, user_id: uuid.UUID) -> bool:
    table = catalog.runtime.tables.deleted_users
    async with catalog.runtime.db.transaction() as session:
        found = await session.execute(select(table.c.user_id).where(table.c.user_id == user_id))
        return found.first() is not None


async def test_deleting_a_student_and_a_teacher(catalog: Catalog, others: Others) -> None:
    teacher, student, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    teacher_headers = catalog.as_("instructor", teacher)
    course = await catalog.course(teacher, status="published")
    draft = await catalog.course(teacher)
    module = await catalog.module(teacher)
    await catalog.attach(course["id"], module["id"], teacher)
    elsewhere = await catalog.course(uuid.uuid4(), status="published")
    await others.enroll(student, course["id"])
    await others.enroll(other, course["id"])
    await others.enroll(student, elsewhere["id"])
    await _count_settles(catalog, course["id"], 2)
    await _count_settles(catalog, elsewhere["id"], 1)
    # The teacher's token works before the deletion.
    r = await catalog.client.get(f"{API}/courses?creator_id={teacher}", headers=teacher_headers)
    assert r.status_code == 200 and len(r.json()["items"]) == 2
    before = await _course(catalog, course["id"])

    await others.delete_user(student)
    await others.delete_user(teacher)

    # The counts that included the student drop; their rows are gone.
    await _count_settles(catalog, course["id"], 1)
    await _count_settles(catalog, elsewhere["id"], 0)
    assert await _rows_of(catalog, student) == 0
    assert await _rows_of(catalog, other) == 1
    # The teacher's courses and module stay, without a creator (a new version).
    assert await eventually(lambda: _deleted(catalog, teacher), bool, timeout=LAG)
    kept = await _course(catalog, course["id"])
    assert kept["creator_id"] is None and kept["version"] == before["version"] + 1
    assert kept["title"] == course["title"] and kept["status"] == "published"
    assert (await _course(catalog, draft["id"]))["creator_id"] is None
    r = await catalog.client.get(f"{API}/modules/{module['id']}", headers=catalog.as_("admin"))
    assert r.status_code == 200 and r.json()["creator_id"] is None
    # "Their courses" is empty now; guests still see the published one, creator null.
    r = await catalog.client.get(
        f"{API}/courses?creator_id={teacher}", headers=catalog.as_("admin")
    )
    assert r.json()["items"] == []
    r = await catalog.client.get(f"{API}/courses/{course['id']}")
    assert r.status_code == 200 and r.json()["creator_id"] is None
    # Both tokens are refused.
    for headers in (teacher_headers, catalog.as_("student", student)):
        r = await catalog.client.get(f"{API}/courses", headers=headers)
        assert r.status_code == 401, r.text
    # Nobody owns them now: another instructor may not change them; an admin may (and
    # the event carries the null creator).
    r = await catalog.client.patch(
        f"{API}/courses/{draft['id']}",
        json={"title": "Someone else's"},
        headers=catalog.as_("instructor"),
    )
    assert r.status_code in (403, 404)
    r = await catalog.client.patch(
        f"{API}/courses/{course['id']}", json={"title": "Adopted"}, headers=catalog.as_("admin")
    )
    assert r.status_code == 200, r.text
    assert r.json()["creator_id"] is None
    r = await catalog.client.patch(
        f"{API}/modules/{module['id']}", json={"title": "Adopted"}, headers=catalog.as_("admin")
    )
    assert r.status_code == 200 and r.json()["creator_id"] is None
    r = await catalog.client.delete(f"{API}/courses/{draft['id']}", headers=catalog.as_("admin"))
    assert r.status_code == 204
    envelopes = [json.loads(row.payload) for row in await catalog.outbox()]
    updated = [
        e["data"] for e in envelopes if e["type"].endswith(("CourseUpdated.v1", "ModuleUpdated.v1"))
    ]
    assert len(updated) == 2 and all(data["creator_id"] is None for data in updated)


async def test_redelivery_and_late_events_change_nothing(catalog: Catalog, others: Others) -> None:
    student, other = uuid.uuid4(), uuid.uuid4()
    course = await catalog.course(uuid.uuid4(), status="published")
    await others.enroll(student, course["id"])
    await _count_settles(catalog, course["id"], 1)
    deletion = await others.delete_user(student)
    await _count_settles(catalog, course["id"], 0)
    settled = await _course(catalog, course["id"])

    # The same UserDeleted again (past the stream's duplicate window) changes nothing.
    await others.publish(
        ie.UserDeleted(user_id=student, deleted_at=dt.datetime.now(dt.UTC)), 2, deletion
    )
    # An enrollment of the deleted student arriving after the deletion (another stream)
    # creates nothing; one of another student, behind it on the same stream, is applied.
    await others.enroll(student, course["id"])
    await others.enroll(other, course["id"])
    await _count_settles(catalog, course["id"], 1)
    assert await _rows_of(catalog, student) == 0
    sentinel = uuid.uuid4()
    await others.delete_user(sentinel)  # behind the redelivery on the identity stream
    assert await eventually(lambda: _deleted(catalog, sentinel), bool, timeout=LAG)
    after = await _course(catalog, course["id"])
    assert after["version"] == settled["version"]
    assert after["enrollment_count"] == 1

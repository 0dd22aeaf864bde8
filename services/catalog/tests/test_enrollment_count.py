"""enrollment_count, kept from progress's events: idempotent and order-tolerant."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from syllabus_devkit.testing.asserts import eventually
from syllabus_shared.contracts import Envelope
from syllabus_shared.contracts import progress as pe
from syllabus_shared.messaging.nats_link import ensure_stream
from syllabus_shared.messaging.outbox import Outbox, subject_for

from conftest import API, Catalog


class Progress:
    """Stands in for the progress service: publishes its events into this test's namespace."""

    def __init__(self, catalog: Catalog, js: JetStreamContext) -> None:
        self.catalog = catalog
        self.js = js
        self.ns = catalog.settings.event_namespace
        self.outbox = Outbox(catalog.runtime.tables, source="progress", namespace=self.ns)

    def envelope(
        self,
        cls: type[pe.EnrollmentEvent],
        enrollment_id: uuid.UUID,
        course_id: str,
        sequence: int,
        status: str | None = None,
    ) -> tuple[str, Envelope]:
        now = dt.datetime.now(dt.UTC)
        fields: dict[str, Any] = {
            "enrollment_id": enrollment_id,
            "user_id": uuid.uuid4(),
            "course_id": uuid.UUID(course_id),
            "status": status
            or {
                pe.EnrollmentCreated: "active",
                pe.EnrollmentDropped: "dropped",
                pe.CourseCompleted: "completed",
            }[cls],
        }
        if cls is pe.EnrollmentCreated:
            fields["enrolled_at"] = now
        if cls is pe.CourseCompleted:
            fields["completed_at"] = now
        event = cls(**fields)
        return subject_for(self.ns, cls), self.outbox.envelope(event, sequence)

    async def publish(self, subject: str, envelope: Envelope, msg_id: str | None = None) -> None:
        await self.js.publish(
            subject,
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": msg_id or str(envelope.id)},
        )

    async def send(
        self,
        cls: type[pe.EnrollmentEvent],
        enrollment_id: uuid.UUID,
        course_id: str,
        sequence: int,
    ) -> tuple[str, Envelope]:
        subject, envelope = self.envelope(cls, enrollment_id, course_id, sequence)
        await self.publish(subject, envelope)
        return subject, envelope


async def _connect(catalog: Catalog) -> tuple[Client, Progress]:
    # Let catalog's consumer create its durable consumer first (it reads from the start anyway).
    await asyncio.wait_for(catalog.runtime.consumers[0].ready.wait(), 10)
    nc = await nats.connect(catalog.settings.nats_url)
    js = nc.jetstream()
    ns = catalog.settings.event_namespace
    await ensure_stream(js, f"{ns.upper()}_PROGRESS", [f"{ns}.progress.>"])
    return nc, Progress(catalog, js)


async def _count(catalog: Catalog, course_id: str) -> int:
    r = await catalog.client.get(f"{API}/courses/{course_id}", headers=catalog.as_("admin"))
    assert r.status_code == 200
    count: int = r.json()["enrollment_count"]
    return count


async def _settles_at(catalog: Catalog, course_id: str, expected: int) -> None:
    got = await eventually(lambda: _count(catalog, course_id), lambda n: n == expected)
    assert got == expected


async def test_enrollment_count_follows_progress_events(catalog: Catalog) -> None:
    owner = uuid.uuid4()
    course = (await catalog.course(owner, status="published"))["id"]
    sentinel_course = (await catalog.course(owner, status="published"))["id"]
    nc, progress = await _connect(catalog)
    try:
        active, completed, dropped, dup, stale, back = (uuid.uuid4() for _ in range(6))
        # counted: an active enrollment
        await progress.send(pe.EnrollmentCreated, active, course, 1)
        # counted: a completed one
        await progress.send(pe.EnrollmentCreated, completed, course, 1)
        await progress.send(pe.CourseCompleted, completed, course, 2)
        # not counted: dropped
        await progress.send(pe.EnrollmentCreated, dropped, course, 1)
        await progress.send(pe.EnrollmentDropped, dropped, course, 2)
        # counted once: the same event delivered again, past the broker's duplicate check
        subject, envelope = await progress.send(pe.EnrollmentCreated, dup, course, 1)
        await progress.publish(subject, envelope, msg_id=str(uuid.uuid4()))
        await progress.publish(subject, envelope)  # and one the broker drops itself
        # not counted: the drop arrives before the older "created" (which must be ignored)
        await progress.send(pe.EnrollmentDropped, stale, course, 2)
        await progress.send(pe.EnrollmentCreated, stale, course, 1)
        # counted: dropped, then re-enrolled
        await progress.send(pe.EnrollmentCreated, back, course, 1)
        await progress.send(pe.EnrollmentDropped, back, course, 2)
        await progress.send(pe.EnrollmentCreated, back, course, 3)
        # a newer event with the same sequence as the applied one is stale too
        await progress.send(pe.EnrollmentDropped, back, course, 3)
        # Events are applied in stream order: once this one shows, all the above were handled.
        await progress.send(pe.EnrollmentCreated, uuid.uuid4(), sentinel_course, 1)

        await _settles_at(catalog, sentinel_course, 1)
        assert await _count(catalog, course) == 4  # active, completed, dup, back

        # Later changes keep applying.
        await progress.send(pe.EnrollmentDropped, active, course, 2)
        await progress.send(pe.EnrollmentDropped, completed, course, 3)
        await _settles_at(catalog, course, 2)
        await progress.send(pe.EnrollmentCreated, dropped, course, 3)
        await _settles_at(catalog, course, 3)
    finally:
        await nc.close()

    # Guests see the count too, and no course picked up another course's enrollments.
    r = await catalog.client.get(f"{API}/courses/{course}")
    assert r.json()["enrollment_count"] == 3
    assert await _count(catalog, sentinel_course) == 1


async def test_count_change_is_a_new_representation(catalog: Catalog) -> None:
    owner = uuid.uuid4()
    course = await catalog.course(owner, status="published")
    url = f"{API}/courses/{course['id']}"
    etag = (await catalog.client.get(url)).headers["etag"]
    nc, progress = await _connect(catalog)
    try:
        enrollment = uuid.uuid4()
        await progress.send(pe.EnrollmentCreated, enrollment, course["id"], 1)
        # An enrollment in a course catalog never had is harmless.
        await progress.send(pe.EnrollmentCreated, uuid.uuid4(), str(uuid.uuid4()), 1)
        await _settles_at(catalog, course["id"], 1)
        # A redelivered event changes nothing, not even the version.
        after_first = (await catalog.client.get(url)).json()
        await progress.send(pe.CourseCompleted, enrollment, course["id"], 2)  # still counted
        sentinel = (await catalog.course(owner, status="published"))["id"]
        await progress.send(pe.EnrollmentCreated, uuid.uuid4(), sentinel, 1)
        await _settles_at(catalog, sentinel, 1)
    finally:
        await nc.close()
    # A cached copy with the old count must not be confirmed as current (no 304).
    r = await catalog.client.get(url, headers={"If-None-Match": etag})
    assert r.status_code == 200
    assert r.json()["enrollment_count"] == 1
    assert r.headers["etag"] != etag
    assert r.json() == after_first
    r = await catalog.client.get(url, headers={"If-None-Match": r.headers["etag"]})
    assert r.status_code == 304
    # The count is not an edit: the instructor's tag from before the enrollment still
    # satisfies If-Match, and the version did not move.
    assert r.headers["etag"] == f'"{course["version"]}.1"'
    r = await catalog.client.patch(
        url,
        json={"title": "Renamed"},
        headers={**catalog.as_("instructor", owner), "If-Match": etag},
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == course["version"] + 1

"""Notices for the live stream (progress.notices): whom each change concerns, with the
consistency token of its cause; none for people it does not concern; the unlock clock."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from syllabus_devkit.testing.asserts import eventually
from syllabus_shared.consistency_token import ConsistencyToken, type_code
from syllabus_shared.contracts import progress as pr
from syllabus_shared.db import utcnow

from conftest import Progress


def _told(notices: list[dict[str, Any]], user: uuid.UUID, **fields: str) -> list[dict[str, Any]]:
    return [
        n["data"]
        for n in notices
        if n["data"]["user_id"] == str(user)
        and all(n["data"].get(k) == v for k, v in fields.items())
    ]


async def test_completion_enrollment_and_structure_are_told_to_whom_they_concern(
    progress: Progress,
) -> None:
    p, w = progress, progress.world
    owner = uuid.uuid4()
    course, _, posts = await w.course_with(1, 2, owner=owner)
    await p.synced()
    student, headers = p.student()
    bystander, bystander_headers = p.student()
    other_course, _, _ = await w.course_with(1, 1)
    await p.synced()
    assert (await p.enroll(course, headers)).status_code == 201
    assert (await p.enroll(other_course, bystander_headers)).status_code == 201
    assert (await p.complete(posts[0][0], headers)).status_code == 201

    async def notices() -> list[dict[str, Any]]:
        return await p.events("Notice")

    seen = await eventually(
        notices,
        lambda n: bool(_told(n, student, reason="completion") and _told(n, owner, kind="roster")),
    )
    assert _told(seen, student, kind="progress", course_id=str(course), reason="enrollment")
    (completion,) = _told(seen, student, reason="completion")
    assert completion["course_id"] == str(course)
    # The token names the PostCompleted it follows from.
    cause = ConsistencyToken.parse(completion["consistency"]).positions
    assert cause.get(type_code(pr.PostCompleted.type_name()), 0) >= 1
    assert all(n["subject"].endswith(str(n["data"]["user_id"])) for n in seen)

    # An outline change reaches the course's students and its owner.
    module = await w.module("Later")
    await w.attach(course, module)
    structure = await eventually(notices, lambda n: bool(_told(n, student, reason="structure")))
    (told,) = _told(structure, student, reason="structure")
    assert told["course_id"] == str(course)
    assert _told(structure, owner, kind="roster", course_id=str(course))
    # The bystander (another course) hears of nothing in this one.
    assert all(
        n["data"].get("course_id") != str(course)
        for n in structure
        if n["data"]["user_id"] == str(bystander)
    )


async def test_the_unlock_clock_tells_students_when_a_date_passes(progress: Progress) -> None:
    p, w = progress, progress.world
    course, (m1, m2), _ = await w.course_with(2, 1)
    at = utcnow() + dt.timedelta(seconds=1.5)
    await w.gate(course, m2, unlock_at=at)
    await p.synced()
    student, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201

    async def unlocks() -> list[dict[str, Any]]:
        return _told(await p.events("Notice"), student, reason="unlock")

    assert await unlocks() == []
    told = await eventually(unlocks, bool, timeout=6.0)
    assert told and told[0]["course_id"] == str(course)
    assert utcnow() >= at
    assert m1 != m2


async def test_the_unlock_clock_tells_students_when_their_own_date_passes(
    progress: Progress,
) -> None:
    """A date per student (catalog's unlock override) passing is told like the course's."""
    p, w = progress, progress.world
    course, (_, m2), _ = await w.course_with(2, 1)
    await w.gate(course, m2, unlock_at=utcnow() + dt.timedelta(days=3))
    student, headers = p.student()
    await p.synced()
    assert (await p.enroll(course, headers)).status_code == 201
    at = utcnow() + dt.timedelta(seconds=1.5)
    await w.unlock_override(course, m2, "user", student, at)
    await p.synced()

    async def unlocks() -> list[dict[str, Any]]:
        return [n for n in _told(await p.events("Notice"), student, reason="unlock")]

    # The override itself is told at once (a date changed); the clock tells it again
    # once the date passes.
    first = await eventually(unlocks, lambda n: len(n) >= 1, timeout=6.0)
    assert len(first) == 1
    told = await eventually(unlocks, lambda n: len(n) >= 2, timeout=6.0)
    assert len(told) == 2 and utcnow() >= at
    doc = await p.doc(course, headers)
    assert doc["modules"][1]["state"] == "unlocked"

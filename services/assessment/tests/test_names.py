"""Students' names in gradebooks and submission lists (issue 25): kept from identity's
``UserRegistered`` and ``UserProfileChanged`` in the ``users`` projection, never asked of
identity; a student whose registration has not arrived is listed with null names; a deleted
account's row goes with it and never comes back."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from sqlalchemy import select
from syllabus_assessment.models import User
from syllabus_devkit.testing.asserts import eventually

from conftest import API, Assessment

# Generous: event lag on a loaded machine (the checks return as soon as they hold).
LAG = 15.0


async def _names(a: Assessment, user_id: uuid.UUID) -> tuple[str, str | None] | None:
    async with a.runtime.db.transaction() as session:
        row = (
            await session.execute(
                select(User.username, User.display_name).where(User.user_id == user_id)  # type: ignore[arg-type]
            )
        ).first()
    return None if row is None else (row.username, row.display_name)


async def _everywhere(
    a: Assessment, course_id: uuid.UUID, post_id: uuid.UUID, user_id: uuid.UUID
) -> dict[str, Any]:
    """The student's names as the gradebook (JSON and CSV) and the submission list show them."""
    admin = a.as_("admin")
    book = (await a.client.get(f"{API}/courses/{course_id}/grades", headers=admin)).json()
    [row] = [r for r in book["items"] if r["user_id"] == str(user_id)]
    r = await a.client.get(
        f"{API}/courses/{course_id}/grades", headers={**admin, "Accept": "text/csv"}
    )
    [line] = [x for x in csv.reader(io.StringIO(r.text)) if x[0] == str(user_id)]
    listed = (
        await a.client.get(
            f"{API}/posts/{post_id}/submissions", params={"user_id": str(user_id)}, headers=admin
        )
    ).json()["items"]
    return {
        "json": (row["username"], row["display_name"]),
        "csv": tuple(line[1:3]),
        "submissions": {(d["username"], d["display_name"]) for d in listed},
    }


async def test_a_display_name_change_shows_within_the_lag(shared_assessment: Assessment) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    await a.submitted(s.assignment, s.student, {"body": "essay"})
    # Enrolled and submitted before identity's event arrives: listed, without names.
    assert await _everywhere(a, s.course_id, s.assignment, s.student) == {
        "json": (None, None),
        "csv": ("", ""),
        "submissions": {(None, None)},
    }

    await w.register_user(s.student, "noor", "Noor")
    await w.rename_user(s.student, "noor", "Noor Inayat")
    seen = await eventually(
        lambda: _everywhere(a, s.course_id, s.assignment, s.student),
        lambda e: e["json"] == ("noor", "Noor Inayat"),
        timeout=LAG,
    )
    assert seen == {
        "json": ("noor", "Noor Inayat"),
        "csv": ("noor", "Noor Inayat"),
        "submissions": {("noor", "Noor Inayat")},
    }


async def test_many_at_once_in_one_batch(shared_assessment: Assessment) -> None:
    """A backlog of registrations and renames (the set-based handler: one upsert)."""
    a = shared_assessment
    w = a.world
    users = [uuid.uuid4() for _ in range(20)]
    for i, user in enumerate(users):
        await w.register_user(user, f"u{i}", f"User {i}", hold=True)
    for user in users[::2]:
        await w.rename_user(user, f"u{users.index(user)}", "Renamed", hold=True)
    await w.deliver(w.take_held())
    await a.synced()
    for i, user in enumerate(users):
        assert await _names(a, user) == (f"u{i}", "Renamed" if i % 2 == 0 else f"User {i}")


async def test_a_deleted_user_leaves_no_row(shared_assessment: Assessment) -> None:
    a = shared_assessment
    w = a.world
    s = await a.setup()
    other = uuid.uuid4()
    await w.enroll(other, s.course_id)
    await w.register_user(s.student, "leaving", "Leaving Soon")
    await w.register_user(other, "staying", "Staying")
    await a.synced()
    assert await _names(a, s.student) == ("leaving", "Leaving Soon")

    await w.delete_user(s.student)
    assert await eventually(lambda: _names(a, s.student), lambda n: n is None, timeout=LAG) is None
    book = (
        await a.client.get(f"{API}/courses/{s.course_id}/grades", headers=a.as_("admin"))
    ).json()
    assert [(r["user_id"], r["username"]) for r in book["items"]] == [(str(other), "staying")]

    # Even a newer event about the deleted account (a replay, a producer bug) writes nothing.
    await w.rename_user(s.student, "leaving", "Back?")
    await a.synced()
    assert await _names(a, s.student) is None
    assert await _names(a, other) == ("staying", "Staying")

"""Users' names on the roster (issue 25): kept from identity's ``UserRegistered`` and
``UserProfileChanged`` in the ``users`` projection, never asked of identity; a student
whose registration has not arrived is listed with null names; a deleted account's row goes
with it and never comes back."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from syllabus_devkit.testing.asserts import eventually
from syllabus_progress.models import User
from syllabus_shared.contracts import identity as ie

from conftest import API, Progress

# Generous: event lag on a loaded machine (the checks return as soon as they hold).
LAG = 15.0


async def _roster(p: Progress, course: uuid.UUID, owner: uuid.UUID) -> dict[str, Any]:
    r = await p.client.get(
        f"{API}/courses/{course}/progress?limit=100", headers=p.as_("instructor", owner)
    )
    assert r.status_code == 200, r.text
    return {i["user_id"]: (i["username"], i["display_name"]) for i in r.json()["items"]}


async def _names(p: Progress, user_id: uuid.UUID) -> tuple[str, str | None] | None:
    async with p.runtime.db.transaction() as session:
        row = (
            await session.execute(
                select(User.username, User.display_name).where(User.user_id == user_id)  # type: ignore[arg-type]
            )
        ).first()
    return None if row is None else (row.username, row.display_name)


async def test_names_follow_identity_within_the_lag(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    owner = uuid.uuid4()
    course, _, _ = await w.course_with(1, 1, owner=owner)
    await p.synced()
    student, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201
    # Enrolled before identity's event arrives: listed, without names.
    assert (await _roster(p, course, owner))[str(student)] == (None, None)

    await w.register_user(student, "ada", "Ada L.")
    roster = await eventually(
        lambda: _roster(p, course, owner), lambda r: r[str(student)][0] is not None, timeout=LAG
    )
    assert roster[str(student)] == ("ada", "Ada L.")

    renamed = await w.rename_user(student, "ada", "Ada Lovelace")
    roster = await eventually(
        lambda: _roster(p, course, owner),
        lambda r: r[str(student)] == ("ada", "Ada Lovelace"),
        timeout=LAG,
    )
    assert roster[str(student)] == ("ada", "Ada Lovelace")

    # An older event redelivered (past the duplicate window) is stale: no regression.
    first = ie.UserRegistered(
        user_id=student, username="ada", display_name="Ada L.", role="student"
    )
    older = p.world.outboxes["identity"].envelope(first, 1)
    await w.deliver([(ie.UserRegistered, older), (ie.UserProfileChanged, renamed)], again=True)
    sentinel = uuid.uuid4()
    await w.register_user(sentinel, "sentinel")  # behind them on the stream
    await p.synced()
    assert await _names(p, sentinel) == ("sentinel", "sentinel")
    assert (await _roster(p, course, owner))[str(student)] == ("ada", "Ada Lovelace")


async def test_many_at_once_in_one_batch(shared_progress: Progress) -> None:
    """A backlog of registrations and renames (the set-based handler: one upsert)."""
    p = shared_progress
    w = p.world
    users = [uuid.uuid4() for _ in range(20)]
    for i, user in enumerate(users):
        await w.register_user(user, f"u{i}", f"User {i}", hold=True)
    for i, user in enumerate(users[::2]):
        await w.rename_user(user, f"u{2 * i}", f"Renamed {2 * i}", hold=True)
    await w.deliver(w.take_held())
    await p.synced()
    for i, user in enumerate(users):
        expected = f"Renamed {i}" if i % 2 == 0 else f"User {i}"
        assert await _names(p, user) == (f"u{i}", expected)


async def test_a_deleted_user_leaves_no_row(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    owner = uuid.uuid4()
    course, _, _ = await w.course_with(1, 1, owner=owner)
    student, headers = p.student()
    other, other_headers = p.student()
    await w.register_user(student, "gone_soon", "Gone Soon")
    await w.register_user(other, "stays", "Stays")
    await p.synced()
    for h in (headers, other_headers):
        assert (await p.enroll(course, h)).status_code == 201
    assert await _names(p, student) == ("gone_soon", "Gone Soon")

    await w.delete_user(student)
    assert await eventually(lambda: _names(p, student), lambda n: n is None, timeout=LAG) is None
    assert await _roster(p, course, owner) == {str(other): ("stays", "Stays")}

    # Even a newer event about the deleted account (a replay, a producer bug) writes nothing.
    await w.rename_user(student, "gone_soon", "Back?")
    await p.synced()
    assert await _names(p, student) is None
    assert await _names(p, other) == ("stays", "Stays")

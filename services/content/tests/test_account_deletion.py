"""A deleted account (identity's ``UserDeleted``): the student's views, completions and
submissions leave content (``completion_count``, ``submission_count`` drop); the
teacher's posts stay with ``creator_id`` null and their modules without an owner (admins
manage them); tokens are refused; a redelivered deletion or a late event changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select
from syllabus_content.models import Completion, KnownCourse, KnownModule, PostView, Submission
from syllabus_devkit.testing.asserts import eventually
from syllabus_shared.contracts import Envelope
from syllabus_shared.contracts import assessment as ae
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as pe
from syllabus_shared.ids import new_id

from conftest import API, Content

ASSIGNMENT = {"kind": "assignment", "instructions": "Write it.", "max_points": 10}

# Generous: event lag on a loaded machine (the checks return as soon as they hold).
LAG = 15.0


def completed(post_id: str, user_id: uuid.UUID) -> pe.PostCompleted:
    return pe.PostCompleted(
        completion_id=new_id(),
        user_id=user_id,
        post_id=uuid.UUID(post_id),
        completed_at=dt.datetime.now(dt.UTC),
    )


def submitted(post_id: str, user_id: uuid.UUID) -> ae.SubmissionCreated:
    return ae.SubmissionCreated(
        submission_id=new_id(),
        post_id=uuid.UUID(post_id),
        user_id=user_id,
        attempt=1,
        status="submitted",
        max_points=10,
        late=False,
        submitted_at=dt.datetime.now(dt.UTC),
    )


async def delete_user(content: Content, user_id: uuid.UUID) -> Envelope:
    return await content.publish(
        ie.UserDeleted(user_id=user_id, deleted_at=dt.datetime.now(dt.UTC)), 2
    )


async def _post(content: Content, post_id: str) -> dict[str, Any]:
    r = await content.client.get(f"{API}/posts/{post_id}", headers=content.as_("admin"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _counts(content: Content, text: str, assignment: str) -> tuple[int, int]:
    return (
        (await _post(content, text))["completion_count"],
        (await _post(content, assignment))["submission_count"],
    )


async def _settle(content: Content, text: str, assignment: str, expected: tuple[int, int]) -> None:
    got = await eventually(
        lambda: _counts(content, text, assignment), lambda c: c == expected, timeout=LAG
    )
    assert got == expected


async def _rows(content: Content, user_id: uuid.UUID) -> dict[str, int]:
    out = {}
    async with content.runtime.db.transaction() as session:
        for model in (PostView, Completion, Submission):
            n = await session.scalar(
                select(func.count()).select_from(model).where(model.user_id == user_id)  # type: ignore[attr-defined]
            )
            out[model.__tablename__] = int(n or 0)  # type: ignore[attr-defined]
    return out


async def _deleted(content: Content, user_id: uuid.UUID) -> bool:
    table = content.runtime.tables.deleted_users
    async with content.runtime.db.transaction() as session:
        found = await session.execute(select(table.c.user_id).where(table.c.user_id == user_id))
        return found.first() is not None


async def _a_course(content: Content) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, str, str]:
    """A teacher's module in their published course, with a text and an assignment post."""
    teacher = uuid.uuid4()
    module = await content.module(teacher)
    course = await content.course(teacher, [module])
    text = (await content.post(module, teacher, status="published"))["id"]
    assignment = (await content.post(module, teacher, ASSIGNMENT, status="published"))["id"]
    return teacher, module, course, text, assignment


async def test_the_cascade(content: Content) -> None:
    teacher, module, course, text, assignment = await _a_course(content)
    student, other = uuid.uuid4(), uuid.uuid4()
    student_headers = content.as_("student", student)
    for user in (student, other):
        r = await content.client.get(f"{API}/posts/{text}", headers=content.as_("student", user))
        assert r.status_code == 200, r.text
        await content.publish(completed(text, user), 1)
        await content.publish(submitted(assignment, user), 1)
    await _settle(content, text, assignment, (2, 2))
    assert await _rows(content, student) == {"post_views": 1, "completions": 1, "submissions": 1}
    before = await _post(content, text)

    await delete_user(content, student)
    await delete_user(content, teacher)

    # The counts that included the student drop; their rows are gone, the other's stay.
    await _settle(content, text, assignment, (1, 1))
    assert await eventually(lambda: _deleted(content, teacher), bool, timeout=LAG)
    assert await _rows(content, student) == {"post_views": 0, "completions": 0, "submissions": 0}
    assert await _rows(content, other) == {"post_views": 1, "completions": 1, "submissions": 1}
    # The teacher's posts stay with creator_id null (a new version); the module and the
    # course have no owner in content's projection.
    kept = await _post(content, text)
    assert kept["creator_id"] is None and kept["version"] == before["version"] + 1
    assert kept["title"] == before["title"]
    known_module = await content.known_module(module)
    assert known_module is not None and known_module.creator_id is None
    assert not known_module.deleted
    known_course = await content.known_course(course)
    assert isinstance(known_course, KnownCourse) and known_course.creator_id is None
    # Guests and students still read them.
    r = await content.client.get(f"{API}/modules/{module}/posts")
    assert r.status_code == 200 and len(r.json()["items"]) == 2
    assert all(p["creator_id"] is None for p in r.json()["items"])
    # The deleted accounts' tokens are refused.
    for headers in (student_headers, content.as_("instructor", teacher)):
        r = await content.client.get(f"{API}/posts/{text}", headers=headers)
        assert r.status_code == 401, r.text
    # Nobody owns the module now: another instructor may not change its posts; an admin
    # may, and may add posts (the events carry the null creator of the old ones).
    r = await content.client.patch(
        f"{API}/posts/{text}", json={"title": "Mine now"}, headers=content.as_("instructor")
    )
    assert r.status_code == 403, r.text
    r = await content.client.patch(
        f"{API}/posts/{text}", json={"title": "Adopted"}, headers=content.as_("admin")
    )
    assert r.status_code == 200 and r.json()["creator_id"] is None
    added = await content.post(module, uuid.uuid4(), role="admin")
    assert added["module_id"] == str(module)
    updated = await content.published(lambda e: e.type.endswith("PostUpdated.v1"))
    assert any(e.data["post_id"] == text and e.data["creator_id"] is None for e in updated)


async def test_redelivery_and_late_events_change_nothing(content: Content) -> None:
    teacher, module, _, text, assignment = await _a_course(content)
    student, other = uuid.uuid4(), uuid.uuid4()
    await content.publish(completed(text, student), 1)
    await content.publish(submitted(assignment, student), 1)
    await _settle(content, text, assignment, (1, 1))
    deletion = await delete_user(content, student)
    await delete_user(content, teacher)
    await _settle(content, text, assignment, (0, 0))
    assert await eventually(lambda: _deleted(content, teacher), bool, timeout=LAG)
    settled = await _post(content, text)

    # The deletion again (a redelivery past the stream's duplicate window).
    await content.publish(
        ie.UserDeleted(user_id=student, deleted_at=dt.datetime.now(dt.UTC)), 2, envelope=deletion
    )
    # Events of the deleted accounts arriving after the deletion (other streams, or a
    # replay reading them after identity's): they create nothing, and a late module
    # state naming the deleted teacher does not bring the owner back.
    await content.publish(completed(text, student), 1)
    await content.publish(submitted(assignment, student), 1)
    await content.publish(ce.ModuleUpdated(module_id=module, title="Late", creator_id=teacher), 2)
    # Behind them on each stream, another user's: once those are applied, so were they.
    await content.publish(completed(text, other), 1)
    await content.publish(submitted(assignment, other), 1)
    sentinel = uuid.uuid4()
    await delete_user(content, sentinel)
    await _settle(content, text, assignment, (1, 1))
    assert await eventually(lambda: _deleted(content, sentinel), bool, timeout=LAG)
    known = await eventually(
        lambda: content.known_module(module),
        lambda m: m is not None and m.title == "Late",
        timeout=LAG,
    )
    assert known is not None and known.title == "Late" and known.creator_id is None
    assert await _rows(content, student) == {"post_views": 0, "completions": 0, "submissions": 0}
    assert (await _post(content, text))["version"] == settled["version"]
    # A module with no owner is still a module (not a tombstone): admins write its posts.
    assert isinstance(known, KnownModule)
    r = await content.client.get(f"{API}/modules/{module}/posts", headers=content.as_("admin"))
    assert r.status_code == 200 and len(r.json()["items"]) == 2

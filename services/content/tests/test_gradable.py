"""Gradable kinds (assignment, quiz): ``due_at`` and ``attempts``, validated, defaulted,
editable; post events carry what assessment grades with (the answer key included), the
API never shows the key to students; ``submission_count`` is kept from assessment's
``SubmissionCreated`` events."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from syllabus_content.models import Post, Submission
from syllabus_devkit.testing.asserts import assert_problem, eventually
from syllabus_shared.contracts import assessment as ae
from syllabus_shared.contracts import content as ev
from syllabus_shared.ids import new_id

from conftest import API, QUIZ, TEXT, Content, about_module

ASSIGNMENT: dict[str, Any] = {"kind": "assignment", "instructions": "Do it.", "max_points": 10}
VIDEO = {"kind": "video", "url": "https://example.com/v.mp4"}
LINK = {"kind": "link", "url": "https://example.com/"}
DUE = "2030-01-31T23:59:00+01:00"

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("assignment naive due_at", {**ASSIGNMENT, "due_at": "2030-01-01T10:00:00"}, "due_at"),
    ("assignment due_at not a date", {**ASSIGNMENT, "due_at": "soon"}, "due_at"),
    ("quiz naive due_at", {**QUIZ, "due_at": "2030-01-01T10:00:00"}, "due_at"),
    ("quiz due_at invalid", {**QUIZ, "due_at": "2030-13-01T10:00:00Z"}, "due_at"),
    ("quiz due_at a number", {**QUIZ, "due_at": 1893456000}, "due_at"),
    ("assignment attempts 0", {**ASSIGNMENT, "attempts": 0}, "attempts"),
    ("assignment attempts -1", {**ASSIGNMENT, "attempts": -1}, "attempts"),
    ("assignment attempts text", {**ASSIGNMENT, "attempts": "x"}, "attempts"),
    ("assignment attempts numeric text", {**ASSIGNMENT, "attempts": "2"}, "attempts"),
    ("assignment attempts 1.5", {**ASSIGNMENT, "attempts": 1.5}, "attempts"),
    ("assignment attempts true", {**ASSIGNMENT, "attempts": True}, "attempts"),
    ("assignment attempts huge", {**ASSIGNMENT, "attempts": 10**12}, "attempts"),
    ("quiz attempts 0", {**QUIZ, "attempts": 0}, "attempts"),
    ("quiz attempts -1", {**QUIZ, "attempts": -1}, "attempts"),
    ("quiz attempts x", {**QUIZ, "attempts": "x"}, "attempts"),
    ("quiz attempts 1.5", {**QUIZ, "attempts": 1.5}, "attempts"),
    ("quiz attempts null", {**QUIZ, "attempts": None}, "attempts"),
    ("quiz zero points", {**QUIZ, "max_points": 0}, "max_points"),
    ("text due_at", {**TEXT, "due_at": DUE}, "due_at"),
    ("text attempts", {**TEXT, "attempts": 2}, "attempts"),
    ("video attempts", {**VIDEO, "attempts": 2}, "attempts"),
    ("link due_at", {**LINK, "due_at": DUE}, "due_at"),
]


@pytest.mark.parametrize(("case", "bad", "field"), BAD, ids=[c[0] for c in BAD])
async def test_bad_gradable_fields_are_422_naming_the_field(
    content: Content, module_and_owner: tuple[uuid.UUID, uuid.UUID], case: str, bad: Any, field: str
) -> None:
    module_id, owner = module_and_owner
    r = await content.client.post(
        f"{API}/modules/{module_id}/posts",
        json={"title": "T", "content": bad},
        headers=content.as_("instructor", owner),
    )
    body = assert_problem(r, 422, f"content.{field}")
    assert body["type"].endswith("/validation-error")


async def test_defaults_and_explicit_values(
    content: Content, module_and_owner: tuple[uuid.UUID, uuid.UUID]
) -> None:
    module_id, owner = module_and_owner
    quiz = await content.post(module_id, owner, content=QUIZ)
    assert (quiz["content"]["attempts"], quiz["content"]["due_at"]) == (1, None)
    assignment = await content.post(module_id, owner, content=ASSIGNMENT)
    assert (assignment["content"]["attempts"], assignment["content"]["due_at"]) == (None, None)
    explicit = await content.post(
        module_id, owner, content={**ASSIGNMENT, "attempts": None, "due_at": "2030-01-31T22:59Z"}
    )
    assert explicit["content"]["attempts"] is None
    assert dt.datetime.fromisoformat(explicit["content"]["due_at"]) == dt.datetime(
        2030, 1, 31, 22, 59, tzinfo=dt.UTC
    )
    three = await content.post(module_id, owner, content={**QUIZ, "attempts": 3, "due_at": DUE})
    assert (three["content"]["attempts"], three["content"]["due_at"]) == (3, DUE)
    r = await content.client.get(
        f"{API}/posts/{three['id']}", headers=content.as_("instructor", owner)
    )
    assert r.json() == three
    # Text, video and link posts have neither field.
    text = await content.post(module_id, owner)
    assert set(text["content"]) == {"kind", "body"}


async def test_patch_changes_due_at_and_attempts(
    content: Content, module_and_owner: tuple[uuid.UUID, uuid.UUID]
) -> None:
    module_id, owner = module_and_owner
    headers = content.as_("instructor", owner)
    quiz = await content.post(module_id, owner, content=QUIZ)
    url = f"{API}/posts/{quiz['id']}"
    r = await content.client.patch(
        url, json={"content": {**QUIZ, "attempts": 2, "due_at": DUE}}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert (r.json()["content"]["attempts"], r.json()["content"]["due_at"]) == (2, DUE)
    assert r.json()["version"] == 2
    # The same values again: nothing changes.
    r = await content.client.patch(
        url, json={"content": {**QUIZ, "attempts": 2, "due_at": DUE}}, headers=headers
    )
    assert r.json()["version"] == 2
    # Content is replaced whole: leaving the fields out goes back to the defaults.
    r = await content.client.patch(url, json={"content": QUIZ}, headers=headers)
    assert (r.json()["content"]["attempts"], r.json()["content"]["due_at"]) == (1, None)
    assert r.json()["version"] == 3
    # Invalid values are refused and change nothing.
    for bad, field in (
        ({**QUIZ, "attempts": 0}, "content.attempts"),
        ({**QUIZ, "due_at": "2030-01-01T00:00:00"}, "content.due_at"),
    ):
        assert_problem(
            await content.client.patch(url, json={"content": bad}, headers=headers), 422, field
        )
    assert (await content.client.get(url, headers=headers)).json()["version"] == 3

    assignment = await content.post(module_id, owner, content={**ASSIGNMENT, "attempts": 2})
    url = f"{API}/posts/{assignment['id']}"
    r = await content.client.patch(
        url, json={"content": {**ASSIGNMENT, "attempts": None}}, headers=headers
    )
    assert (r.json()["content"]["attempts"], r.json()["version"]) == (None, 2)


async def test_events_carry_what_assessment_grades_with(content: Content) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    headers = content.as_("instructor", owner)
    quiz = await content.post(module_id, owner, content={**QUIZ, "due_at": DUE})
    assignment = await content.post(module_id, owner, content={**ASSIGNMENT, "attempts": 4})
    text = await content.post(module_id, owner)
    r = await content.client.patch(
        f"{API}/posts/{quiz['id']}",
        json={"status": "published", "content": {**QUIZ, "attempts": 2}},
        headers=headers,
    )
    assert r.status_code == 200, r.text

    events = await content.published(about_module(module_id))
    states = {
        (e.subject, e.type.split(".")[2]): e.data for e in events if e.aggregatetype == "post"
    }
    created = ev.PostCreated.model_validate(states[(quiz["id"], "PostCreated")])
    assert created.answer_key == [1, 0]
    assert (created.question_count, created.choice_counts) == (2, [3, 2])
    assert (created.attempts, created.max_points) == (1, 10)  # the effective default
    assert created.due_at == dt.datetime.fromisoformat(DUE)
    published = ev.PostPublished.model_validate(states[(quiz["id"], "PostPublished")])
    assert (published.attempts, published.due_at, published.answer_key) == (2, None, [1, 0])

    graded = ev.PostCreated.model_validate(states[(assignment["id"], "PostCreated")])
    assert (graded.attempts, graded.due_at, graded.max_points) == (4, None, 10)
    assert (graded.answer_key, graded.question_count, graded.choice_counts) == (None, None, None)
    plain = states[(text["id"], "PostCreated")]
    for name in ("due_at", "attempts", "answer_key", "question_count", "choice_counts"):
        assert plain.get(name) is None

    # The API still hides the key from students (the post is in a public course).
    await content.course(owner, [module_id])
    r = await content.client.get(f"{API}/posts/{quiz['id']}", headers=content.as_("student"))
    assert r.status_code == 200
    assert all("answer_index" not in q for q in r.json()["content"]["questions"])
    assert r.json()["content"]["attempts"] == 2


# ---------------------------------------------------------------- submission_count


def submitted(post_id: uuid.UUID, user_id: uuid.UUID, sid: uuid.UUID) -> ae.SubmissionCreated:
    return ae.SubmissionCreated(
        submission_id=sid,
        post_id=post_id,
        user_id=user_id,
        attempt=1,
        status="submitted",
        max_points=10,
        late=False,
        submitted_at=dt.datetime.now(dt.UTC),
    )


async def _applied_submission(content: Content, post_id: uuid.UUID) -> None:
    """Wait for a marker submission published last (the consumer works in stream order)."""
    marker = new_id()
    await content.publish(submitted(post_id, uuid.uuid4(), marker), 1)

    async def seen() -> bool:
        async with content.runtime.db.transaction() as session:
            return await session.get(Submission, marker) is not None

    assert await eventually(seen, bool)


async def _submission_rows(content: Content, post_id: uuid.UUID) -> int:
    async with content.runtime.db.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(Submission).where(Submission.post_id == post_id)
        )
    return int(count or 0)


async def test_submission_count_is_kept_from_assessment(content: Content) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    headers = content.as_("instructor", owner)
    post = await content.post(module_id, owner, content=QUIZ, status="published")
    pid = uuid.UUID(post["id"])
    url = f"{API}/posts/{pid}"
    first = await content.client.get(url, headers=headers)
    assert first.json()["submission_count"] == 0
    assert first.headers["etag"] == '"1.1-0-0"'

    a, b = uuid.uuid4(), uuid.uuid4()
    s1, s2, s3 = new_id(), new_id(), new_id()
    e1 = content.envelope(submitted(pid, a, s1), 1)
    for event, env in (
        (submitted(pid, a, s1), e1),
        (submitted(pid, a, s1), e1),  # redelivered: the same event again
        (submitted(pid, a, s2), None),  # a's second attempt: still one submitter
        (submitted(pid, b, s3), None),
    ):
        await content.publish(event, 1, envelope=env)
    # The same submission under a new event id (a producer's retry): one row still.
    await content.publish(submitted(pid, a, s1), 1)

    async def count() -> int:
        async with content.runtime.db.transaction() as session:
            return int(
                await session.scalar(select(Post.submission_count).where(Post.id == pid)) or 0
            )

    assert await eventually(count, lambda n: n == 2) == 2
    # Rows for s1, s2, s3 only (duplicates collapsed); the marker comes after them.
    await _applied_submission(content, uuid.uuid4())  # a marker on another post
    assert await count() == 2
    assert await _submission_rows(content, pid) == 3

    r = await content.client.get(url, headers=headers)
    assert (r.json()["submission_count"], r.json()["version"]) == (2, 1)
    assert r.headers["etag"] == '"1.1-0-2"'
    # A conditional GET with the old tag is answered in full: the count changed.
    r = await content.client.get(url, headers={**headers, "If-None-Match": first.headers["etag"]})
    assert r.status_code == 200
    assert r.json()["submission_count"] == 2
    # The count is not an edit: the old tag still satisfies If-Match.
    r = await content.client.patch(
        url, json={"title": "Renamed"}, headers={**headers, "If-Match": first.headers["etag"]}
    )
    assert r.status_code == 200
    assert r.headers["etag"] == '"2.1-0-2"'
    # Students see the count too.
    await content.course(owner, [module_id])
    r = await content.client.get(url, headers=content.as_("student"))
    assert r.json()["submission_count"] == 2


async def test_a_submission_for_an_unknown_post_is_recorded_harmlessly(content: Content) -> None:
    pid = uuid.uuid4()
    await content.publish(submitted(pid, uuid.uuid4(), new_id()), 1)
    await _applied_submission(content, pid)
    assert await _submission_rows(content, pid) == 2


@pytest.fixture(scope="module")
def module_owner() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
async def module_and_owner(
    content: Content, module_owner: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID]:
    return await content.module(module_owner), module_owner

"""The replay's bulk path (windows of many events, each type's due events to its set-based
handler at once, the posts' re-derivation deferred to the end) gives what live gives: the
same projection over several small windows, and the same completions, in place (nothing
changes, nothing is told) and into an empty database (derived from the replayed facts and
the posts' final rules)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from syllabus_devkit.testing.plugin import Databases
from syllabus_devkit.testing.tokens import TokenFactory
from syllabus_progress.main import SERVICE
from syllabus_shared.messaging import replay as replay_module
from syllabus_shared.messaging.replay import replay
from syllabus_shared.runtime import Runtime

from conftest import MIGRATIONS, Progress, progress_settings


async def _history(p: Progress) -> uuid.UUID:
    """Courses, modules and posts, rules changed after facts arrived, views, submissions
    and grades: everything delivered live."""
    w = p.world
    course, (module, other), posts = await w.course_with(2, 3)
    await w.course_with(1, 2)
    await p.synced()
    students = [p.student() for _ in range(3)]
    for _, headers in students:
        assert (await p.enroll(course, headers)).status_code == 201
    video = await w.post(module, "video", kind="video")
    quiz = await w.post(other, "quiz", kind="quiz")
    for index, (user, _) in enumerate(students):
        if index != 2:
            await w.view(video, user)
        await w.view(posts[1][0], user)
        submission = await w.submit(quiz, user)
        await w.grade(submission, 4 + 2 * index)
    # Rules changed after the facts (applied: a rule change and a fact of the same post
    # applied concurrently by two consumers can each miss the other's write, live),
    # every student re-derived.
    await p.synced()
    await w.update_post(video, completion={"rule": "view"})
    await w.update_post(quiz, completion={"rule": "min_score", "min_score": 6})
    await w.update_post(posts[1][0], completion={"rule": "view"})
    await p.synced()  # applied alone (not superseded in one batch): completions made...
    await w.update_post(posts[1][0], completion={"rule": "mark_done"})  # ...then undone
    await w.reorder_posts(module, [video, *[post for post in posts[0]]])
    await p.synced()
    user, headers = students[0]
    assert (await p.complete(posts[0][0], headers)).status_code == 201
    await p.synced()
    return course


async def _completions(rt: Runtime) -> dict[tuple[Any, Any], tuple[Any, ...]]:
    async with rt.db.transaction() as session:
        rows = await session.execute(
            text("SELECT user_id, post_id, completed, marked, version FROM completions")
        )
        return {(r.user_id, r.post_id): (r.completed, r.marked, r.version) for r in rows}


async def _now(rt: Runtime) -> Any:
    async with rt.db.transaction() as session:
        return await session.scalar(text("SELECT clock_timestamp()"))


async def _published_since(rt: Runtime, since: Any) -> list[str]:
    async with rt.db.transaction() as session:
        rows = await session.execute(
            text("SELECT event_type FROM outbox WHERE created_at > :since"), {"since": since}
        )
        return [row.event_type for row in rows]


async def test_in_place_in_small_windows_changes_nothing(
    progress: Progress, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = progress
    await _history(p)
    live, completions = await p.projection(), await _completions(p.runtime)
    assert any(done for done, _, _ in completions.values())
    since = await _now(p.runtime)
    monkeypatch.setattr(replay_module, "WINDOW", 7)  # several windows per stream
    assert SERVICE.projection is not None
    await replay(p.runtime, SERVICE.projection)
    assert await p.projection() == live
    # The deferred derivation found every completion as live left it: no row changed
    # (versions too), no event, no notice.
    assert await _completions(p.runtime) == completions
    assert await _published_since(p.runtime, since) == []


@pytest.mark.parametrize("window", [7, replay_module.WINDOW])
async def test_into_an_empty_database_derives_what_live_derived(
    progress: Progress,
    databases: Databases,
    nats_url: str,
    tokens: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
    window: int,
) -> None:
    p = progress
    await _history(p)
    live = await p.projection()
    # Completions that facts derive (the mark is progress's own, not in any stream).
    derived = {
        key: done
        for key, (done, marked, _) in (await _completions(p.runtime)).items()
        if not marked
    }
    assert any(derived.values()) and not all(derived.values())
    monkeypatch.setattr(replay_module, "WINDOW", window)
    settings = progress_settings(
        await databases.create(MIGRATIONS), nats_url, p.settings.event_namespace, tokens
    )
    rt = SERVICE.runtime(settings)
    rt.nats.start()
    assert SERVICE.projection is not None
    try:
        await replay(rt, SERVICE.projection)
        rebuilt = await p.projection(rt)
        replayed = await _completions(rt)
    finally:
        await rt.nats.close()
        await rt.db.dispose()
    assert rebuilt == live
    # Rows exist only where a fact completed the post at some point; where they exist
    # they say what live says.
    assert {k: v[0] for k, v in replayed.items()} == {
        k: done for k, done in derived.items() if k in replayed
    }
    assert {k for k, done in derived.items() if done} <= set(replayed)

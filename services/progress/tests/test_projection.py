"""The course-structure projection (and users' names) under redelivery, duplicates,
reordering and any interleaving of catalog's, content's and identity's events; and
replaying it from the streams (the kernel's ``replay`` of the declared projection)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import re
import subprocess
import sys
import uuid
from typing import Any

from sqlalchemy import select, text
from syllabus_devkit.testing.plugin import Databases
from syllabus_devkit.testing.tokens import TokenFactory
from syllabus_progress.main import SERVICE
from syllabus_progress.models import CourseModule
from syllabus_progress.rules import satisfied
from syllabus_shared.db import utcnow
from syllabus_shared.messaging.replay import replay

from conftest import MIGRATIONS, Progress, World, progress_settings


async def _scenario(w: World) -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
    """A course an instructor assembled and reworked; every event held, none delivered.

    Final state: modules [C, A] (B detached); A's posts [a2, a1] (a3 deleted); C's [c1]
    renamed (c2 unpublished); B's b1 present but detached.
    """
    course = await w.course(status="draft", title="Interleaved", hold=True)
    await w.update_course(course, status="published", hold=True)
    await w.update_course(course, title="Interleaved, renamed", hold=True)
    a = await w.module("A (draft title)", hold=True)
    b = await w.module("B", hold=True)
    c = await w.module("C", hold=True)
    await w.rename_module(a, "A", hold=True)
    for module in (a, b, c):
        await w.attach(course, module, hold=True)
    await w.reorder_modules(course, [c, a, b], hold=True)
    await w.detach(course, b, hold=True)
    a1 = await w.post(a, "a1", hold=True)
    a2 = await w.post(a, "a2", kind="video", status="draft", hold=True)
    a3 = await w.post(a, "a3", hold=True)
    await w.update_post(a2, status="published", hold=True)
    await w.delete_post(a3, hold=True)
    await w.reorder_posts(a, [a2, a1], hold=True)
    c1 = await w.post(c, "c1 (draft title)", hold=True)
    c2 = await w.post(c, "c2", hold=True)
    await w.update_post(c1, title="c1", hold=True)
    await w.update_post(c2, status="draft", hold=True)
    b1 = await w.post(b, "b1", hold=True)
    return course, {"a1": a1, "a2": a2, "c1": c1, "b1": b1}


def _normalized(doc: dict[str, Any]) -> list[Any]:
    """The document with ids replaced by titles (each ordering builds its own ids)."""
    return [
        doc["status"],
        doc["completed_posts"],
        doc["total_posts"],
        doc["percent"],
        [
            (
                m["position"],
                m["title"],
                m["percent"],
                [(p["position"], p["title"], p["kind"], p["completed"]) for p in m["posts"]],
            )
            for m in doc["modules"]
        ],
    ]


async def _play(p: Progress, order: str, headers: dict[str, str], rng: random.Random) -> list[Any]:
    course, posts = await _scenario(p.world)
    held = p.world.take_held()
    if order == "reversed":
        held.reverse()
    elif order == "shuffled":
        rng.shuffle(held)
    elif order == "content first":
        held.sort(key=lambda item: item[1].source != "content")
    await p.world.deliver(held)
    if order in ("shuffled", "content first"):
        # Every event again (past the stream's dedupe), in another order.
        await p.world.deliver(rng.sample(held, len(held)), again=True)
    await p.synced()
    assert (await p.enroll(course, headers)).status_code == 201
    assert (await p.complete(posts["a1"], headers)).status_code == 201
    return _normalized(await p.doc(course, headers))


async def test_any_interleaving_gives_the_same_document(shared_progress: Progress) -> None:
    p = shared_progress
    _, headers = p.student()
    rng = random.Random(7)
    expected = [
        "active",
        1,
        3,
        33.33,
        [
            (1, "C", 0.0, [(1, "c1", "text", False)]),
            (2, "A", 50.0, [(1, "a2", "video", False), (2, "a1", "text", True)]),
        ],
    ]
    for order in ("as produced", "reversed", "shuffled", "content first"):
        assert await _play(p, order, headers, rng) == expected, order


async def test_missing_rows_never_hide_structure(shared_progress: Progress) -> None:
    """An outline naming a module we know nothing of yet, posts of a module never created:
    the module shows (empty title) with its posts."""
    p = shared_progress
    w = p.world
    course = await w.course()
    module = uuid.uuid4()  # ModuleCreated never arrives
    w.module_posts[module] = []
    await w.attach(course, module)
    post = await w.post(module, "orphan")
    await p.synced()
    _, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201
    doc = await p.doc(course, headers)
    assert [(m["module_id"], m["title"]) for m in doc["modules"]] == [(str(module), "")]
    assert doc["modules"][0]["posts"][0]["post_id"] == str(post)
    assert (await p.complete(post, headers)).status_code == 201


async def test_deleted_course_ignores_late_events(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    course = await w.course(status="draft", hold=True)
    module = await w.module()
    await w.attach(course, module, hold=True)
    await w.delete_course(course)  # arrives first
    await p.synced()
    # Then the course's creation (stale) and an attach (another aggregate: applied, ignored).
    await w.deliver(w.take_held())
    await p.synced()
    async with p.runtime.db.transaction() as session:
        rows = (
            await session.execute(select(CourseModule).where(CourseModule.course_id == course))
        ).all()
    assert rows == []
    _, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 404


# ---------------------------------------------------------------- replay


async def _messy_live_projection(p: Progress) -> None:
    """Live projection built through duplicates, reordering and deletions."""
    rng = random.Random(11)
    w = p.world
    for _ in range(2):
        await _scenario(w)
    course, _, _ = await w.course_with(3, 3)
    draft = await w.course(status="draft")
    await w.attach(draft, await w.module())
    await w.delete_course(draft)
    gone = await w.module("gone")
    await w.delete_module(gone)
    # Gating, a sequential course and completion rules (issue 14).
    gated, (g1, g2), gposts = await w.course_with(2, 2, sequential=True)
    await w.gate(gated, g2, prerequisites=[g1], unlock_at=utcnow() + dt.timedelta(days=1))
    await w.update_post(gposts[0][0], kind="quiz", completion={"rule": "min_score", "min_score": 4})
    await w.update_post(gposts[1][1], completion={"rule": "view"})
    await w.update_course(gated, sequential=False)
    # Unlock dates per group and per student (issue 26): set, replaced, one removed.
    when = utcnow() + dt.timedelta(hours=2)
    target, dropped_target = uuid.uuid4(), uuid.uuid4()
    await w.unlock_override(gated, g2, "user", target, when, hold=True)
    await w.unlock_override(gated, g2, "user", target, when + dt.timedelta(hours=1), hold=True)
    await w.unlock_override(gated, g2, "group", dropped_target, when, hold=True)
    await w.unlock_override(gated, g2, "group", dropped_target, None, hold=True)
    # Users' names (issue 25): registered, renamed, one deleted.
    kept, renamed, gone_user = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await w.register_user(kept, "kept", "Kept As Is", hold=True)
    await w.register_user(renamed, "renamed", "Before", hold=True)
    await w.rename_user(renamed, "renamed", "After", hold=True)
    await w.register_user(gone_user, "gone", "Gone", hold=True)
    await w.delete_user(gone_user, hold=True)
    held = w.take_held()
    rng.shuffle(held)
    await w.deliver(held)
    await w.deliver(held[: len(held) // 2], again=True)
    await p.synced()
    _, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201


async def test_replay_into_an_empty_projection_equals_the_live_one(
    progress: Progress, databases: Databases, nats_url: str, tokens: TokenFactory
) -> None:
    p = progress
    await _messy_live_projection(p)
    live = await p.projection()
    assert all(live.values())

    settings = progress_settings(
        await databases.create(MIGRATIONS), nats_url, p.settings.event_namespace, tokens
    )
    rt = SERVICE.runtime(settings)
    rt.nats.start()
    seen: list[tuple[int, int]] = []
    assert SERVICE.projection is not None
    try:
        counts = await replay(
            rt, SERVICE.projection, lambda done, total: seen.append((done, total))
        )
        rebuilt = await p.projection(rt)
    finally:
        await rt.nats.close()
        await rt.db.dispose()
    assert rebuilt == live
    events = sum(p.world.sequences.values())  # one stream message per sequence emitted...
    duplicates = counts.get("duplicate", 0)
    replayed = counts["catalog"] + counts["content"] + counts["identity"]
    assert replayed == events + duplicates  # ...plus re-drives
    # Names as the newest event of each user left them; the deleted user has none.
    assert sorted(row[1:] for row in rebuilt["users"]) == [
        ("kept", "Kept As Is"),
        ("renamed", "After"),
    ]
    assert seen[0] == (0, seen[-1][1]) and seen[-1][0] == seen[-1][1]


async def test_replay_in_place_keeps_enrollments_and_the_cli_replays_too(
    progress: Progress, databases: Databases, nats_url: str, tokens: TokenFactory
) -> None:
    p = progress
    await _messy_live_projection(p)
    course, _, posts = await p.world.course_with(1, 2)
    await p.synced()
    _, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201
    assert (await p.complete(posts[0][0], headers)).status_code == 201
    live, doc = await p.projection(), await p.doc(course, headers)

    assert SERVICE.projection is not None
    await replay(p.runtime, SERVICE.projection)  # while the service runs
    assert await p.projection() == live
    assert await p.doc(course, headers) == doc

    # The command line, into a fresh database.
    url = await databases.create(MIGRATIONS)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "NATS_URL": nats_url,
        "EVENT_NAMESPACE": p.settings.event_namespace,
        "SERVICE_ENV": "test",
        "LOG_JSON": "false",
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "syllabus_progress", "replay"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "projection rebuilt" in result.stdout
    # Not a terminal: summary lines, the last one with every event done.
    summaries = re.findall(r"^progress: replaying: (\d+)/(\d+) events", result.stderr, re.M)
    assert summaries, result.stderr
    done, total = summaries[-1]
    assert done == total != "0", result.stderr
    settings = progress_settings(url, nats_url, p.settings.event_namespace, tokens)
    rt = SERVICE.runtime(settings)
    try:
        assert await p.projection(rt) == live
    finally:
        await rt.db.dispose()


# ---------------------------------------------------------------- facts and derivation


async def recomputed(p: Progress) -> tuple[dict[Any, bool], dict[Any, bool]]:
    """Stored derived completions, and the same recomputed in Python from the facts and
    the posts' current rules (``rules.satisfied``): what ``check-consistency`` compares."""
    async with p.runtime.db.transaction() as session:
        stored = {
            (r.user_id, r.post_id): r.completed
            for r in await session.execute(
                text("SELECT user_id, post_id, completed FROM completions")
            )
        }
        rows = await session.execute(
            text("""
            WITH pairs AS (
                SELECT user_id, post_id FROM completions
                UNION SELECT user_id, post_id FROM post_views
                UNION SELECT user_id, post_id FROM submissions)
            SELECT x.user_id, x.post_id, p.rule, p.min_score, p.deleted,
                   COALESCE(c.marked, false) AS marked, v.user_id IS NOT NULL AS viewed,
                   (SELECT count(*) FROM submissions s
                     WHERE s.user_id = x.user_id AND s.post_id = x.post_id) AS submitted,
                   (SELECT max(score) FROM submissions s WHERE s.user_id = x.user_id
                     AND s.post_id = x.post_id AND s.status = 'graded') AS score
            FROM pairs x
            LEFT JOIN posts p ON p.post_id = x.post_id
            LEFT JOIN completions c ON c.user_id = x.user_id AND c.post_id = x.post_id
            LEFT JOIN post_views v ON v.user_id = x.user_id AND v.post_id = x.post_id""")
        )
        expected = {
            (r.user_id, r.post_id): r.rule is not None
            and satisfied(
                r.rule,
                r.min_score,
                marked=r.marked,
                viewed=r.viewed,
                submitted=r.submitted > 0,
                score=r.score,
            )
            for r in rows
            if not r.deleted
        }
    # No row: never completed (rows are created by a mark or a completing fact).
    return {k: stored.get(k, False) for k in expected}, expected


async def test_facts_and_rules_in_any_order_derive_the_same(progress: Progress) -> None:
    """Views, submissions, grades and rule changes delivered shuffled and twice: the
    derived completions equal a recomputation from the facts and the current rules, and
    the document agrees."""
    p = progress
    w = p.world
    rng = random.Random(5)
    course, (module,), _ = await w.course_with(1, 0)
    await p.synced()
    students = [p.student() for _ in range(3)]
    for _, headers in students:
        assert (await p.enroll(course, headers)).status_code == 201
    video = await w.post(module, "video", kind="video", hold=True)
    quiz = await w.post(module, "quiz", kind="quiz", hold=True)
    await w.update_post(video, completion={"rule": "view"}, hold=True)
    await w.update_post(quiz, completion={"rule": "min_score", "min_score": 6}, hold=True)
    for index, (user, _) in enumerate(students):
        if index != 2:
            await w.view(video, user, hold=True)
        submission = await w.submit(quiz, user, hold=True)
        await w.grade(submission, 4 + 2 * index, hold=True)
        await w.grade(submission, 3 + 2 * index, hold=True)  # regraded lower: 3, 5, 7
    held = w.take_held()
    rng.shuffle(held)
    await w.deliver(held)
    await w.deliver(rng.sample(held, len(held)), again=True)
    await p.synced()
    stored, expected = await recomputed(p)
    assert stored == expected and len(expected) == 5  # 2 views + 3 submitters
    completed = [(await p.doc(course, headers))["completed_posts"] for _, headers in students]
    assert completed == [1, 1, 1]  # video, video, quiz (7 >= 6)

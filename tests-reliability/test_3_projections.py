"""RELIABILITY items 10-13 (checker, rebuild, replicas, SIGTERM mid-batch) and the rule that
production settings cannot enable fault injection."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError
from syllabus_shared.faults import fault_hook
from syllabus_shared.settings import ServiceSettings

import checker
from chaos import chaos
from harness import ROOT, ReliabilityStack, eventually, libpq

from conftest import World, settle, versioned_history

pytestmark = pytest.mark.asyncio(loop_scope="session")
CHECKER = Path(__file__).resolve().parent / "checker.py"


# ---------------------------------------------------------------- 10


def _checker_cli(stack: ReliabilityStack) -> subprocess.CompletedProcess[str]:
    # The server as `make run` is given it (DATABASE_URL, SQLAlchemy's form): `make
    # check-consistency` must find the same databases without --database-url.
    return subprocess.run(
        [
            sys.executable,
            str(CHECKER),
            "--data-dir",
            str(stack.options.data_dir / "not-a-make-run-dir"),
            "--catalog-url",
            libpq(stack.db_url("catalog")),
            "-v",
        ],
        env={**os.environ, "DATABASE_URL": stack.pg_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_10_checker_reports_lost_and_unexpected(
    stack: ReliabilityStack, world: World
) -> None:
    report = await settle(stack)
    assert report.checked > 10
    cli = _checker_cli(stack)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert cli.stdout.strip().splitlines()[-1] == report.line()

    # Break projections the ways a bug would: a wrong value, a missing row, an extra row.
    ghost = uuid.uuid4()
    enrollment = await stack.query("catalog", "SELECT * FROM enrollment_projection LIMIT 1")
    await stack.query(
        "content",
        "UPDATE modules SET title = 'tampered' WHERE module_id = %s",
        (uuid.UUID(world.module),),
    )
    await stack.query(
        "catalog",
        "DELETE FROM enrollment_projection WHERE enrollment_id = %s",
        (enrollment[0]["enrollment_id"],),
    )
    await stack.query(
        "progress", "INSERT INTO courses (course_id, title) VALUES (%s, 'ghost')", (ghost,)
    )
    try:
        broken = checker.check_projections(
            await asyncio.to_thread(checker.load, stack.database_urls())
        )
        assert (broken.lost, broken.unexpected) == (2, 1), broken.samples
        assert broken.per_check["content.modules <- catalog.modules"]["lost"] == 1
        assert broken.per_check["catalog.enrollment_projection <- progress"]["lost"] == 1
        assert broken.per_check["progress.courses <- catalog.courses"]["unexpected"] == 1
        cli = _checker_cli(stack)
        assert cli.returncode == 1
        assert cli.stdout.strip().splitlines()[-1].startswith("lost=2 unexpected=1 ")
    finally:
        title = await stack.scalar(
            "catalog", "SELECT title FROM modules WHERE id = %s", (uuid.UUID(world.module),)
        )
        await stack.query(
            "content",
            "UPDATE modules SET title = %s WHERE module_id = %s",
            (title, uuid.UUID(world.module)),
        )
        row = enrollment[0]
        await stack.query(
            "catalog",
            "INSERT INTO enrollment_projection (enrollment_id, course_id, status)"
            " VALUES (%s, %s, %s)",
            (row["enrollment_id"], row["course_id"], row["status"]),
        )
        await stack.query("progress", "DELETE FROM courses WHERE course_id = %s", (ghost,))
    await settle(stack)


async def test_10_checker_covers_submissions_grades_and_gradebooks(
    stack: ReliabilityStack, world: World
) -> None:
    """A quiz submitted (graded at once) and an assignment graded; then assessment's kept
    score and content's submission count are tampered with: the checker names both, and
    the gradebook recomputed from the owners no longer matches assessment's."""
    async with stack.client(world.instructor) as c:
        quiz = {
            "kind": "quiz",
            "questions": [{"prompt": "1+1?", "choices": ["2", "3"], "answer_index": 0}],
            "max_points": 4,
        }
        r = await c.post(
            f"/api/v1/modules/{world.module}/posts",
            json={"title": "graded quiz", "status": "published", "content": quiz},
        )
        assert r.status_code == 201, r.text
        post = uuid.UUID(r.json()["id"])
    async with stack.client(world.student) as c:
        r = await c.post(f"/api/v1/posts/{post}/submissions", json={"answers": [0]})
        assert r.status_code == 201, r.text
        assert (r.json()["status"], r.json()["score"]) == ("graded", 4.0)
    report = await settle(stack)
    for check in (
        "assessment.post_grades <- submissions",
        "assessment gradebooks <- owners",
        "content.posts.submission_count <- assessment",
        "content.submissions <- assessment",
        "assessment.enrollments <- progress",
        "assessment.posts <- content.posts",
    ):
        assert report.per_check[check]["ok"] >= 1, (check, report.per_check.get(check))

    student = uuid.UUID(world.student.id)
    await stack.query(
        "assessment",
        "UPDATE post_grades SET kept_score = 1 WHERE user_id = %s AND post_id = %s",
        (student, post),
    )
    await stack.query("content", "UPDATE posts SET submission_count = 2 WHERE id = %s", (post,))
    try:
        broken = checker.check_projections(
            await asyncio.to_thread(checker.load, stack.database_urls())
        )
        assert (broken.lost, broken.unexpected) == (3, 0), broken.samples
        assert broken.per_check["assessment.post_grades <- submissions"]["lost"] == 1
        assert broken.per_check["assessment gradebooks <- owners"]["lost"] == 1
        assert broken.per_check["content.posts.submission_count <- assessment"]["lost"] == 1
    finally:
        await stack.query(
            "assessment",
            "UPDATE post_grades SET kept_score = 4 WHERE user_id = %s AND post_id = %s",
            (student, post),
        )
        await stack.query("content", "UPDATE posts SET submission_count = 1 WHERE id = %s", (post,))
    await settle(stack)


async def test_10_checker_covers_views_rules_and_locks(
    stack: ReliabilityStack, world: World
) -> None:
    """Module B (its post completed by a view) requires module A; the student opens B's
    post while it is locked. Clean: the derived completion (rule met, whatever the locks)
    equals the recomputation, and the progress document's locks equal the owners'. Then a
    derived completion and a document are tampered with: the checker names both."""
    student = await stack.user("student")
    async with stack.client(world.instructor) as c:
        course = (await c.post("/api/v1/courses", json={"title": "gated"})).json()["id"]
        built: list[tuple[str, str]] = []
        for title, completion in (("A", {"rule": "mark_done"}), ("B", {"rule": "view"})):
            module = (await c.post("/api/v1/modules", json={"title": title})).json()["id"]
            body = {
                "title": f"{title}1",
                "status": "published",
                "content": {"kind": "text", "body": "read me"},
                "completion": completion,
            }
            r = await c.post(f"/api/v1/modules/{module}/posts", json=body)
            assert r.status_code == 201, r.text
            built.append((module, r.json()["id"]))
            r = await c.post(f"/api/v1/courses/{course}/modules", json={"module_id": module})
            assert r.status_code == 201, r.text
        (a, _), (b, b1) = built
        r = await c.patch(f"/api/v1/courses/{course}/modules/{b}", json={"prerequisites": [a]})
        assert r.status_code == 200, r.text
        r = await c.patch(f"/api/v1/courses/{course}", json={"status": "published"})
        assert r.status_code == 200, r.text
    async with stack.client(student) as c:
        url = f"/api/v1/courses/{course}/enrollments"

        async def enrolled() -> bool:
            return (await c.post(url)).status_code == 201

        await eventually(enrolled, 5, what="enrolled")
        assert (await c.get(f"/api/v1/posts/{b1}")).status_code == 200  # a view, while locked
    report = await settle(stack)
    for check in (
        "progress.completions <- facts and current rules",
        "progress.post_views <- content.post_views",
        "progress.posts.rule <- content.posts",
        "progress.course_modules gating <- catalog",
        "content.posts.completion_count <- derived completions",
    ):
        assert report.per_check[check]["ok"] >= 1, (check, report.per_check.get(check))
    user, cid = uuid.UUID(student.id), uuid.UUID(course)
    async with stack.client(student) as c:
        doc = (await c.get(f"/api/v1/me/courses/{course}/progress")).json()
    snap = await asyncio.to_thread(checker.load, stack.database_urls())
    now = dt.datetime.now(dt.UTC)
    expected = checker.expected_document(snap, user, cid, now)
    assert [m[1:3] for m in expected["modules"]] == [
        ("unlocked", ()),
        ("locked", (str(("prerequisite", a)),)),
    ]
    assert expected["modules"][1][5] == ((b1, False, True, "in_progress"),)
    assert checker.check_documents(snap, {(user, cid): doc}, now).ok

    # Tampered: the derived completion of the view, and the document's locks.
    await stack.query(
        "progress",
        "UPDATE completions SET completed = false WHERE user_id = %s AND post_id = %s",
        (user, uuid.UUID(b1)),
    )
    try:
        snap = await asyncio.to_thread(checker.load, stack.database_urls())
        broken = checker.check_projections(snap)
        assert broken.per_check["progress.completions <- facts and current rules"]["lost"] == 1
        doc["modules"][1]["state"], doc["modules"][1]["locks"] = "unlocked", []
        wrong = checker.check_documents(snap, {(user, cid): doc}, now)
        assert wrong.per_check["progress documents (locks) <- owners"]["lost"] == 1, wrong.samples
    finally:
        await stack.query(
            "progress",
            "UPDATE completions SET completed = true WHERE user_id = %s AND post_id = %s",
            (user, uuid.UUID(b1)),
        )
    await settle(stack)


# ---------------------------------------------------------------- 11


async def test_11_rebuild_from_the_streams_equals_the_live_projection(
    stack: ReliabilityStack, world: World
) -> None:
    await versioned_history(stack, world)
    await settle(stack)
    progress = stack.instance("progress")
    await stack.term(progress)  # consumers paused while the projection is rebuilt
    try:
        live = _progress_projection(await asyncio.to_thread(checker.load, stack.database_urls()))
        env = {**progress.child.env, "FAULT_INJECTION": "false"}
        env.pop("SYLLABUS_FAULTS", None)
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "syllabus_progress", "replay"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "projection rebuilt" in result.stdout
        rebuilt = _progress_projection(await asyncio.to_thread(checker.load, stack.database_urls()))
        assert sum(len(rows) for rows in live.values()) > 10
        assert rebuilt == live
    finally:
        await stack.restart(progress)
    await settle(stack)


def _progress_projection(snap: checker.Snapshot) -> dict[str, list[tuple[str, ...]]]:
    return {
        table: sorted(tuple(str(v) for v in r.values()) for r in snap.rows("progress", table))
        for table in ("courses", "course_modules", "modules", "posts", "module_posts")
    }


# ---------------------------------------------------------------- 12


async def test_12_two_replicas_share_the_durable_consumers(
    stack: ReliabilityStack, world: World
) -> None:
    await settle(stack)
    replica = await stack.add_replica("progress")
    try:
        result = await chaos(stack, duration=5, instructors=2, students=3, seed=12, kinds=())
        assert result.ok, result.projections.samples + result.history.samples
        per_replica = []
        for instance in stack.instances("progress"):
            per_replica.append(
                await stack.applied(instance, "progress-from-catalog")
                + await stack.applied(instance, "progress-from-content")
            )
        assert all(n > 0 for n in per_replica), f"work not shared: {per_replica}"
    finally:
        await stack.remove(replica)
    await settle(stack)


# ---------------------------------------------------------------- 13


async def test_13_sigterm_mid_batch_applies_whole_events_and_exits_promptly(
    stack: ReliabilityStack, world: World
) -> None:
    await settle(stack)
    progress = stack.instance("progress")
    async with stack.client(world.instructor) as c:
        modules = [
            (await c.post("/api/v1/modules", json={"title": f"batch {i}"})).json()["id"]
            for i in range(4)
        ]
    await settle(stack)
    await stack.term(progress)
    # Several batches' worth (a backlog is applied up to 256 events a batch).
    renames = 1024

    async def rename(i: int) -> None:
        async with stack.client(world.instructor) as c:
            for j in range(i, renames, 8):
                module = modules[j % len(modules)]
                r = await c.patch(f"/api/v1/modules/{module}", json={"title": f"title #{j}"})
                assert r.status_code == 200, r.text

    await asyncio.gather(*(rename(i) for i in range(8)))
    inbox = "SELECT count(*) FROM inbox WHERE consumer = 'progress-from-catalog'"
    before = await stack.scalar("progress", inbox)
    # Watch the backlog from the first event; each batch held 0.2 s before its commit, so
    # the backlog (a few batches: superseded renames cost little) is still being applied
    # when SIGTERM comes.
    await stack.restart(progress, ready=None, faults="consumer.before_commit=delay:0.2")

    async def applying() -> bool:  # the first batch committed: SIGTERM at once
        return bool(await stack.scalar("progress", inbox) > before)

    await eventually(applying, 30, 0.005, "progress applying the backlog")
    code, took = await stack.term(progress)
    applied = await stack.scalar("progress", inbox) - before
    assert code in (0, -15), code  # uvicorn re-raises the signal after a graceful stop
    assert took < 5.0, f"took {took:.1f}s to stop"
    assert applied < renames, "the backlog was gone before SIGTERM: nothing was mid-batch"

    # No half-applied event: each module's projected title is exactly the one its event
    # at the recorded version carried (change, inbox and version commit together).
    for module in modules:
        version = await stack.scalar(
            "progress",
            "SELECT version FROM aggregate_versions WHERE aggregate = 'module'"
            " AND aggregate_id = %s",
            (uuid.UUID(module),),
        )
        payload = await stack.scalar(
            "catalog",
            "SELECT payload FROM outbox WHERE aggregate_id = %s AND sequence = %s",
            (module, version),
        )
        title = await stack.scalar(
            "progress", "SELECT title FROM modules WHERE module_id = %s", (uuid.UUID(module),)
        )
        assert title == json.loads(payload)["data"]["title"]
    await stack.restart(progress)
    # idle: a message the killed process had fetched but not acked yet is redelivered only
    # after AckWait; "exactly once" is judged once nothing is held unacknowledged.
    await settle(stack, idle=True)
    assert await stack.scalar("progress", inbox) - before == renames  # each exactly once


# ---------------------------------------------------------------- the hook is test-only


async def test_production_settings_refuse_fault_injection() -> None:
    with pytest.raises(ValidationError, match="fault_injection cannot be enabled"):
        ServiceSettings(service_env="production", fault_injection=True)
    assert ServiceSettings(service_env="test", fault_injection=True).fault_injection

    # Without the setting, SYLLABUS_FAULTS does nothing.
    os.environ["SYLLABUS_FAULTS"] = "relay.after_publish=raise"
    try:
        await fault_hook(False)("relay.after_publish")
        with pytest.raises(RuntimeError):
            await fault_hook(True)("relay.after_publish")
    finally:
        del os.environ["SYLLABUS_FAULTS"]

    # A service process started that way refuses to start at all.
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SERVICE_ENV": "production",
        "FAULT_INJECTION": "true",
        "SYLLABUS_FAULTS": "relay.after_publish=kill",
        "AUTH_JWKS_URL": "http://127.0.0.1:9/.well-known/jwks.json",
        "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/none",
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "syllabus_catalog", "serve", "--port", "9"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "fault_injection cannot be enabled" in result.stdout + result.stderr


async def test_10_checker_covers_names(stack: ReliabilityStack, world: World) -> None:
    """progress's and assessment's ``users`` (names on rosters and gradebooks) against
    identity's: a renamed row and a missing one are reported."""
    await settle(stack)
    student = uuid.UUID(world.student.id)
    before = await stack.query("assessment", "SELECT * FROM users WHERE user_id = %s", (student,))
    await stack.query(
        "progress", "UPDATE users SET display_name = 'tampered' WHERE user_id = %s", (student,)
    )
    await stack.query("assessment", "DELETE FROM users WHERE user_id = %s", (student,))
    try:
        broken = checker.check_projections(
            await asyncio.to_thread(checker.load, stack.database_urls())
        )
        assert broken.per_check["progress.users <- identity.users"]["lost"] == 1, broken.samples
        assert broken.per_check["assessment.users <- identity.users"]["lost"] == 1
    finally:
        name = await stack.scalar(
            "identity", "SELECT display_name FROM users WHERE id = %s", (student,)
        )
        await stack.query(
            "progress", "UPDATE users SET display_name = %s WHERE user_id = %s", (name, student)
        )
        row = before[0]
        await stack.query(
            "assessment",
            "INSERT INTO users (user_id, username, display_name) VALUES (%s, %s, %s)",
            (row["user_id"], row["username"], row["display_name"]),
        )
    await settle(stack)

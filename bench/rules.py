# ruff: noqa: E501
"""Completion rules (issue 14): a rule change re-derived over 10,000 enrolled students.

In the bench process, through progress's own handler (``projection.on_post``, the one the
``progress-from-content`` consumer runs for a PostUpdated), against a throwaway migrated
progress database on the stack's PostgreSQL (its outbox is never relayed, so the running
services see none of it). The post has 10,000 enrolled students: half marked it, half
opened it; each change flips its rule between ``mark_done`` and ``view``, so every one
of the 10,000 derived completions changes (one PostCompleted/PostUncompleted each in the
outbox, and a decision queued for each newly completed student). Measured: the handler's
transaction, from the call to its commit; the bound is the 2 s API.md gives a rule change.

    python bench/rules.py --database-url postgresql+psycopg://.../db   (a migrated progress db)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from typing import Any

import psycopg

SLA_SECONDS = 2.0


def seed(db_url: str, students: int) -> tuple[uuid.UUID, uuid.UUID]:
    """A course of one module with 10 published posts; ``students`` enrolled; the first
    post marked by the even students and viewed by the odd ones. Returns (post, module)."""
    from events import libpq

    course, module, post = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(libpq(db_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO courses (course_id, title, status, visibility, creator_id)"
            " VALUES (%s, 'Rules', 'published', 'public', %s)",
            (course, uuid.uuid4()),
        )
        conn.execute(
            "INSERT INTO course_modules (course_id, module_id, position) VALUES (%s, %s, 1)",
            (course, module),
        )
        conn.execute(
            "INSERT INTO posts (post_id, module_id, title, kind, status, position, rule)"
            " VALUES (%s, %s, 'P0', 'text', 'published', 0, 'mark_done')",
            (post, module),
        )
        conn.execute(
            "INSERT INTO posts (post_id, module_id, title, kind, status, position, rule)"
            " SELECT gen_random_uuid(), %s, 'P' || g, 'text', 'published', g, 'mark_done'"
            " FROM generate_series(1, 9) g",
            (module,),
        )
        conn.execute(
            "CREATE TEMP TABLE bench_users AS SELECT gen_random_uuid() AS user_id, g"
            " FROM generate_series(1, %s) g",
            (students,),
        )
        conn.execute(
            "INSERT INTO enrollments (id, user_id, course_id, status, enrolled_at, created_at, updated_at, version)"
            " SELECT gen_random_uuid(), user_id, %s, 'active', now(), now(), now(), 1 FROM bench_users",
            (course,),
        )
        conn.execute(
            "INSERT INTO completions (id, user_id, post_id, completed, completed_at, marked, marked_at,"
            " created_at, updated_at, version)"
            " SELECT gen_random_uuid(), user_id, %s, true, now(), true, now(), now(), now(), 1"
            " FROM bench_users WHERE g %% 2 = 0",
            (post,),
        )
        conn.execute(
            "INSERT INTO post_views (user_id, post_id, view_id, viewed_at)"
            " SELECT user_id, %s, gen_random_uuid(), now() FROM bench_users WHERE g %% 2 = 1",
            (post,),
        )
        conn.execute("ANALYZE")
    return post, module


async def rule_changes(
    db_url: str, post: uuid.UUID, module: uuid.UUID, repeats: int
) -> list[dict[str, Any]]:
    from syllabus_progress import projection
    from syllabus_progress.models import TABLES
    from syllabus_shared.contracts import content as pe
    from syllabus_shared.db import Database
    from syllabus_shared.messaging.outbox import Outbox
    from syllabus_shared.unit_of_work import UnitOfWork

    db = Database(db_url)
    outbox = Outbox(TABLES, source="progress", namespace="benchrules")
    runs = []
    try:
        for r in range(repeats * 2):  # view, mark_done, view, ...: every run changes all
            rule = "view" if r % 2 == 0 else "mark_done"
            event = pe.PostUpdated(
                post_id=post,
                module_id=module,
                title="P0",
                kind="text",
                status="published",
                position=0,
                creator_id=uuid.uuid4(),
                completion=pe.CompletionRule(rule=rule),
            )
            async with db.transaction() as session:
                before = (await session.execute(_COUNT)).scalar_one()
            started = time.perf_counter()
            await projection.on_post(UnitOfWork(db, outbox), event)
            took = time.perf_counter() - started
            async with db.transaction() as session:
                after = (await session.execute(_COUNT)).scalar_one()
            runs.append({"rule": rule, "seconds": took, "events": after - before})
    finally:
        await db.dispose()
    return runs


def _count() -> Any:
    from sqlalchemy import text

    return text("SELECT count(*) FROM outbox")


_COUNT = _count()


def measure(stack: Any, students: int, repeats: int, say: Any) -> dict[str, Any]:
    """run.py's section 8: a throwaway progress database on the stack's PostgreSQL."""
    say(f"8. rule change re-derivation over {students:,} enrolled students (in-process handler)")
    db_url = _prepare(stack)
    post, module = seed(db_url, students)
    runs = asyncio.run(rule_changes(db_url, post, module, repeats))
    for run in runs:
        say(f"  -> {run['rule']}: {run['events']:,} events in {run['seconds']:.2f} s")
    return summarize(runs, students)


def _prepare(stack: Any) -> str:
    import subprocess

    import events
    from stack import ROOT

    url = events._create_database(stack, "bench_rules")
    subprocess.run(
        [sys.executable, "-m", "syllabus_progress", "migrate"],
        env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "LOG_LEVEL": "WARNING"},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return url


def summarize(runs: list[dict[str, Any]], students: int) -> dict[str, Any]:
    seconds = [r["seconds"] for r in runs]
    return {
        "students": students,
        "events_per_change": [r["events"] for r in runs],
        "seconds": {
            "median": round(statistics.median(seconds), 3),
            "min": round(min(seconds), 3),
            "max": round(max(seconds), 3),
            "runs": [round(s, 3) for s in seconds],
        },
    }


def rows(r: dict[str, Any], f: Any, s: Any) -> list[tuple[Any, ...]]:
    rc = r.get("rule_change")
    if not rc:
        return []
    median = rc["seconds"]["median"]
    changed = min(rc["events_per_change"]) if rc["events_per_change"] else 0
    return [
        (
            "8",
            f"rule change re-derivation, {rc['students']:,} students: time to commit, s",
            s(rc["seconds"], nd=2),
            f"{changed:,} completions changed, one event each (set-based: one statement)",
            "",
            f"≤ {SLA_SECONDS:g} s",
            median <= SLA_SECONDS and changed == rc["students"],
        )
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--database-url", required=True, help="a migrated, empty progress database")
    ap.add_argument("--students", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    post, module = seed(args.database_url, args.students)
    runs = asyncio.run(rule_changes(args.database_url, post, module, args.repeats))
    print(json.dumps(summarize(runs, args.students), indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
    sys.exit(main())

# ruff: noqa: E501
"""The assessment rows of ``make bench`` (issue #13): quiz submissions per second through the
gateway against ``/healthz`` of the same assessment process, and the gradebook of a course
of ``--students`` students x ``--gradebook-posts`` gradable posts (JSON pages, the whole
CSV with the service's peak memory while it streams, against the same statement streamed
straight from PostgreSQL).

``run.py`` calls :func:`measure`; ``python bench/assessment.py [--quick]`` runs only these
rows on a stack of its own (prints the JSON), for working on the service.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import events
import httpx
import psycopg
import stack as stackmod

QUESTIONS = 5
# Enough attempts that no student runs out during the run: each connection is one student
# cycling over QUIZZES quizzes, so QUIZZES x ATTEMPTS submissions per connection at most.
QUIZZES = 4
ATTEMPTS = 1000
GRADED_SHARE = 0.7  # cells of the gradebook with a submission


def say(msg: str) -> None:
    print(f"bench | {msg}", flush=True)


# ---------------------------------------------------------------- quiz submissions


def quiz_fixture(api: stackmod.Api, fx: stackmod.Fixtures) -> list[str]:
    """QUIZZES published quizzes (QUESTIONS questions, ATTEMPTS attempts each) in a new
    module attached to the bench course; returns their ids once assessment accepts a
    submission to each from every student (the events have arrived)."""
    module = api.call(
        "POST", "/api/v1/modules", fx.instructor, expect=201, json={"title": "Bench quizzes"}
    )
    quizzes = []
    for q in range(QUIZZES):
        post = api.call(
            "POST",
            f"/api/v1/modules/{module['id']}/posts",
            fx.instructor,
            expect=201,
            json={
                "title": f"Quiz {q}",
                "status": "published",
                "content": {
                    "kind": "quiz",
                    "max_points": 10,
                    "attempts": ATTEMPTS,
                    "questions": [
                        {
                            "prompt": f"Question {i}?",
                            "choices": ["a", "b", "c", "d"],
                            "answer_index": i % 4,
                        }
                        for i in range(QUESTIONS)
                    ],
                },
            },
        )
        quizzes.append(post["id"])
    api.call(
        "POST",
        f"/api/v1/courses/{fx.course_id}/modules",
        fx.instructor,
        expect=201,
        json={"module_id": module["id"]},
    )
    deadline = time.monotonic() + 30
    for quiz in quizzes:
        for _, token in fx.students:
            while True:
                r = api.http.post(
                    f"/api/v1/posts/{quiz}/submissions",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"answers": ANSWERS},
                )
                if r.status_code == 201:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"quiz {quiz} not submittable: {r.status_code} {r.text[:300]}"
                    )
                time.sleep(0.2)
    return quizzes


ANSWERS = [i % 2 for i in range(QUESTIONS)]  # some right, some wrong


def submission_scripts(fx: stackmod.Fixtures, quizzes: list[str]) -> list[list[Any]]:
    """Each connection is its own student and submits to each quiz in turn: every request
    is a new submission (the next attempt), graded at once, with its outbox event."""
    return [
        [
            (
                "POST",
                f"/api/v1/posts/{quiz}/submissions",
                {"Authorization": f"Bearer {token}"},
                {"answers": ANSWERS},
            )
            for quiz in quizzes
        ]
        for _, token in fx.students
    ]


# ---------------------------------------------------------------- the gradebook (SQL)


def seed_gradebook(
    conn: psycopg.Connection[Any],
    owner: str,
    students: int,
    posts: int,
    modules: int = 5,
    course_id: str | None = None,
) -> dict[str, Any]:
    """A published course owned by ``owner`` written straight into assessment's projection
    (what its consumers would write): ``modules`` modules of ``posts / modules`` gradable
    posts (3 quizzes : 2 assignments, listed in ``module_posts``), ``students`` active
    enrollments with their names in ``users``; then, for ~GRADED_SHARE of the (student,
    post) cells, one submission and its ``post_grades`` row (what a submit writes): quizzes
    graded, assignments graded or, one in 6, waiting for a grader. Set-based (INSERT ...
    SELECT). ``course_id``: a course ``owner`` created through catalog, whose events
    assessment has applied (its row is kept as catalog made it), so the web can show it
    too (bench/web.py); else a course that exists only here."""
    course = course_id or str(uuid.uuid4())
    conn.execute(
        "INSERT INTO courses (course_id, status, visibility, creator_id, deleted)"
        " VALUES (%s, 'published', 'public', %s, false) ON CONFLICT (course_id) DO NOTHING",
        (course, owner),
    )
    per_module = posts // modules
    for m in range(modules):
        module = str(uuid.uuid4())
        conn.execute(
            "INSERT INTO modules (module_id, creator_id, deleted) VALUES (%s, %s, false)",
            (module, owner),
        )
        conn.execute(
            "INSERT INTO course_modules (course_id, module_id, position) VALUES (%s, %s, %s)",
            (course, module, m + 1),
        )
        conn.execute(
            "INSERT INTO posts (post_id, module_id, title, kind, status, position, max_points,"
            " answer_key, question_count, choice_counts, attempts, deleted)"
            " SELECT gen_random_uuid(), %s, CASE WHEN g %% 5 < 3 THEN 'Quiz ' ELSE 'Assignment ' END || %s || '.' || g,"
            " CASE WHEN g %% 5 < 3 THEN 'quiz' ELSE 'assignment' END, 'published', g,"
            " CASE WHEN g %% 5 < 3 THEN 10 ELSE 20 END,"
            " CASE WHEN g %% 5 < 3 THEN '{0,1,2,3,0}'::int[] END,"
            " CASE WHEN g %% 5 < 3 THEN 5 END,"
            " CASE WHEN g %% 5 < 3 THEN '{4,4,4,4,4}'::int[] END,"
            " CASE WHEN g %% 5 < 3 THEN 3 END, false"
            " FROM generate_series(1, %s) g",
            (module, m + 1, per_module),
        )
        conn.execute(
            "INSERT INTO module_posts (module_id, post_id, position)"
            " SELECT module_id, post_id, position FROM posts WHERE module_id = %s",
            (module,),
        )
    conn.execute(
        "INSERT INTO enrollments (enrollment_id, user_id, course_id, status)"
        " SELECT gen_random_uuid(), gen_random_uuid(), %s, 'active' FROM generate_series(1, %s)",
        (course, students),
    )
    # Their names, as identity's events leave them (the gradebook joins them by user id).
    conn.execute(
        "INSERT INTO users (user_id, username, display_name)"
        " SELECT user_id, 'bench_' || left(md5(user_id::text), 10),"
        "  'Bench Student ' || left(md5(user_id::text), 6)"
        " FROM enrollments WHERE course_id = %s",
        (course,),
    )
    # One submission (attempt 1) per chosen cell, and its post_grades row (attempts used,
    # latest status, kept score), as the submit/grade transactions write them.
    t0 = time.monotonic()
    conn.execute("SELECT setseed(0.13)")
    conn.execute(
        "CREATE TEMP TABLE bench_cells AS"
        " SELECT user_id, post_id, kind, max_points,"
        "  CASE WHEN kind = 'assignment' AND r2 < 1.0 / 6 THEN 'submitted' ELSE 'graded' END AS status,"
        "  round((r3 * max_points)::numeric, 2) AS score"
        " FROM (SELECT e.user_id, p.post_id, p.kind, p.max_points,"
        "   random() AS r1, random() AS r2, random() AS r3"
        "  FROM enrollments e CROSS JOIN posts p JOIN course_modules cm ON cm.module_id = p.module_id"
        "  WHERE e.course_id = %s AND cm.course_id = %s) c"
        " WHERE r1 < %s",
        (course, course, GRADED_SHARE),
    )
    t1 = time.monotonic()
    conn.execute(
        "INSERT INTO submissions (id, post_id, user_id, attempt, kind, status, answers, results,"
        " body, links, submitted_at, late, score, max_points, graded_at, grader_id)"
        " SELECT gen_random_uuid(), post_id, user_id, 1, kind, status,"
        "  CASE WHEN kind = 'quiz' THEN '[0, 1, 2, 1, 0]'::jsonb END,"
        '  CASE WHEN kind = \'quiz\' THEN \'[{"correct": true}, {"correct": true}, {"correct": true}, {"correct": false}, {"correct": true}]\'::jsonb END,'
        "  CASE WHEN kind = 'assignment' THEN 'My essay, in Markdown.' END,"
        "  CASE WHEN kind = 'assignment' THEN '[]'::jsonb END,"
        "  now() - interval '3 days', false, CASE WHEN status = 'graded' THEN score END, max_points,"
        "  CASE WHEN status = 'graded' THEN now() - interval '2 days' END,"
        "  CASE WHEN status = 'graded' AND kind = 'assignment' THEN %s::uuid END"
        " FROM bench_cells",
        (owner,),
    )
    t2 = time.monotonic()
    conn.execute(
        "INSERT INTO post_grades (user_id, post_id, attempts_used, status, late, kept_score, updated_at)"
        " SELECT user_id, post_id, 1, status, false, CASE WHEN status = 'graded' THEN score END, now()"
        " FROM bench_cells"
    )
    t3 = time.monotonic()
    conn.execute("DROP TABLE bench_cells")
    conn.execute("ANALYZE")
    row = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE g.status = 'graded') FROM post_grades g"
        " JOIN posts p USING (post_id) JOIN course_modules cm ON cm.module_id = p.module_id"
        " WHERE cm.course_id = %s",
        (course,),
    ).fetchone()
    assert row is not None
    t4 = time.monotonic()
    return {
        "course_id": course,
        "in_catalog": course_id is not None,
        "cells": students * posts,
        "submitted": row[0],
        "graded": row[1],
        "step_s": {
            "cells": round(t1 - t0, 2),
            "submissions": round(t2 - t1, 2),
            "post_grades": round(t3 - t2, 2),
            "analyze": round(t4 - t3, 2),
        },
    }


def deep_cursor(conn: psycopg.Connection[Any], course: str, skip: int) -> str:
    """The cursor a client holds after paging past ``skip`` students (the kernel's encoding
    of the gradebook's ``{"user_id"}`` keyset position)."""
    from syllabus_shared.pagination import encode_cursor

    row = conn.execute(
        "SELECT user_id FROM enrollments WHERE course_id = %s ORDER BY user_id OFFSET %s LIMIT 1",
        (course, skip - 1),
    ).fetchone()
    assert row is not None
    return encode_cursor({"user_id": str(row[0])})


# ---------------------------------------------------------------- CSV: time and memory


def listening_pid(url: str) -> int | None:
    """The pid of the process listening on ``url``'s port (from /proc/net/tcp and the
    processes' open sockets): the service process of this stack, not one of another
    stack on the same machine with the same command line."""
    port = int(url.rsplit(":", 1)[1].strip("/"))
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "0A":  # LISTEN
                inodes.add(f"socket:[{f[9]}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(proc.name)
        except OSError:
            continue
    return None


def _status(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])  # kB
    return out


def csv_once(base: str, path: str, token: str, pid: int | None) -> dict[str, Any]:
    """Download the whole CSV (streamed) and, while it streams, sample the assessment
    process's VmRSS every 2 ms; the peak is also read as VmHWM after resetting it
    (``/proc/<pid>/clear_refs`` = 5) just before the request. Memory figures are the
    growth over the RSS right before the request."""
    sampler: dict[str, Any] = {"peak": 0, "stop": False, "n": 0}
    before = _status(pid) if pid else {}
    reset = False
    if pid:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
            reset = True
        except OSError:
            pass
        before = _status(pid)

        def sample() -> None:
            while not sampler["stop"]:
                try:
                    rss = _status(pid)["VmRSS"]
                except (OSError, KeyError):
                    return
                sampler["peak"] = max(sampler["peak"], rss)
                sampler["n"] += 1
                time.sleep(0.002)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
    size = lines = 0
    t0 = time.perf_counter()
    first = None
    with (
        httpx.Client(base_url=base, timeout=120.0) as http,
        http.stream(
            "GET", path, headers={"Authorization": f"Bearer {token}", "Accept": "text/csv"}
        ) as r,
    ):
        if r.status_code != 200:
            raise RuntimeError(f"CSV: {r.status_code} {r.read()[:300]!r}")
        for chunk in r.iter_bytes():
            if first is None:
                first = time.perf_counter() - t0
            size += len(chunk)
            lines += chunk.count(b"\n")
    took = time.perf_counter() - t0
    out: dict[str, Any] = {
        "seconds": took,
        "first_byte_s": first,
        "bytes": size,
        "lines": lines,
    }
    if pid:
        sampler["stop"] = True
        thread.join()
        after = _status(pid)
        out["rss_before_kb"] = before["VmRSS"]
        out["rss_peak_growth_kb"] = max(sampler["peak"], after["VmRSS"]) - before["VmRSS"]
        out["rss_samples"] = sampler["n"]
        out["hwm_growth_kb"] = after["VmHWM"] - before["VmRSS"] if reset else None
    return out


def raw_csv_once(db_url: str, course: str) -> float:
    """Baseline: the same statement the view streams (SQLAlchemy-compiled from the
    service's own ``views._GRADEBOOK_CSV``, same post ids), fetched straight from
    PostgreSQL with a psycopg server-side cursor, 500 rows a fetch, nothing formatted.
    Timed from an open connection (the service takes one from its pool)."""
    from sqlalchemy.dialects import postgresql
    from syllabus_assessment import views

    with psycopg.connect(events.libpq(db_url)) as conn:
        conn.execute("SELECT 1")  # connected (the service's pool is): not timed
        conn.commit()
        t0 = time.perf_counter()
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        conn.execute("SET LOCAL jit = off")
        post_ids = [
            r[0]
            for r in conn.execute(
                "SELECT p.post_id FROM course_modules cm JOIN posts p ON p.module_id = cm.module_id"
                " LEFT JOIN module_posts mp ON mp.module_id = p.module_id AND mp.post_id = p.post_id"
                " WHERE cm.course_id = %s AND p.status = 'published' AND NOT p.deleted"
                " AND p.kind IN ('quiz', 'assignment')"
                " ORDER BY cm.position, cm.module_id, mp.position IS NULL,"
                " coalesce(mp.position, p.position), p.post_id",
                (course,),
            )
        ]
        compiled = views._GRADEBOOK_CSV.compile(dialect=postgresql.psycopg.dialect())  # type: ignore[no-untyped-call]
        state = compiled.construct_expanded_state(
            {"course_id": uuid.UUID(course), "post_ids": post_ids}
        )
        with conn.cursor(name="bench_gradebook") as cur:
            cur.itersize = views.CSV_BATCH
            cur.execute(state.statement, state.parameters)
            n = sum(1 for _ in cur)
        took = time.perf_counter() - t0
    assert n > 0
    return took


# ---------------------------------------------------------------- the section


def measure(
    stack: stackmod.Stack,
    api: stackmod.Api,
    fx: stackmod.Fixtures,
    args: argparse.Namespace,
    tool: str,
) -> dict[str, Any]:
    """Sections 6 (quiz submissions) and 7 (gradebook), with run.py's helpers."""
    from run import interleaved, ratios, spread, summarize

    res: dict[str, Any] = {}
    base = stack.services.get("assessment")
    if not base:
        say("6-7. assessment: not in the stack (deploy/stack.toml): skipped")
        return {"skipped": "assessment is not in the stack"}
    conns, dur, warm, reps = args.connections, args.duration, args.warmup, args.repeats
    adb = stack.db_url("syllabus_assessment")

    say(
        f"6. quiz submissions through the gateway vs the write floor of the assessment process ({QUIZZES} quizzes x {ATTEMPTS} attempts, one student per connection)"
    )
    quizzes = quiz_fixture(api, fx)
    with psycopg.connect(events.libpq(adb)) as conn:
        before = conn.execute("SELECT count(*) FROM submissions").fetchone()[0]  # type: ignore[index]
    runs = interleaved(
        {
            "healthz": (base, [[("GET", "/healthz", {}, None)]]),
            # The write floor (syllabus_shared.floor): one INSERT + one sealed outbox
            # event + COMMIT through the same process's unit of work, direct.
            "floor_write": (base, [[("POST", "/api/v1/_floor/write", {}, None)]]),
            "submit": (stack.gateway, submission_scripts(fx, quizzes)),
        },
        reps,
        tool,
        conns,
        dur,
        warm,
    )
    with psycopg.connect(events.libpq(adb)) as conn:
        after = conn.execute("SELECT count(*) FROM submissions").fetchone()[0]  # type: ignore[index]
        most = conn.execute(
            "SELECT max(attempts_used) FROM post_grades WHERE post_id = ANY(%s::uuid[])", (quizzes,)
        ).fetchone()[0]  # type: ignore[index]
    res["submissions"] = {
        "healthz": summarize(runs["healthz"]),
        "floor_write": summarize(runs["floor_write"]),
        "submit": summarize(runs["submit"]),
        "ratio": ratios(runs["submit"], runs["floor_write"]),
        "ratio_healthz": ratios(runs["submit"], runs["healthz"]),
        "rows_created": after - before,  # includes the warm-up runs' submissions
        "max_attempt": most,
        "quizzes": QUIZZES,
        "attempts": ATTEMPTS,
    }
    say(
        f"  {after - before} submissions created (warm-ups included); highest attempt {most} of {ATTEMPTS}"
    )

    if getattr(args, "submissions_only", False):
        return res
    students, posts = args.students, args.gradebook_posts
    say(
        f"7. gradebook: {students:,} students x {posts} gradable posts, seeded into assessment's database"
    )
    owner = api.call("GET", "/api/v1/users/me", fx.instructor)["id"]
    # The course itself through catalog (the web's gradebook page reads it there: section
    # 10 reuses this one), its events applied before the seed writes beside its row.
    in_catalog = api.call(
        "POST", "/api/v1/courses", fx.instructor, expect=201, json={"title": "Gradebook course"}
    )["id"]
    stackmod.settle(stack)
    t0 = time.monotonic()
    with psycopg.connect(events.libpq(adb), autocommit=True) as conn:
        seed = seed_gradebook(conn, owner, students, posts, course_id=in_catalog)
        deep_at = max(1, students * 9 // 10)
        deep = deep_cursor(conn, seed["course_id"], deep_at)
    seed["seconds"] = round(time.monotonic() - t0, 1)
    say(
        f"  seeded in {seed['seconds']} s: {seed['submitted']:,} of {seed['cells']:,} cells submitted, {seed['graded']:,} graded"
    )
    course = seed["course_id"]
    auth = {"Authorization": f"Bearer {fx.instructor}"}
    page = f"/api/v1/courses/{course}/grades?limit=100"
    first = api.call("GET", page, fx.instructor)
    deep_page = api.call("GET", f"{page}&cursor={deep}", fx.instructor)
    assert len(first["items"]) == 100 and first["next_cursor"], "first page"
    assert len(deep_page["items"]) == min(100, students - deep_at), "deep page"
    cases = {
        "first": (stack.gateway, [[("GET", page, auth, None)]]),
        "deep": (stack.gateway, [[("GET", f"{page}&cursor={deep}", auth, None)]]),
    }
    runs = interleaved(cases, reps, tool, 1, dur, 1.0)
    pid = listening_pid(base)
    csv_path = f"/api/v1/courses/{course}/grades"
    csv_runs, raw_runs = [], []
    # Warm-up: the first read brings the tables into memory.
    csv_once(stack.gateway, csv_path, fx.instructor, None)
    for r in range(reps):
        raw_runs.append(raw_csv_once(adb, course))
        c = csv_once(stack.gateway, csv_path, fx.instructor, pid)
        csv_runs.append(c)
        say(
            f"  CSV #{r + 1}: {c['lines'] - 1:,} rows, {c['bytes'] / 1e6:.2f} MB in {c['seconds']:.2f} s"
            f" (first byte {c['first_byte_s'] * 1000:.0f} ms); RSS growth {c.get('rss_peak_growth_kb')} kB"
            f" (VmHWM {c.get('hwm_growth_kb')} kB, {c.get('rss_samples')} samples);"
            f" same statement straight from PostgreSQL {raw_runs[-1]:.2f} s"
        )
        if c["lines"] != students + 1:
            raise RuntimeError(f"CSV has {c['lines']} lines, expected {students + 1}")

    def mib(kb: Any) -> float | None:
        return None if kb is None else kb / 1024

    res["gradebook"] = {
        "students": students,
        "posts": posts,
        "seed": seed,
        "deep_after": deep_at,
        "first": summarize(runs["first"]),
        "deep": summarize(runs["deep"]),
        "csv_s": spread([c["seconds"] for c in csv_runs]),
        "csv_first_byte_ms": spread([c["first_byte_s"] * 1000 for c in csv_runs]),
        "csv_mb": round(statistics.median(c["bytes"] for c in csv_runs) / 1e6, 2),
        "csv_rows": csv_runs[0]["lines"] - 1,
        "raw_s": spread(raw_runs),
        "ratio_csv": spread([c["seconds"] / r for c, r in zip(csv_runs, raw_runs, strict=True)]),
        "rss_growth_mib": spread([mib(c.get("rss_peak_growth_kb")) for c in csv_runs]),
        "hwm_growth_mib": spread([mib(c.get("hwm_growth_kb")) for c in csv_runs]),
        "rss_before_mib": spread([mib(c.get("rss_before_kb")) for c in csv_runs]),
        "memory": "assessment process (pid from /proc): VmRSS sampled every 2 ms while streaming, and VmHWM after resetting it (clear_refs=5); growth over VmRSS before the request"
        if pid
        else "assessment process not found: memory not measured",
        "runs": csv_runs,
    }
    return res


def rows(r: dict[str, Any], f: Any, s: Any) -> list[tuple[Any, ...]]:
    """Table rows for run.py's markdown (``f``/``s``: its number formatters)."""
    a = r.get("assessment")
    if not a or "skipped" in a:
        return [("6", "assessment rows", "-", "skipped: assessment not in the stack", "", "", None)]
    out: list[tuple[Any, ...]] = []
    sb = a["submissions"]
    ratio = sb["ratio"]["median"]
    sub = sb["submit"]
    out.append(
        (
            "6",
            f"quiz submissions through the gateway, req/s (p50 / p99 {f(sub['p50_ms']['median'], nd=1)} / {f(sub['p99_ms']['median'], nd=1)} ms; errors {sub['errors']})",
            s(sub["rps"]),
            "write floor (INSERT + outbox row + COMMIT), same app (direct): "
            + s(sb["floor_write"]["rps"])
            + f" (p50 {f(sb['floor_write']['p50_ms']['median'], nd=1)} ms)",
            f(ratio, nd=2),
            "≥ 0.50",
            ratio is not None and ratio >= 0.5,
        )
    )
    out.append(
        (
            "6",
            "quiz submissions vs /healthz, req/s",
            s(sub["rps"]),
            "/healthz same app (direct): " + s(sb["healthz"]["rps"]),
            f(sb["ratio_healthz"]["median"], nd=2),
            "",
            None,
        )
    )
    if "gradebook" not in a:
        return out
    g = a["gradebook"]
    size = f"{g['students']:,} students x {g['posts']} posts"
    for key, label in (("first", "first page"), ("deep", f"page after {g['deep_after']:,}")):
        p = g[key]
        out.append(
            (
                "7",
                f"gradebook JSON, {size}, limit=100, {label}: p50 / p99 ms",
                f"{f(p['p50_ms']['median'], nd=1)} / {f(p['p99_ms']['median'], nd=1)}",
                f"1 connection, {f(p['rps']['median'], nd=0)} req/s; errors {p['errors']}",
                "",
                "",
                None,
            )
        )
    ratio = g["ratio_csv"]["median"]
    out.append(
        (
            "7",
            f"gradebook CSV, {size} ({g['csv_mb']} MB, {g['csv_rows']:,} rows): whole file, s",
            s(g["csv_s"], nd=2),
            "same statement straight from PostgreSQL: " + s(g["raw_s"], nd=2),
            f(ratio, "x", 1),
            "",
            None,
        )
    )
    out.append(
        (
            "7",
            "gradebook CSV: assessment process RSS growth while streaming, MiB",
            s(g["rss_growth_mib"], nd=1),
            f"RSS before {f(g['rss_before_mib']['median'], nd=0)} MiB; VmHWM growth {s(g['hwm_growth_mib'], nd=1)}",
            "",
            "≪ file size",
            g["rss_growth_mib"]["median"] is not None
            and g["rss_growth_mib"]["median"] < g["csv_mb"] / 1.048576,
        )
    )
    return out


def main() -> int:
    import run

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--duration", type=float, default=2.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--students", type=int, default=10_000)
    ap.add_argument("--gradebook-posts", type=int, default=50)
    ap.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--submissions-only", action="store_true", help="section 6 only (no gradebook seed)"
    )
    ap.add_argument(
        "--hold",
        type=float,
        default=0,
        help="seconds to keep the stack up first (attach a profiler)",
    )
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.students = 1, 1000
    import drivers

    tool = "wrk" if args.loadgen != "python" and drivers.wrk_version() else "python"
    data_dir = Path(tempfile.mkdtemp(prefix="syllabus-bench-a-"))
    stack = stackmod.start(data_dir, say)
    try:
        api = stackmod.Api(stack.gateway)
        fx = stackmod.build(
            api, students=args.connections, modules=1, posts_per_module=1, lag_pairs=0
        )
        say(f"pids: {json.dumps(stack.pids())}")
        if args.hold:
            time.sleep(args.hold)
        res = {"assessment": measure(stack, api, fx, args, tool)}
    finally:
        stackmod.stop(stack)
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(res, indent=2, default=str))
    for row in rows(res, run._f, run._s):
        print("| " + " | ".join(str(x) for x in row[:6]) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

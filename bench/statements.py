"""Where a hot write's database time goes, statement by statement: a stack of its own,
a warm-up (so statements are prepared, as in a long-running service), then
``--seconds`` of that write's load with PostgreSQL logging every statement
(``log_min_duration_statement = 0``, set and reset with ``ALTER SYSTEM``). Prints each
statement's server time per request, split by phase (``bind`` is where PostgreSQL plans
a statement that keeps a custom plan; a ``statement`` of a simple query includes its
lock waits), and how many events each durable consumer applied per transaction
(``count(*) / count(DISTINCT xmin)`` over the inbox rows of the run).

    python bench/statements.py [--kind submit|complete] [--seconds 4] [--top 25]

``submit``: section 6's quiz submissions through the gateway; ``complete``: section 2's
mark complete / uncomplete on its 5 x 4 course, direct to progress.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import assessment
import drivers
import psycopg
import stack as stackmod

DATABASES = (
    "syllabus_identity",
    "syllabus_catalog",
    "syllabus_content",
    "syllabus_progress",
    "syllabus_assessment",
)
_ENTRY = re.compile(
    r"\[\d+\] (\S*) ?LOG:  duration: ([0-9.]+) ms  (parse|bind|execute|statement)[^:]*:(.*)",
    re.S,
)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _logging(stack: stackmod.Stack, on: bool) -> None:
    with psycopg.connect(_libpq(stack.pg_url), autocommit=True) as conn:
        if on:
            conn.execute("ALTER SYSTEM SET log_min_duration_statement = 0")
            conn.execute("ALTER SYSTEM SET log_line_prefix = '%m [%p] %d '")
        else:
            conn.execute("ALTER SYSTEM RESET log_min_duration_statement")
            conn.execute("ALTER SYSTEM RESET log_line_prefix")
        conn.execute("SELECT pg_reload_conf()")


def per_statement(log_text: str) -> dict[tuple[str, str, str], list[float]]:
    """(database, phase, statement's first 90 characters) -> [executions, total ms]."""
    out: dict[tuple[str, str, str], list[float]] = collections.defaultdict(lambda: [0, 0.0])
    for entry in re.split(r"\n(?=\d{4}-\d\d-\d\d )", log_text):
        m = _ENTRY.search(entry)
        if m is None:
            continue
        db, ms, phase, sql = m.group(1), float(m.group(2)), m.group(3), m.group(4)
        key = (db, phase, " ".join(sql.split())[:90])
        out[key][0] += 1
        out[key][1] += ms
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kind", choices=["submit", "complete"], default="submit")
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="syllabus-bench-s-"))
    stack = stackmod.start(data_dir, assessment.say)
    try:
        api = stackmod.Api(stack.gateway)
        fx = stackmod.build(
            api, students=args.connections, modules=5, posts_per_module=4, lag_pairs=0
        )
        if args.kind == "submit":
            base = stack.gateway
            scripts = assessment.submission_scripts(fx, assessment.quiz_fixture(api, fx))
        else:
            base = stack.services["progress"]
            scripts = stackmod.completion_scripts(fx)
        drivers.load("python", base, scripts, args.connections, 3.0, 0.5)  # prepared
        log = next(data_dir.rglob("postgres.log"))
        _logging(stack, True)
        start = log.stat().st_size
        res = drivers.load("python", base, scripts, args.connections, args.seconds, 0.0)
        _logging(stack, False)
        requests = max(1, res["requests"])
        print(f"{res['rps']} req/s, p50 {res['p50_ms']} ms, {requests} requests")
        print("server ms per request, by statement (database, phase, statement):")
        stats = per_statement(log.read_bytes()[start:].decode(errors="replace"))
        for (db, phase, sql), (n, total) in sorted(stats.items(), key=lambda kv: -kv[1][1])[
            : args.top
        ]:
            print(f"  {total / requests:7.3f}  {int(n):6d}x  {db} {phase} {sql}")
        print("events per consumer transaction (this run's inbox rows):")
        for db in DATABASES:
            with psycopg.connect(_libpq(stack.db_url(db))) as conn:
                for consumer, events, txns in conn.execute(
                    "SELECT consumer, count(*), count(DISTINCT xmin::text) FROM inbox"
                    " WHERE processed_at > now() - make_interval(secs => %s)"
                    " GROUP BY 1 HAVING count(*) > 20 ORDER BY 2 DESC",
                    (args.seconds + 5,),
                ):
                    print(f"  {consumer:28s} {events:6d} events {events / txns:5.2f} a txn")
    finally:
        stackmod.stop(stack)
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

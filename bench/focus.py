"""A focused bench: only #2 (framework ceiling) and #3 (event lag) of ``run.py``, on a
stack of its own, for quick before/after comparisons while working on the request path.

    python bench/focus.py [--repeats 2] [--duration 3] [--warmup 1]
        [--sections ceiling,overload,idle,lag,relay,rebuild,live,web,groups]
        [--hold 600] [--out f.json]

``live`` is run.py's section 9 (bench/live.py) as it runs there: ``--live-streams``,
``--live-rate``, ``--live-duration``, ``--quick`` as in run.py. ``web`` is section 10
(bench/web.py): ``--web-samples``, ``--students``, ``--gradebook-posts``, ``--quick``; it
seeds its own gradebook course (in the full run it reuses section 7's).

``--hold N`` keeps the stack up for N seconds after the fixtures (and writes the URLs,
pids and tokens to ``--out``) so a profiler can be attached (``py-spy record --pid``).
To measure other code on the same machine, run it with ``PYTHONPATH`` pointing at another
copy of the sources: services inherit ``PYTHONPATH`` from the devstack.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import drivers
import events
import groups
import httpx
import live
import psycopg
import run
import stack as stackmod
import web


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--lag-rate", type=float, default=200.0)
    ap.add_argument("--lag-duration", type=float, default=5.0)
    ap.add_argument("--sections", default="ceiling,lag")
    ap.add_argument("--relay-events", type=int, default=20_000)
    ap.add_argument("--rebuild-courses", type=int, default=100, help="57 events each")
    ap.add_argument("--live-streams", default="1000,5000", help="open streams, comma-separated")
    ap.add_argument("--live-rate", type=float, default=50.0, help="completions/s")
    ap.add_argument("--live-duration", type=float, default=6.0)
    ap.add_argument("--web-samples", type=int, default=30, help="web: requests per page and repeat")
    ap.add_argument("--students", type=int, default=10_000, help="web: the gradebook's students")
    ap.add_argument("--gradebook-posts", type=int, default=50)
    ap.add_argument("--group-members", type=int, default=10_000, help="groups: the followed group")
    ap.add_argument(
        "--group-samples", type=int, default=30, help="groups: members added one at a time"
    )
    ap.add_argument(
        "--quick", action="store_true", help="live: 1,000 streams, shorter runs; web: smaller"
    )
    ap.add_argument("--hold", type=float, default=0.0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    if args.quick:
        args.live_streams, args.live_duration = "1000", 4.0
        args.web_samples, args.students = 15, 1000
    live.raise_nofile()  # before the stack starts: its processes inherit it
    data_dir = Path(tempfile.mkdtemp(prefix="syllabus-focus-"))
    st = stackmod.start(data_dir, run.say)
    out: dict[str, Any] = {}
    try:
        api = stackmod.Api(st.gateway)
        conns = args.connections
        fx = stackmod.build(api, students=conns, modules=5, posts_per_module=4, lag_pairs=conns)
        progress, catalog = st.services["progress"], st.services["catalog"]
        doc = stackmod.document_scripts(fx)
        write = stackmod.completion_scripts(fx)
        if args.hold:
            info = {
                "progress": progress,
                "catalog": catalog,
                "pids": st.pids(),
                "course": fx.course_id,
                "post": fx.post_ids[0],
                "tokens": [t for _, t in fx.students],
                "instructor": fx.instructor,
                "lag_courses": fx.lag_courses,
            }
            if args.out:
                args.out.write_text(json.dumps(info, indent=2))
            run.say(
                f"holding {args.hold:g}s: {json.dumps({k: info[k] for k in ('progress', 'pids')})}"
            )
            time.sleep(args.hold)
            return 0
        if "live" in sections:
            out["live"] = live.measure(st, api, fx, args)
        if "web" in sections:
            out["web"] = web.measure(st, api, fx, args)
        if "groups" in sections:
            out["groups"] = groups.measure(st, api, fx, args)
        if "overload" in sections:
            # run.py's 2b: 16 vs 128 connections, through the gateway and direct.
            over: dict[str, list[float]] = {}
            for _ in range(args.repeats):
                for key in ("16", "128", "16d", "128d"):
                    n = int(key.rstrip("d"))
                    base = progress if key.endswith("d") else st.gateway
                    o = drivers.run_python(
                        base, doc, n, args.duration, args.warmup, pause_after_503=1.0
                    )
                    run.say(
                        f"  {key}: {o['rps']} req/s admitted p99 {o['admitted_p99_ms']} ms,"
                        f" {o['shed']} of {o['requests']} shed"
                    )
                    over.setdefault(key, []).append(o["admitted_p99_ms"] or 0)
            out["overload"] = {k: run.spread(v) for k, v in over.items()}
        if "ceiling" in sections:
            floor_key = httpx.post(f"{progress}/api/v1/_floor/write", timeout=10).json()["key"]
            floor_read = [[("GET", f"/api/v1/_floor/read/{floor_key}", {}, None)]]
            runs = run.interleaved(
                {
                    "healthz": (progress, [[("GET", "/healthz", {}, None)]]),
                    "floor_read": (progress, floor_read),
                    "document": (progress, doc),
                    "floor_write": (progress, [[("POST", "/api/v1/_floor/write", {}, None)]]),
                    "complete": (progress, write),
                },
                args.repeats,
                "wrk" if drivers.wrk_version() else "python",
                conns,
                args.duration,
                1.0,
                st,
            )
            out["ceiling"] = {k: run.summarize(v) for k, v in runs.items()}
            out["ceiling"]["ratio_document"] = run.ratios(runs["document"], runs["healthz"])
            out["ceiling"]["ratio_complete"] = run.ratios(runs["complete"], runs["healthz"])
            out["ceiling"]["ratio_document_floor"] = run.ratios(
                runs["document"], runs["floor_read"]
            )
            out["ceiling"]["ratio_complete_floor"] = run.ratios(
                runs["complete"], runs["floor_write"]
            )
        if "relay" in sections:
            relay = asyncio.run(events.relay_throughput(st, args.relay_events, args.repeats))
            out["relay"] = {k: [round(x) for x in v] for k, v in relay.items()}
            run.say(f"  relay: {out['relay']}")
        if "rebuild" in sections:
            n = asyncio.run(events.publish_history(st.nats_url, "benchrb", args.rebuild_courses))
            db_url = events.prepare_rebuild_db(st)
            out["rebuild"] = []
            for _ in range(args.repeats):
                total, took = asyncio.run(events.raw_consume(st.nats_url, "benchrb"))
                counts, rb_took = asyncio.run(events.timed_rebuild(db_url, st.nats_url, "benchrb"))
                replayed = counts.get("catalog", 0) + counts.get("content", 0)
                out["rebuild"].append(
                    {
                        "events": n,
                        "rebuild_eps": round(replayed / rb_took),
                        "raw_eps": round(total / took),
                        "ratio": round(replayed / rb_took / (total / took), 2),
                    }
                )
                run.say(f"  rebuild: {out['rebuild'][-1]}")
        if "idle" in sections:
            events.install_commit_probes(st, ["syllabus_catalog", "syllabus_progress"])
            out["idle"] = []
            for _ in range(args.repeats):
                idle = events.idle_lag(
                    st, [(catalog, stackmod.outline_scripts(fx)), (progress, write)]
                )
                run.say(f"  idle: {json.dumps(idle)}")
                out["idle"].append(idle)
        if "lag" in sections:
            events.install_commit_probes(st, ["syllabus_catalog", "syllabus_progress"])
            outline = stackmod.outline_scripts(fx)
            out["lag"] = []
            for _ in range(args.repeats):
                since = events.db_now(st)
                results: dict[str, Any] = {}

                def drive(
                    name: str, base: str, scripts: Any, results: dict[str, Any] = results
                ) -> None:
                    results[name] = drivers.run_python(
                        base, scripts, conns // 2, args.lag_duration, 0.0, rate=args.lag_rate / 2
                    )

                threads = [
                    threading.Thread(target=drive, args=("outline", catalog, outline)),
                    threading.Thread(target=drive, args=("complete", progress, write)),
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                until = events.db_now(st)
                time.sleep(1.5)
                rep: dict[str, Any] = {"rps": {k: v["rps"] for k, v in results.items()}}
                for name, (producer, consumer_db, consumer, etype) in events.LAG_PIPELINES.items():
                    xs, miss = events.commit_lags(
                        st, producer, consumer_db, consumer, etype, since, until
                    )
                    rep[name] = {
                        "p50_ms": run.pct(xs, 50),
                        "p99_ms": run.pct(xs, 99),
                        "n": len(xs),
                        "missing": miss,
                    }
                    # Stage: producer commit -> the relay took the row (``published_at``
                    # is the relay transaction's start); the rest is NATS + the consumer.
                    with psycopg.connect(events.libpq(st.db_url(producer))) as conn:
                        relay = [
                            float(r[0]) * 1000
                            for r in conn.execute(
                                "SELECT extract(epoch FROM o.published_at"
                                " - pg_xact_commit_timestamp((b.xid %% 4294967296)::text::xid))"
                                " FROM outbox o JOIN bench_outbox_xid b USING (id)"
                                " WHERE o.event_type = %s AND o.created_at BETWEEN %s AND %s"
                                " AND o.published_at IS NOT NULL",
                                (etype, since, until),
                            ).fetchall()
                            if r[0] is not None
                        ]
                    rep[name]["relay_p50_ms"] = run.pct(relay, 50)
                    rep[name]["relay_p99_ms"] = run.pct(relay, 99)
                run.say(f"  lag: {json.dumps(rep)}")
                out["lag"].append(rep)
    finally:
        stackmod.stop(st)
        shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(out, indent=1))
    if args.out:
        args.out.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

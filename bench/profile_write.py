"""Profile a hot write: a stack of its own, then only that write's load for ``--seconds``
(``--kind submit``: section 6's quiz submissions through the gateway; ``complete``:
section 2's mark complete / uncomplete, direct to progress; ``floor``: progress's write
floor; ``document``: section 2's progress document, direct; ``read-floor``: its read
floor), printing the CPU each process spent per request, while py-spy (``--py-spy PATH``)
records the named processes (collapsed stacks in ``--out-dir``).

    python bench/profile_write.py [--kind submit] [--py-spy /path/to/py-spy] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import assessment
import drivers
import httpx
import stack as stackmod

_HZ = os.sysconf("SC_CLK_TCK")


def _cpu(stack: stackmod.Stack) -> dict[str, int]:
    """utime+stime ticks per process of the stack, by a short name (python -m module +
    role, else comm; PostgreSQL backends summed per database)."""
    out: dict[str, int] = {}
    for pid in stack.own_pids():
        entry = Path(f"/proc/{pid}")
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        words = [c.decode(errors="replace") for c in cmd if c]
        if "-m" in words and words.index("-m") + 2 < len(words):
            i = words.index("-m")
            name = f"{words[i + 1]} {words[i + 2]}"
        elif words and words[0].startswith("postgres:"):
            parts = words[0].split()
            name = "postgres " + (parts[2] if len(parts) > 2 else parts[1])
        else:
            name = stat.split("(", 1)[1].split(")", 1)[0]
        out[name] = out.get(name, 0) + ticks
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    kinds = ["submit", "complete", "floor", "document", "read-floor"]
    ap.add_argument("--kind", choices=kinds, default="submit")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--py-spy", default="")
    ap.add_argument("--procs", default="assessment,gateway")
    ap.add_argument("--out-dir", type=Path, default=Path(tempfile.gettempdir()))
    args = ap.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="syllabus-bench-p-"))
    stack = stackmod.start(data_dir, assessment.say)
    try:
        api = stackmod.Api(stack.gateway)
        # Section 2's course (5 x 4 posts) for its rows; section 6's quiz course otherwise.
        reads = args.kind in ("document", "read-floor", "complete")
        fx = stackmod.build(
            api,
            students=args.connections,
            modules=5 if reads else 1,
            posts_per_module=4 if reads else 1,
            lag_pairs=0,
        )
        base = stack.services["progress"]
        if args.kind == "submit":
            base = stack.gateway
            scripts = assessment.submission_scripts(fx, assessment.quiz_fixture(api, fx))
        elif args.kind == "complete":
            scripts = stackmod.completion_scripts(fx)
        elif args.kind == "document":
            scripts = stackmod.document_scripts(fx)
        elif args.kind == "read-floor":
            key = httpx.post(f"{base}/api/v1/_floor/write", timeout=10).json()["key"]
            scripts = [[("GET", f"/api/v1/_floor/read/{key}", {}, None)]]
        else:
            scripts = [[("POST", "/api/v1/_floor/write", {}, None)]]
        drivers.load("python", base, scripts, args.connections, 2.0, 0.5)
        pids = stack.pids()
        spies = []
        if args.py_spy:
            for name in args.procs.split(","):
                out = args.out_dir / f"spy-{name}.txt"
                spies.append(
                    subprocess.Popen(  # noqa: S603 (a path the operator gave)
                        [
                            args.py_spy,
                            "record",
                            "--pid",
                            str(pids[name]),
                            "--duration",
                            str(int(args.seconds)),
                            "--rate",
                            "250",
                            "--format",
                            "raw",
                            "-o",
                            str(out),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
        before = _cpu(stack)
        res = drivers.load("python", base, scripts, args.connections, args.seconds, 0.5)
        after = _cpu(stack)
        for spy in spies:
            spy.wait()
        print(json.dumps({k: res[k] for k in ("rps", "p50_ms", "p99_ms", "errors")}))
        done = res["rps"] * (args.seconds + 0.5)
        print(
            f"CPU ms per request (over {args.seconds + 0.5:g}s incl. warm-up,"
            f" ~{done:.0f} requests):"
        )
        for name, ticks in sorted(
            ((n, after.get(n, 0) - before.get(n, 0)) for n in after), key=lambda x: -x[1]
        )[:16]:
            print(f"  {name:48s} {1000 * ticks / _HZ / max(done, 1):7.2f}")
    finally:
        stackmod.stop(stack)
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

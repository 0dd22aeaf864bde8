"""Profile quiz submissions: a stack of its own, the section-6 fixture, then only the
submission load for ``--seconds`` while py-spy (``--py-spy PATH``) records the named
processes (collapsed stacks in ``--out-dir``). For working on assessment's write path.

    python bench/profile_submit.py --py-spy /path/to/py-spy [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import assessment
import drivers
import stack as stackmod


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
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
        fx = stackmod.build(
            api, students=args.connections, modules=1, posts_per_module=1, lag_pairs=0
        )
        quizzes = assessment.quiz_fixture(api, fx)
        scripts = assessment.submission_scripts(fx, quizzes)
        drivers.load("python", stack.gateway, scripts, args.connections, 2.0, 0.5)
        pids = stack.pids()
        spies = []
        if args.py_spy:
            for name in args.procs.split(","):
                out = args.out_dir / f"spy-{name}.txt"
                spies.append(
                    subprocess.Popen(
                        [args.py_spy, "record", "--pid", str(pids[name]), "--duration",
                         str(int(args.seconds)), "--rate", "250", "--format", "raw", "-o", str(out)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )
                )
        res = drivers.load("python", stack.gateway, scripts, args.connections, args.seconds, 0.5)
        for spy in spies:
            spy.wait()
        print(json.dumps({k: res[k] for k in ("rps", "p50_ms", "p99_ms", "errors")}))
    finally:
        stackmod.stop(stack)
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

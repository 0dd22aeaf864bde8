"""``python -m syllabus_devstack run [--replicas N]`` | ``python -m syllabus_devstack clean``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from syllabus_devstack.processes import StartupError
from syllabus_devstack.runner import Options, clean, run, single_runner_lock
from syllabus_devstack.stack import find_repo_root, load_stack


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse the command line and run or clean the local stack."""
    parser = argparse.ArgumentParser(
        prog="python -m syllabus_devstack",
        description="The whole Syllabus stack on one machine.",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="where state and logs live (default: .data)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_cmd = commands.add_parser("run", help="start everything; Ctrl-C stops it")
    run_cmd.add_argument("--replicas", type=int, default=1, help="instances of each service")
    run_cmd.add_argument(
        "--stack", type=Path, default=None, help="stack file (default: deploy/stack.toml)"
    )
    run_cmd.add_argument(
        "--ready-timeout", type=float, default=90.0, help="seconds each service may take"
    )
    run_cmd.add_argument(
        "--one-process",
        action="store_true",
        help="run each service's relay and consumers in its API process (no consume process)",
    )
    run_cmd.add_argument(
        "--quiet", action="store_true", help="do not mirror service logs to the console"
    )
    commands.add_parser("clean", help="remove the data dir (databases, streams, logs)")
    args = parser.parse_args(argv)

    root = find_repo_root()
    data_dir = (args.data_dir or root / ".data").resolve()
    try:
        if args.command == "clean":
            return clean(data_dir)
        if args.replicas < 1:
            parser.error("--replicas must be at least 1")
        stack_file = (args.stack or root / "deploy" / "stack.toml").resolve()
        stack = load_stack(stack_file)
        options = Options(
            root=root,
            data_dir=data_dir,
            stack=stack,
            replicas=args.replicas,
            gateway_port=int(os.environ.get("GATEWAY_PORT") or stack.gateway.port),
            ready_timeout=args.ready_timeout,
            mirror_logs=not args.quiet,
            consume_processes=not args.one_process,
        )
        with single_runner_lock(data_dir):
            return asyncio.run(run(options))
    except StartupError as error:
        print(f"devstack    | ERROR: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""Wait until this service's database is at the migration head its code expects.

Runs as the init container of each service's Kubernetes pods. The migrations themselves
run once per release, in the service's migration Job (running them from every pod would
race: Alembic takes no lock). A pod starts when the database is

- at this code's head, or
- at a revision this code does not know: the database is ahead, which is what a rolled-back
  Deployment sees; the schema is expand/contract, so older code runs on a newer schema.

Usage: ``wait_for_migrations.py [--timeout SECONDS] [--interval SECONDS]``, with
``SYLLABUS_SERVICE`` and ``DATABASE_URL`` in the environment. Exits 0 when ready (or when
the service has no migrations), 1 on timeout.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine


def migrations_dir(service: str) -> Path | None:
    """The service's migrations, found as its ``__main__`` finds them (next to ``src/``)."""
    spec = importlib.util.find_spec(f"syllabus_{service}")
    if spec is None or spec.origin is None:
        raise SystemExit(f"syllabus_{service} is not installed in this image")
    path = Path(spec.origin).resolve().parents[2] / "migrations"
    return path if (path / "env.py").exists() else None


def pending(script: ScriptDirectory, engine: Engine) -> str | None:
    """Why the database is not ready yet, or None when it is."""
    heads = set(script.get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current == heads:
        return None
    for revision in current:
        try:
            script.get_revision(revision)
        except CommandError:
            print(f"database is at {revision}, newer than this code: starting anyway")
            return None
    return f"database at {sorted(current) or 'no revision'}, waiting for {sorted(heads)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wait-for-migrations")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--interval", type=float, default=3.0)
    args = parser.parse_args(argv)

    service = os.environ["SYLLABUS_SERVICE"]
    directory = migrations_dir(service)
    if directory is None:
        print(f"{service}: no migrations")
        return 0
    script = ScriptDirectory(str(directory))
    engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
    deadline = time.monotonic() + args.timeout
    try:
        while True:
            try:
                reason = pending(script, engine)
            except Exception as exc:  # the database may not answer yet
                reason = f"database unavailable: {type(exc).__name__}"
            if reason is None:
                print(f"{service}: migrations are applied")
                return 0
            if time.monotonic() >= deadline:
                print(f"{service}: gave up after {args.timeout:.0f}s: {reason}", file=sys.stderr)
                return 1
            print(f"{service}: {reason}", flush=True)
            time.sleep(args.interval)
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())

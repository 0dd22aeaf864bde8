"""The same command line for every service: ``python -m syllabus_<name> <command>``.

- ``migrate``: run this service's migrations (a separate step, never at app start).
- ``serve [--host H] [--port P] [--workers N]``: run the HTTP app (with relay and consumers).
- ``dead-letters [--replay]``: list this service's dead-lettered events, or replay them.
- plus any ``extra_commands`` a service adds (identity: ``rotate-keys``).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import uvicorn
from sqlalchemy import func, select

from syllabus_shared.settings import ServiceSettings

# A service's own command: gets the settings, returns the exit status. Its docstring's
# first line is its help text.
ServiceCommand = Callable[[ServiceSettings], int]


def run_cli(
    *,
    service: str,
    app_factory: str,
    migrations_dir: Path,
    settings_factory: Callable[[], ServiceSettings],
    argv: Sequence[str] | None = None,
    extra_commands: Mapping[str, ServiceCommand] | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m syllabus_{service}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations")
    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    dead = sub.add_parser("dead-letters", help="list or replay dead-lettered events")
    dead.add_argument("--replay", action="store_true")
    extra = dict(extra_commands or {})
    for name, command in extra.items():
        sub.add_parser(name, help=(command.__doc__ or "").strip().split("\n")[0])
    args = parser.parse_args(argv)

    settings = settings_factory()
    if args.command in extra:
        return extra[args.command](settings)
    if args.command == "migrate":
        from syllabus_shared.migrations import upgrade

        upgrade(migrations_dir, settings.database_url)
        print(f"{service}: migrations applied")
        return 0
    if args.command == "serve":
        uvicorn.run(
            app_factory,
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=10,
        )
        return 0
    if args.command == "dead-letters":
        return asyncio.run(_dead_letters(app_factory, args.replay))
    return 2


async def _dead_letters(app_factory: str, replay: bool) -> int:
    import importlib

    from syllabus_shared.runtime import build_runtime

    module_name = app_factory.partition(":")[0]
    module = importlib.import_module(module_name)
    settings = module.Settings()
    rt = build_runtime(settings, module.TABLES, module.SUBSCRIPTIONS)
    dl = rt.tables.dead_letters
    try:
        if replay:
            for consumer in rt.consumers:
                done, failing = await consumer.replay_dead_letters()
                print(f"{consumer.subscription.name}: replayed={done} still_failing={failing}")
            return 0
        async with rt.db.transaction() as session:
            rows = (
                await session.execute(
                    select(dl.c.consumer, dl.c.event_type, func.count())
                    .where(dl.c.replayed_at.is_(None))
                    .group_by(dl.c.consumer, dl.c.event_type)
                )
            ).all()
        for consumer, event_type, count in rows:
            print(f"{consumer}\t{event_type}\t{count}")
        if not rows:
            print("no dead letters")
        return 0
    finally:
        await rt.db.dispose()

"""The same command line for every service, read from its declaration:
``python -m syllabus_<name> <command>``.

- ``migrate``: run this service's migrations (a separate step, never at app start).
- ``serve [--host H] [--port P]``: run the HTTP app (with relay and consumers unless
  ``RUN_RELAY``/``RUN_CONSUMERS`` are false). One process per replica: scale by running
  more of them (they share durable consumers).
- ``consume [--host H] [--port P]``: the relay, the consumers and the declaration's
  ``background`` parts without the API (only ``/healthz``, ``/readyz``, ``/metrics`` on
  ``P``, default 8001), beside API processes run with ``RUN_RELAY=false
  RUN_CONSUMERS=false``; scaled on its own. SIGTERM stops it gracefully (the batch in
  hand is finished, never half-applied).
- ``dead-letters [--replay]``: list this service's dead-lettered events, or replay them.
- ``replay``: (services that keep a projection) drop it and replay its streams.
- plus the service's own ``commands`` (identity: ``rotate-keys``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select

from syllabus_shared.messaging.replay import Projection, ReplayProgress, replay
from syllabus_shared.runtime import Runtime
from syllabus_shared.settings import ServiceSettings

if TYPE_CHECKING:
    from syllabus_shared.declaration import ServiceDeclaration

S = TypeVar("S", bound=ServiceSettings)


def run_cli(service: ServiceDeclaration[S], argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m syllabus_{service.name}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations")
    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    consume = sub.add_parser(
        "consume", help="run the outbox relay and the event consumers (no API)"
    )
    consume.add_argument("--host", default="127.0.0.1")
    consume.add_argument("--port", type=int, default=8001, help="/healthz, /readyz, /metrics")
    dead = sub.add_parser("dead-letters", help="list or replay dead-lettered events")
    dead.add_argument("--replay", action="store_true")
    if service.projection is not None:
        sub.add_parser("replay", help="drop the projection and replay the streams it is built from")
    for name, command in service.commands.items():
        sub.add_parser(name, help=(command.__doc__ or "").strip().split("\n")[0])
    args = parser.parse_args(argv)

    settings = service.settings()
    if args.command in service.commands:
        return service.commands[args.command](settings)
    if args.command == "migrate":
        from syllabus_shared.migrations import upgrade

        upgrade(service.migrations, settings.database_url)
        print(f"{service.name}: migrations applied")
        return 0
    if args.command in ("serve", "consume"):
        app = service.create_app(settings, api=args.command == "serve")
        server = _Server(
            uvicorn.Config(
                app,
                host=args.host,
                port=args.port,
                access_log=False,
                log_config=None,
                timeout_graceful_shutdown=10,
            ),
            app,
        )
        server.run()
        if server.fatal is not None:
            print(f"{service.name}: refusing to run: {server.fatal}", file=sys.stderr)
            return 1
        return 0
    rt = service.runtime(settings)
    if args.command == "dead-letters":
        return asyncio.run(_dead_letters(rt, args.replay))
    if args.command == "replay" and service.projection is not None:
        return asyncio.run(_replay(rt, service.projection))
    return 2


class _Server(uvicorn.Server):
    """uvicorn, stopped (gracefully) when the runtime finds it must not run (``fatal``)."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self.app = app
        self.fatal: Exception | None = None

    async def on_tick(self, counter: int) -> bool:
        runtime: Runtime | None = getattr(self.app.state, "runtime", None)
        if runtime is not None and runtime.fatal is not None:
            self.fatal = runtime.fatal
            return True
        return await super().on_tick(counter)


async def _replay(rt: Runtime, projection: Projection) -> int:
    name = rt.settings.service_name
    rt.nats.start()
    try:
        with ReplayProgress(f"{name}: replaying") as progress:
            counts = await replay(rt, projection, progress)
    finally:
        await rt.nats.close()
        await rt.db.dispose()
    summary = " ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "no events"
    print(f"{name}: projection rebuilt ({summary})")
    return 0


async def _dead_letters(rt: Runtime, replay_them: bool) -> int:
    dl = rt.tables.dead_letters
    try:
        if replay_them:
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

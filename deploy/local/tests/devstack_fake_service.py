"""A stand-in service for the runner test, run as ``python -m devstack_fake_service``.

``migrate`` records the service name in a table of the database it was given; ``serve``
answers every ``/api/v1/...`` request with what it sees (its database, its environment,
its port), so the test can check the runner wired everything right; ``consume`` (the
relay and consumers' process) answers ``/readyz`` and ``/whoami`` only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import psycopg
import uvicorn
from fastapi import FastAPI, Request


def _dsn() -> str:
    return os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://", 1)


def migrate() -> None:
    with psycopg.connect(_dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS migrated (service text)")
        conn.execute("INSERT INTO migrated VALUES (%s)", (os.environ["SERVICE_NAME"],))


def create_app(port: int) -> FastAPI:
    app = FastAPI(title=os.environ["SERVICE_NAME"])

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/api/v1/{rest:path}")
    async def whoami(rest: str, request: Request) -> dict[str, object]:
        with psycopg.connect(_dsn()) as conn:
            database = conn.execute("SELECT current_database()").fetchone()
            migrated = conn.execute("SELECT service FROM migrated").fetchall()
        return {
            "service": os.environ["SERVICE_NAME"],
            "port": port,
            "database": database[0] if database else None,
            "migrated": [row[0] for row in migrated],
            "env": {
                key: os.environ.get(key)
                for key in (
                    "SERVICE_ENV",
                    "NATS_URL",
                    "AUTH_JWKS_URL",
                    "SYLLABUS_TEST_MARKER",
                    "UNRELATED_VARIABLE",
                    "IDENTITY_BOOTSTRAP_ADMIN_USERNAME",
                    "RUN_RELAY",
                    "RUN_CONSUMERS",
                )
            },
            "request_id": request.headers.get("x-request-id"),
        }

    return app


def create_consume_app() -> FastAPI:
    app = FastAPI(title=f"{os.environ['SERVICE_NAME']}-consume")

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/whoami")
    async def whoami() -> dict[str, object]:
        return {
            "service": os.environ["SERVICE_NAME"],
            "run_relay": os.environ.get("RUN_RELAY"),
            "run_consumers": os.environ.get("RUN_CONSUMERS"),
        }

    return app


def main() -> int:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate")
    serve = commands.add_parser("serve")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, required=True)
    consume = commands.add_parser("consume")
    consume.add_argument("--host", default="127.0.0.1")
    consume.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.command == "migrate":
        migrate()
    elif args.command == "consume":
        uvicorn.run(create_consume_app(), host=args.host, port=args.port, log_level="warning")
    else:
        # Lets a test interrupt the runner while it waits for this service.
        time.sleep(float(os.environ.get("SYLLABUS_FAKE_START_DELAY", "0")))
        uvicorn.run(create_app(args.port), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())

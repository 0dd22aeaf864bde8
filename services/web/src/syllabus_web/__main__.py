"""``python -m syllabus_web serve|migrate``.

- ``serve --host H --port P``: run the web app (``WEB_API_URL``, ``WEB_SESSION_SECRET``).
- ``migrate``: nothing to migrate (the web stores nothing); here so every service answers
  the same commands.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m syllabus_web``."""
    parser = argparse.ArgumentParser(prog="python -m syllabus_web")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "info"))
    commands.add_parser("migrate", help="no-op: the web has no database")
    args = parser.parse_args(argv)
    if args.command == "migrate":
        print("syllabus_web: nothing to migrate")
        return 0

    import uvicorn

    from syllabus_web.main import create_app

    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        log_level=args.log_level.lower(),
        # Caddy logs every request already (access log), as for every service.
        access_log=False,
        timeout_graceful_shutdown=5,
        # Caddy in front sets X-Forwarded-Proto; trust it from loopback and the cluster.
        proxy_headers=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m syllabus_gateway serve|migrate|caddyfile``.

- ``serve --host H --port P``: run the sidecar (upstreams from ``GATEWAY_UPSTREAMS``).
- ``migrate``: nothing to migrate (the gateway stores nothing); here so every service
  answers the same commands.
- ``caddyfile --routes deploy/gateway/routes.toml [--upstreams JSON] ...``: print the
  Caddyfile, for images and manifests that run Caddy without the local runner.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from syllabus_gateway.caddyfile import load_routes, render_caddyfile


def _serve(host: str, port: int, log_level: str) -> None:
    import uvicorn

    from syllabus_gateway.main import create_app

    uvicorn.run(
        create_app(),
        host=host,
        port=port,
        log_level=log_level.lower(),
        timeout_graceful_shutdown=5,
    )


def _caddyfile(args: argparse.Namespace) -> str:
    upstreams = json.loads(args.upstreams)
    if not isinstance(upstreams, dict):
        raise SystemExit("--upstreams must be a JSON object")
    normalized = {k: [v] if isinstance(v, str) else list(v) for k, v in upstreams.items()}
    return render_caddyfile(
        load_routes(Path(args.routes)),
        normalized,
        listen_host=args.listen_host,
        listen_port=args.port,
        log_file=Path(args.log_file) if args.log_file else None,
        admin=args.admin,
        tracing=args.tracing,
        trusted_proxies=args.trusted_proxies.split(),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m syllabus_gateway``."""
    parser = argparse.ArgumentParser(prog="python -m syllabus_gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gateway sidecar")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--log-level", default="info")
    commands.add_parser("migrate", help="no-op: the gateway has no database")
    caddy = commands.add_parser("caddyfile", help="print the Caddyfile rendered from routes.toml")
    caddy.add_argument("--routes", required=True, help="path of routes.toml")
    caddy.add_argument("--upstreams", default="{}", help='JSON: {"catalog": "host:port", ...}')
    caddy.add_argument("--listen-host", default="127.0.0.1")
    caddy.add_argument("--port", type=int, default=8000)
    caddy.add_argument("--log-file", default=None)
    caddy.add_argument("--admin", default=None, help="admin API address (default: off)")
    caddy.add_argument(
        "--trusted-proxies",
        default="",
        help="space-separated CIDRs whose X-Forwarded-For is kept (the web app's addresses)",
    )
    caddy.add_argument(
        "--tracing",
        action="store_true",
        help="a gateway span per request (OpenTelemetry; OTEL_EXPORTER_OTLP_* configure it)",
    )
    args = parser.parse_args(argv)

    if args.command == "serve":
        _serve(args.host, args.port, args.log_level)
    elif args.command == "migrate":
        print("syllabus_gateway: nothing to migrate")
    else:
        sys.stdout.write(_caddyfile(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

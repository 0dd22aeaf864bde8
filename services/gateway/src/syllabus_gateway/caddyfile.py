"""Render the gateway's Caddyfile from the routing table (``deploy/gateway/routes.toml``).

One renderer for every environment: ``make run`` passes loopback upstreams, compose and
Kubernetes pass service DNS names. What the rendered Caddy does, in order:

1. rejects paths with ``.``/``..`` segments (400) and bodies over the limit (413);
2. keeps the client's ``X-Request-ID`` (when it is a sane token) or generates a UUID,
   forwards it upstream and returns it on every response, errors included;
3. routes by path, first match in table order; ``traceparent`` and every other request
   header pass through untouched;
4. turns its own failures (no route, upstream down, timeout, service not in this stack)
   into RFC 9457 ``application/problem+json`` documents.

With ``tracing=True`` Caddy also opens a ``gateway`` span per request (its ``tracing``
directive: OpenTelemetry, exported as the standard ``OTEL_EXPORTER_OTLP_*`` variables
say) and forwards its own ``traceparent``, so the services' spans are its children.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

PROBLEM_BASE = "https://syllabus.dev/problems/"
BUILTINS = ("health", "metrics")
# A client's request ID is echoed only when it is a plain token; anything else (empty,
# huge, with spaces or quotes that could forge log lines) is replaced by a fresh UUID.
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:+/=-]{1,128}$"
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass(frozen=True)
class Route:
    """One entry of the routing table: a path pattern and who answers it."""

    path: str
    service: str | None = None
    builtin: Literal["health", "metrics"] | None = None
    # A long-lived response (server-sent events): its service's proxy flushes every write
    # at once (``flush_interval -1``) and holds the stream through a config reload.
    streaming: bool = False
    # Compress what it answers (zstd or gzip, as the client accepts): the web's pages and
    # assets. Never on a streaming route (an event stream must not wait in a compressor).
    compress: bool = False

    def __post_init__(self) -> None:
        if (self.service is None) == (self.builtin is None):
            raise ValueError(f"route {self.path!r} needs exactly one of service or builtin")
        if self.service is not None and not _NAME.match(self.service):
            raise ValueError(f"route {self.path!r}: bad service name {self.service!r}")
        if self.builtin is not None and self.builtin not in BUILTINS:
            raise ValueError(f"route {self.path!r}: unknown builtin {self.builtin!r}")
        _pattern_regex(self.path)  # validates the pattern
        if self.compress and self.streaming:
            raise ValueError(f"route {self.path!r}: a streaming route is never compressed")

    @property
    def is_prefix_only(self) -> bool:
        """Whether Caddy's fast ``path`` matcher has our semantics for this pattern.

        Caddy's ``path`` matcher does a prefix match only when the single ``*`` is last;
        with a ``*`` in the middle it falls back to a glob where ``*`` never crosses ``/``
        (so ``/a/*/b*`` would miss ``/a/x/b/c``). Those patterns become ``path_regexp``.
        """
        return "*" not in self.path.rstrip("*") and self.path.count("*") <= 1

    def matches(self, path: str) -> bool:
        """Whether a request path matches this route (the semantics Caddy is given)."""
        return _pattern_regex(self.path).match(path) is not None


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    if not pattern.startswith("/"):
        raise ValueError(f"route path must start with '/': {pattern!r}")
    trailing = pattern.endswith("*")
    body = pattern[:-1] if trailing else pattern
    parts = []
    for segment in body.split("/"):
        if segment == "*":
            parts.append("[^/]+")
        elif "*" in segment:
            raise ValueError(f"'*' must be a whole middle segment or trailing: {pattern!r}")
        else:
            parts.append(re.escape(segment))
    # Case-insensitive like Caddy's path matcher, so both kinds of route agree.
    return re.compile("(?i)^" + "/".join(parts) + (".*" if trailing else "") + "$")


def load_routes(path: Path) -> list[Route]:
    """Read the ordered ``[[route]]`` entries of a routes.toml file."""
    data = tomllib.loads(Path(path).read_text())
    routes = [Route(**entry) for entry in data.get("route", [])]
    if not routes:
        raise ValueError(f"no [[route]] entries in {path}")
    return routes


def match_route(routes: Sequence[Route], path: str) -> Route | None:
    """The first route matching ``path``, as the rendered Caddy chooses it."""
    return next((route for route in routes if route.matches(path)), None)


def normalize_upstream(address: str) -> str:
    """``http://host:port`` or ``host:port`` → ``host:port`` (what reverse_proxy dials)."""
    address = address.strip().removeprefix("http://").rstrip("/")
    if not address or "/" in address or address.startswith("https://"):
        raise ValueError(f"upstream must be http://host:port or host:port, got {address!r}")
    return address


def _problem_json(kind: str, title: str, status: int | str, detail: str) -> str:
    # Braces are escaped (\{ \}) so Caddy's placeholder replacer leaves them alone while
    # still replacing real placeholders inside; backticks make it one Caddyfile token.
    return (
        f'`\\{{"type":"{PROBLEM_BASE}{kind}","title":"{title}",'
        f'"status":{status},"detail":"{detail}"\\}}`'
    )


def _duration(seconds: float) -> str:
    return f"{int(seconds * 1000)}ms"


def render_caddyfile(
    routes: Sequence[Route],
    upstreams: Mapping[str, Sequence[str]],
    *,
    listen_host: str = "127.0.0.1",
    listen_port: int = 8000,
    log_file: Path | None = None,
    admin: str | None = None,
    max_body_bytes: int = 1_048_576,
    dial_timeout: float = 2.0,
    response_header_timeout: float = 60.0,
    retry_after_seconds: int = 5,
    tracing: bool = False,
    trusted_proxies: Sequence[str] = (),
) -> str:
    """Render a Caddyfile that serves ``routes`` on ``listen_host:listen_port``.

    ``upstreams`` maps a service name to its instances (``host:port`` or ``http://…``);
    several instances are load-balanced round-robin with passive health checks. Routes
    naming a service absent from ``upstreams`` answer 503. ``admin`` is the admin API's
    address (keep it on loopback) or ``None`` to turn the admin API off. ``log_file``
    receives Caddy's JSON logs (runtime and access); ``None`` logs to stderr. ``tracing``
    turns on Caddy's OpenTelemetry span per request (see the module docstring).
    ``trusted_proxies`` (CIDRs) are clients whose ``X-Forwarded-For`` Caddy keeps and
    appends to instead of replacing: the web app, which signs people in on their behalf,
    so identity counts failed sign-ins against each person's address, not the web's.
    """
    for name in upstreams:
        if not _NAME.match(name):
            raise ValueError(f"bad service name {name!r}")
    proxied = {
        name: [normalize_upstream(a) for a in addresses]
        for name, addresses in upstreams.items()
        if addresses
    }
    out: list[str] = ["# Generated by syllabus_gateway.caddyfile from routes.toml: do not edit."]
    out += _global_options(admin, log_file, trusted_proxies)
    streaming = {route.service for route in routes if route.streaming}
    for name, addresses in sorted(proxied.items()):
        out += _proxy_snippet(
            name, addresses, dial_timeout, response_header_timeout, name in streaming
        )
    out += _site(
        routes,
        proxied,
        listen_host=listen_host,
        listen_port=listen_port,
        log_file=log_file,
        max_body_bytes=max_body_bytes,
        retry_after_seconds=retry_after_seconds,
        tracing=tracing,
    )
    return "\n".join(out) + "\n"


def _log_block(log_file: Path | None, indent: str) -> list[str]:
    lines = [f"{indent}log {{"]
    if log_file is not None:
        lines.append(f'{indent}\toutput file "{log_file}"')
    lines += [f"{indent}\tformat json", f"{indent}}}"]
    return lines


def _global_options(
    admin: str | None, log_file: Path | None, trusted_proxies: Sequence[str] = ()
) -> list[str]:
    for cidr in trusted_proxies:
        ipaddress.ip_network(cidr, strict=False)  # refuse anything but an address or CIDR
    return [
        "{",
        f"\tadmin {admin}" if admin else "\tadmin off",
        "\tauto_https off",
        "\tpersist_config off",
        # Per-request HTTP metrics for /metrics (Prometheus text format).
        "\tmetrics",
        # Bounded graceful shutdown: never wait forever on a slow client.
        "\tgrace_period 5s",
        *_log_block(log_file, "\t"),
        "\tservers {",
        "\t\ttimeouts {",
        "\t\t\tread_header 10s",
        "\t\t\tidle 2m",
        "\t\t}",
        *([f"\t\ttrusted_proxies static {' '.join(trusted_proxies)}"] if trusted_proxies else []),
        "\t}",
        "}",
        "",
    ]


def _proxy_snippet(
    name: str,
    addresses: Sequence[str],
    dial_timeout: float,
    header_timeout: float,
    streaming: bool = False,
) -> list[str]:
    lines = [f"(proxy_{name}) {{", f"\treverse_proxy {' '.join(addresses)} {{"]
    if streaming:
        # Event streams: every event reaches the client as it is written, and a config
        # reload does not cut open streams at once (clients reconnect within the delay).
        lines += ["\t\tflush_interval -1", "\t\tstream_close_delay 5m"]
    if len(addresses) > 1:
        # Replicas: spread load, retry a dial failure on the next one, and skip a replica
        # that just failed for a while. (Caddy retries only idempotent requests, or any
        # request that never reached an upstream.)
        lines += [
            "\t\tlb_policy round_robin",
            f"\t\tlb_retries {len(addresses) - 1}",
            "\t\tfail_duration 5s",
        ]
    lines += [
        "\t\ttransport http {",
        f"\t\t\tdial_timeout {_duration(dial_timeout)}",
        f"\t\t\tresponse_header_timeout {_duration(header_timeout)}",
        "\t\t}",
        "\t}",
        "}",
        "",
    ]
    return lines


def _site(
    routes: Sequence[Route],
    proxied: Mapping[str, Sequence[str]],
    *,
    listen_host: str,
    listen_port: int,
    log_file: Path | None,
    max_body_bytes: int,
    retry_after_seconds: int,
    tracing: bool = False,
) -> list[str]:
    lines = [f"http://:{listen_port} {{", f"\tbind {listen_host}"]
    lines += _log_block(log_file, "\t")
    lines += [
        "",
        # Caddy matches routes on the cleaned path but forwards the raw one, so a path
        # with dot segments could be routed to one service and mean another path there.
        r"	@dot_segments expression `{http.request.uri.path}.matches(r'(^|/)\.\.?(/|$)')`",
        f"\t@request_id_missing not header_regexp X-Request-ID {REQUEST_ID_PATTERN}",
        # A declared length over the limit is refused before anything reaches an upstream
        # (an upstream could answer without reading the body); request_body catches the rest.
        "\t@body_too_large expression `{http.request.header.Content-Length} != '' && "
        f"int({{http.request.header.Content-Length}}) > {max_body_bytes}`",
    ]
    for index, route in enumerate(routes):
        if route.is_prefix_only:
            lines.append(f"\t@route{index} path {route.path}")
        else:
            regex = _pattern_regex(route.path).pattern
            lines.append(f"\t@route{index} path_regexp route{index} {regex}")
    lines += [
        "",
        "\troute {",
        *(["\t\ttracing {", "\t\t\tspan gateway", "\t\t}"] if tracing else []),
        "\t\trequest_header @request_id_missing X-Request-ID {http.request.uuid}",
        "\t\theader {",
        # Deferred, so it overwrites whatever an upstream echoed (no duplicate header).
        "\t\t\tX-Request-ID {http.request.header.X-Request-ID}",
        "\t\t\t-Server",
        "\t\t\tdefer",
        "\t\t}",
        "\t\terror @dot_segments 400",
        "\t\terror @body_too_large 413",
        "\t\trequest_body {",
        f"\t\t\tmax_size {max_body_bytes}",
        "\t\t}",
    ]
    for index, route in enumerate(routes):
        lines.append(f"\t\thandle @route{index} {{")
        lines += [f"\t\t\t{line}" for line in _route_body(route, proxied, retry_after_seconds)]
        lines.append("\t\t}")
    lines += ["\t\thandle {", "\t\t\terror 404", "\t\t}", "\t}", ""]
    lines += _error_handler(max_body_bytes, retry_after_seconds)
    lines.append("}")
    return lines


def _route_body(
    route: Route, proxied: Mapping[str, Sequence[str]], retry_after_seconds: int
) -> list[str]:
    if route.builtin == "health":
        return [
            "header Content-Type application/json",
            r'respond `\{"status":"ok"\}` 200',
        ]
    if route.builtin == "metrics":
        return ["metrics"]
    assert route.service is not None
    if route.service in proxied:
        encode = ["encode zstd gzip"] if route.compress else []
        return [*encode, f"vars service {route.service}", f"import proxy_{route.service}"]
    detail = f"The {route.service} service is not running in this stack."
    return [
        "header Content-Type application/problem+json",
        f"header Retry-After {retry_after_seconds}",
        f"respond {_problem_json('service-unavailable', 'Service Unavailable', 503, detail)} 503",
    ]


def _error_handler(max_body_bytes: int, retry_after_seconds: int) -> list[str]:
    # Details never include Caddy's own error text (dial addresses, internal errors).
    problems = {
        400: ("bad-request", "The request path contains '.' or '..' segments."),
        404: ("not-found", "No route matches this path."),
        413: ("request-entity-too-large", f"The request body exceeds {max_body_bytes} bytes."),
        502: ("bad-gateway", "The {vars.service} service failed to answer."),
        503: ("service-unavailable", "The {vars.service} service is unavailable."),
        504: ("gateway-timeout", "The {vars.service} service did not answer in time."),
    }
    lines = [
        "\thandle_errors {",
        "\t\theader Content-Type application/problem+json",
        "\t\theader X-Request-ID {http.request.header.X-Request-ID}",
        "\t\theader -Server",
        "\t\t@unavailable expression {err.status_code} == 503",
        f"\t\theader @unavailable Retry-After {retry_after_seconds}",
        "\t\tmap {err.status_code} {problem_kind} {problem_detail} {",
    ]
    for status, (kind, detail) in problems.items():
        lines.append(f'\t\t\t{status} {kind} "{detail}"')
    lines += [
        '\t\t\tdefault error "The gateway could not handle this request."',
        "\t\t}",
        "\t\trespond "
        + _problem_json(
            "{problem_kind}", "{err.status_text}", "{err.status_code}", "{problem_detail}"
        )
        + " {err.status_code}",
        "\t}",
    ]
    return lines

"""The public HTTP API as the code defines it: each service's OpenAPI document, the
gateway's routing table, and the merged document the gateway serves.

``python contracts/tests/public_api.py [--check]`` (``make openapi``) writes (or checks)
``contracts/openapi.json``, merged by the gateway sidecar's own ``merge_openapi`` from
every service's ``app.openapi()``; building an app needs no database.
"""

from __future__ import annotations

import difflib
import importlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syllabus_gateway.caddyfile import Route, load_routes, match_route
from syllabus_gateway.openapi import HTTP_METHODS, merge_openapi
from syllabus_gateway.settings import GatewaySettings

ROOT = Path(__file__).resolve().parents[2]
ROUTES_TOML = ROOT / "deploy" / "gateway" / "routes.toml"
PUBLIC_ROUTES = ROOT / "contracts" / "http" / "public-routes.txt"
NOT_YET_SERVED = ROOT / "contracts" / "http" / "not-yet-served.txt"
OPENAPI_JSON = ROOT / "contracts" / "openapi.json"
SERVICES = ("identity", "catalog", "content", "progress", "assessment", "live")
_PARAM = re.compile(r"\{([^}/]+)\}")
# noun_verb in snake_case (``courses_list``, ``course_modules_attach``): no double
# underscore, so none of FastAPI's defaults (``list_courses_api_v1_courses_get``,
# ``jwks__well_known_jwks_json_get``) passes, nor does anything with the path in it.
OPERATION_ID = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


@dataclass(frozen=True)
class PublicRoute:
    """One line of public-routes.txt."""

    method: str
    path: str  # a template: /api/v1/courses/{course_id}
    query: tuple[str, ...]

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)

    def example_path(self) -> str:
        """A concrete request path (every parameter a UUID-shaped value)."""
        return _PARAM.sub("0190a8c4-1b2c-7d3e-8f40-123456789abc", self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _route_lines(path: Path) -> list[list[str]]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line.split() for line in lines if line and not line.startswith("#")]


def _route(method: str, target: str) -> PublicRoute:
    path_part, _, query = target.partition("?")
    return PublicRoute(method.upper(), path_part, tuple(q for q in query.split("&") if q))


def load_public_routes(path: Path = PUBLIC_ROUTES) -> list[PublicRoute]:
    return [_route(method, target) for method, target, *_ in _route_lines(path)]


def load_not_yet_served(path: Path = NOT_YET_SERVED) -> dict[PublicRoute, str]:
    """not-yet-served.txt: API.md routes no service serves yet → the issue that will."""
    routes = {}
    for fields in _route_lines(path):
        if len(fields) != 3:
            raise ValueError(f"{path.name}: want 'METHOD path issue', got {' '.join(fields)!r}")
        method, target, issue = fields
        routes[_route(method, target)] = issue
    return routes


def routing_table() -> list[Route]:
    return load_routes(ROUTES_TOML)


def routed_to(routes: list[Route], path: str) -> str | None:
    """Who answers ``path`` at the gateway: a service name, "builtin:<x>", or None."""
    route = match_route(routes, path)
    if route is None:
        return None
    return route.service if route.service else f"builtin:{route.builtin}"


def service_openapi(name: str) -> dict[str, Any]:
    """``name``'s OpenAPI document, from its app factory (no database, no network)."""
    main = importlib.import_module(f"syllabus_{name}.main")
    settings = importlib.import_module(f"syllabus_{name}.settings").Settings(service_env="test")
    document: dict[str, Any] = main.create_app(settings).openapi()
    return document


def service_documents() -> dict[str, dict[str, Any]]:
    return {name: service_openapi(name) for name in SERVICES}


def merged_openapi(documents: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The document the gateway serves at /openapi.json, with its default settings."""
    settings = GatewaySettings(upstreams={})
    return merge_openapi(
        documents if documents is not None else service_documents(),
        title=settings.api_title,
        version=settings.api_version,
    )


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _operations(document: dict[str, Any]) -> dict[str, Any]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def operation_id_problems(document: dict[str, Any]) -> list[str]:
    """Why ``document``'s operation ids would not name its operations well: each must be
    set explicitly (``operation_id=`` on the route), snake_case noun_verb, without the
    path in it (FastAPI's default), and unique in the whole document (the generated
    client's function names, the docs' anchors)."""
    problems = []
    seen: dict[str, str] = {}
    for key, operation in _operations(document).items():
        operation_id = operation.get("operationId")
        if not isinstance(operation_id, str):
            problems.append(f"{key}: no operationId")
            continue
        if not OPERATION_ID.match(operation_id) or "api_v1" in operation_id:
            problems.append(
                f"{key}: operationId {operation_id!r} is not a snake_case noun_verb"
                " (FastAPI's default? set operation_id= on the route)"
            )
        if operation_id in seen:
            problems.append(f"{key}: operationId {operation_id!r} is {seen[operation_id]}'s too")
        seen.setdefault(operation_id, key)
    return problems


def _schemas(document: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    return schemas


def api_changes(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """What changed from ``found`` (checked in) to ``expected`` (the code), per operation
    and per component schema."""
    out = []
    for label, pick in (("operation", _operations), ("schema", _schemas)):
        new, old = pick(expected), pick(found)
        out += [f"removed {label} {k}" for k in sorted(old.keys() - new.keys())]
        out += [f"added {label} {k}" for k in sorted(new.keys() - old.keys())]
        out += [f"changed {label} {k}" for k in sorted(new.keys() & old.keys()) if new[k] != old[k]]
    if not out and expected != found:
        out.append("changed document metadata")
    return out


def openapi_diff(expected: str, found: str, limit: int = 60) -> str:
    """What changed (operations, schemas), then a unified diff cut to ``limit`` lines."""
    try:
        found_doc = json.loads(found) if found else {}
    except ValueError:
        found_doc = {}
    changes = api_changes(json.loads(expected), found_doc)
    lines = list(
        difflib.unified_diff(
            found.splitlines(),
            expected.splitlines(),
            "contracts/openapi.json (checked in)",
            "contracts/openapi.json (from the code)",
            lineterm="",
            n=2,
        )
    )
    shown = "\n".join(lines[:limit])
    more = f"\n... {len(lines) - limit} more diff lines" if len(lines) > limit else ""
    return (
        "the public API changed; if intended, run `make openapi` and commit"
        " contracts/openapi.json:\n  " + "\n  ".join(changes) + f"\n{shown}{more}"
    )


def main(argv: list[str]) -> int:
    text = render(merged_openapi())
    if "--check" in argv:
        found = OPENAPI_JSON.read_text() if OPENAPI_JSON.exists() else ""
        if found != text:
            print(openapi_diff(text, found), file=sys.stderr)
            return 1
        return 0
    OPENAPI_JSON.write_text(text)
    print(f"wrote {OPENAPI_JSON.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""HTTP contracts: the gateway's routing table against every service's OpenAPI document,
and the checked-in merged OpenAPI document against the code."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from public_api import (
    NOT_YET_SERVED,
    OPENAPI_JSON,
    PUBLIC_ROUTES,
    SERVICES,
    PublicRoute,
    load_not_yet_served,
    load_public_routes,
    merged_openapi,
    openapi_diff,
    operation_id_problems,
    render,
    routed_to,
    routing_table,
    service_documents,
)
from syllabus_gateway.main import create_app as create_sidecar
from syllabus_gateway.openapi import HTTP_METHODS, is_public_path
from syllabus_gateway.settings import GatewaySettings

ROUTES = routing_table()
PUBLIC = load_public_routes()
NOT_YET = load_not_yet_served()  # API.md routes whose issues have not landed yet
API_ROUTES = [r for r in PUBLIC if is_public_path(r.path)]
OPERATIONS = [r for r in PUBLIC if not is_public_path(r.path)]


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    return service_documents()


def _operations(
    documents: dict[str, dict[str, Any]], method: str, path: str
) -> dict[str, dict[str, Any]]:
    """Service → its operation for ``method path`` (an exact template match)."""
    return {
        name: doc["paths"][path][method.lower()]
        for name, doc in documents.items()
        if method.lower() in doc["paths"].get(path, {})
    }


def _params(operation: dict[str, Any], where: str) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == where}


def route_problems(route: PublicRoute, documents: dict[str, dict[str, Any]]) -> list[str]:
    """Why ``route`` would not reach a real operation with its method and parameters."""
    target = routed_to(ROUTES, route.example_path())
    defined = _operations(documents, route.method, route.path)
    if target is None:
        return [f"{route}: routes.toml has no route for it"]
    if not defined:
        return [f"{route}: routed to {target}, but no service defines it"]
    if len(defined) > 1:
        return [f"{route}: defined by several services: {sorted(defined)}"]
    [(owner, operation)] = defined.items()
    if target != owner:
        return [f"{route}: routes.toml sends it to {target}, but {owner} serves it"]
    problems = []
    if _params(operation, "path") != set(route.path_params):
        problems.append(
            f"{route}: {owner} has path parameters {sorted(_params(operation, 'path'))}"
        )
    missing = sorted(set(route.query) - _params(operation, "query"))
    if missing:
        problems.append(f"{route}: {owner} lacks query parameters {missing}")
    return problems


@pytest.mark.parametrize("route", API_ROUTES, ids=str)
def test_public_route_reaches_the_service_that_serves_it(
    route: PublicRoute, documents: dict[str, dict[str, Any]]
) -> None:
    problems = route_problems(route, documents)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("route", OPERATIONS, ids=str)
def test_operations_route_reaches_caddy_or_the_sidecar(route: PublicRoute) -> None:
    target = routed_to(ROUTES, route.path)
    assert target is not None, f"{route}: routes.toml has no route for it"
    if target.startswith("builtin:"):
        return
    assert target == "gateway", f"{route}: routed to {target}"
    sidecar = create_sidecar(GatewaySettings(upstreams={}))
    served = {
        (method, getattr(r, "path", ""))
        for r in sidecar.routes
        for method in getattr(r, "methods", set())
    }
    assert (route.method, route.path) in served, f"{route}: the gateway sidecar has no such route"


def test_every_public_operation_of_every_service_is_reachable(
    documents: dict[str, dict[str, Any]],
) -> None:
    """The other direction: no public route of a service is shadowed or unrouted."""
    problems = []
    for document in documents.values():
        for path, item in document["paths"].items():
            if not is_public_path(path):
                continue
            for method in sorted(m for m in item if m in HTTP_METHODS):
                route = PublicRoute(method.upper(), path, ())
                problems += route_problems(route, documents)
    assert not problems, "\n".join(problems)


API_MD_ROUTE = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`?\s]*)(?:\?([^`\s]*))?`")
UNPREFIXED = {"/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/.well-known/jwks.json"}


def test_public_routes_file_mirrors_api_md() -> None:
    """public-routes.txt is the checked-in copy CI relies on; when ../shared/API.md is
    beside the clone (as in CI), API.md's routes must be exactly public-routes.txt's plus
    not-yet-served.txt's (routes API.md describes for issues that have not landed)."""
    api_md = PUBLIC_ROUTES.parents[3] / "shared" / "API.md"
    if not api_md.exists():
        pytest.skip("../shared/API.md is not beside this clone")
    documented: dict[tuple[str, str], set[str]] = {}
    for method, path, query in API_MD_ROUTE.findall(api_md.read_text()):
        full = path if path in UNPREFIXED else f"/api/v1{path}"
        names = {part.split("=")[0] for part in query.split("&") if part}
        documented.setdefault((method, full), set()).update(names)
    ours = {(r.method, r.path): set(r.query) for r in PUBLIC}
    pending = {(r.method, r.path): set(r.query) for r in NOT_YET}
    assert sorted(ours.keys() & pending.keys()) == [], (
        f"served now: remove from {NOT_YET_SERVED.name}"
    )
    assert sorted(documented.keys() - ours.keys() - pending.keys()) == [], (
        f"in API.md, neither in public-routes.txt nor in {NOT_YET_SERVED.name}"
    )
    assert sorted(ours.keys() - documented.keys()) == [], "in public-routes.txt, not in API.md"
    assert sorted(pending.keys() - documented.keys()) == [], (
        f"in {NOT_YET_SERVED.name}, not in API.md"
    )
    listed = {**pending, **ours}
    for key, names in documented.items():
        assert names <= listed[key], f"{key}: API.md names query parameters {sorted(names)}"


def test_not_yet_served_routes_are_not_served(documents: dict[str, dict[str, Any]]) -> None:
    """A route listed as not served yet that a service's OpenAPI document defines means
    its issue has landed: the line moves to public-routes.txt, so the list empties as the
    issues land. (Routing is no evidence: prefix routes already reach their service.)"""
    served = [
        f"{route} ({issue}): served by {', '.join(sorted(owners))}"
        for route, issue in NOT_YET.items()
        if (owners := _operations(documents, route.method, route.path))
    ]
    assert not served, (
        f"served now: move these from {NOT_YET_SERVED.name} to public-routes.txt:\n  "
        + "\n  ".join(served)
    )


def test_routing_is_tested_against_the_whole_table() -> None:
    # web serves pages, not API operations: it is routed (every other path) but has no
    # OpenAPI document of the API to check routes against.
    routed = {s for r in ROUTES if r.service for s in [r.service]}
    assert routed == {*SERVICES, "gateway", "web"}
    assert len(API_ROUTES) >= 30


# ---------------------------------------------------------------- merged OpenAPI document


def test_checked_in_openapi_is_the_merge_of_the_services(
    documents: dict[str, dict[str, Any]],
) -> None:
    expected = render(merged_openapi(documents))
    found = OPENAPI_JSON.read_text() if OPENAPI_JSON.exists() else ""
    assert found == expected, openapi_diff(expected, found)


def test_merged_openapi_has_every_public_route_once(
    documents: dict[str, dict[str, Any]],
) -> None:
    merged = merged_openapi(documents)
    assert "x-syllabus-conflicts" not in merged
    for route in API_ROUTES:
        assert route.method.lower() in merged["paths"][route.path], route


def test_an_api_change_shows_as_a_diff(documents: dict[str, dict[str, Any]]) -> None:
    changed = json.loads(json.dumps(documents))
    del changed["catalog"]["paths"]["/api/v1/modules/{module_id}/courses"]
    changed["progress"]["paths"]["/api/v1/me/enrollments"]["get"]["parameters"].pop()
    message = openapi_diff(render(merged_openapi(changed)), OPENAPI_JSON.read_text())
    summary = message.split("\n---")[0].splitlines()
    assert summary[0].startswith("the public API changed; if intended, run `make openapi`")
    assert "  removed operation GET /api/v1/modules/{module_id}/courses" in summary
    assert "  changed operation GET /api/v1/me/enrollments" in summary
    assert "\n--- contracts/openapi.json (checked in)" in message


def test_every_operation_has_a_readable_unique_operation_id(
    documents: dict[str, dict[str, Any]],
) -> None:
    """Operation ids name the generated client's functions (``courses_list``): each set
    by hand on its route, snake_case noun_verb, unique across the merged document."""
    problems = operation_id_problems(merged_openapi(documents))
    assert not problems, "\n".join(problems)


def test_default_and_duplicate_operation_ids_are_refused() -> None:
    document = {
        "paths": {
            "/api/v1/courses": {
                "get": {"operationId": "list_courses_api_v1_courses_get"},
                "post": {"operationId": "courses_create"},
            },
            "/.well-known/jwks.json": {"get": {"operationId": "jwks__well_known_jwks_json_get"}},
            "/api/v1/modules": {"get": {}, "post": {"operationId": "courses_create"}},
            "/api/v1/posts": {"get": {"operationId": "Posts-List"}, "parameters": []},
        }
    }
    assert operation_id_problems(document) == [
        "GET /api/v1/courses: operationId 'list_courses_api_v1_courses_get' is not a snake_case"
        " noun_verb (FastAPI's default? set operation_id= on the route)",
        "GET /.well-known/jwks.json: operationId 'jwks__well_known_jwks_json_get' is not a"
        " snake_case noun_verb (FastAPI's default? set operation_id= on the route)",
        "GET /api/v1/modules: no operationId",
        "POST /api/v1/modules: operationId 'courses_create' is POST /api/v1/courses's too",
        "GET /api/v1/posts: operationId 'Posts-List' is not a snake_case noun_verb"
        " (FastAPI's default? set operation_id= on the route)",
    ]

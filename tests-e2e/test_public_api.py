"""The public API as a whole, live through the gateway: every route of API.md (the
checked-in copy, contracts/http/public-routes.txt) reaches a service that has it, and
the served OpenAPI document is the checked-in contracts/openapi.json."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from conftest import ROOT, Stack

ROUTES = [
    line.split("?")[0].split(" ", 1)
    for line in (ROOT / "contracts" / "http" / "public-routes.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[" ".join(r) for r in ROUTES])
def test_route_reaches_a_service_that_has_it(stack: Stack, method: str, path: str) -> None:
    concrete = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
    kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    with stack.client() as guest:
        r = guest.request(method, concrete, **kwargs)
    assert r.status_code < 500, (method, concrete, r.status_code, r.text)
    assert r.status_code != 405, f"{method} {path}: the service has the path, not the method"
    if r.status_code == 404:
        assert "No route matches" not in r.text, f"{method} {path}: the gateway has no route"


def test_served_openapi_is_the_checked_in_document(stack: Stack) -> None:
    with stack.client() as c:
        served = c.get("/openapi.json").json()
    checked_in = json.loads((ROOT / "contracts" / "openapi.json").read_text())
    assert "x-syllabus-unavailable" not in served
    assert served == checked_in, "run `make openapi` (see docs/contracts.md)"

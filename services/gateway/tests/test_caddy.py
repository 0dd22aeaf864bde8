"""The rendered Caddyfile, checked by ``caddy validate`` and by the real caddy binary."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gateway_test_support import RunningCaddy, ServedApp, make_service, run_caddy, served
from syllabus_devkit.embedded import binary_path, find_free_port
from syllabus_gateway.caddyfile import Route, load_routes, match_route, render_caddyfile
from syllabus_gateway.main import create_app
from syllabus_gateway.settings import GatewaySettings

ROUTES_FILE = Path(__file__).resolve().parents[3] / "deploy" / "gateway" / "routes.toml"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MIB = 1024 * 1024

# Every public path of API.md (and the operations routes), and who must answer it.
EXPECTED_OWNERS = {
    "/api/v1/me/stream": "live",
    "/api/v1/auth/register": "identity",
    "/api/v1/auth/token": "identity",
    "/api/v1/users/me": "identity",
    "/api/v1/users": "identity",
    "/api/v1/users/0190b5c8-0000-7000-8000-000000000001": "identity",
    "/.well-known/jwks.json": "identity",
    "/api/v1/courses": "catalog",
    "/api/v1/courses/c1": "catalog",
    "/api/v1/courses/c1/modules": "catalog",
    "/api/v1/courses/c1/modules/m1": "catalog",
    "/api/v1/modules": "catalog",
    "/api/v1/modules/m1": "catalog",
    "/api/v1/modules/m1/courses": "catalog",
    "/api/v1/modules/m1/posts": "content",
    "/api/v1/posts/p1": "content",
    "/api/v1/courses/c1/enrollments": "progress",
    "/api/v1/courses/c1/enrollments/me": "progress",
    "/api/v1/me/enrollments": "progress",
    "/api/v1/me/completions/p1": "progress",
    "/api/v1/me/courses/c1/progress": "progress",
    "/api/v1/courses/c1/progress": "progress",
    "/openapi.json": "gateway",
    "/docs": "gateway",
    "/docs/static/swagger-ui-bundle.js": "gateway",
    "/readyz": "gateway",
}


@pytest.fixture(scope="module")
def routes() -> list[Route]:
    return load_routes(ROUTES_FILE)


def _owner(route: Route | None) -> str | None:
    if route is None:
        return None
    return route.service or f"builtin:{route.builtin}"


def test_routing_table_sends_every_api_path_to_its_owner(routes: list[Route]) -> None:
    owners = {path: _owner(match_route(routes, path)) for path in EXPECTED_OWNERS}
    assert owners == EXPECTED_OWNERS
    assert _owner(match_route(routes, "/healthz")) == "builtin:health"
    assert _owner(match_route(routes, "/metrics")) == "builtin:metrics"
    # Every other path is the web app's (routes.toml's last route); the web answers an
    # unknown /api/ path with the API's 404 problem document, not a page.
    assert _owner(match_route(routes, "/")) == "web"
    assert _owner(match_route(routes, "/courses/x/posts/y")) == "web"
    assert _owner(match_route(routes, "/api/v2/courses")) == "web"


def test_route_patterns_are_validated() -> None:
    with pytest.raises(ValueError, match="whole middle segment"):
        Route(path="/api/v1/cour*es/x", service="catalog")
    with pytest.raises(ValueError, match="exactly one"):
        Route(path="/x")


@pytest.mark.parametrize(
    "running", [(), ("catalog", "progress", "content", "identity", "live", "web")]
)
def test_caddy_validates_the_rendered_caddyfile(
    routes: list[Route], tmp_path: Path, running: tuple[str, ...]
) -> None:
    upstreams = {name: ["127.0.0.1:9"] for name in running}
    upstreams["gateway"] = ["http://127.0.0.1:10", "127.0.0.1:11"]
    caddyfile = tmp_path / "Caddyfile"
    # With the web app running, its addresses are trusted proxies (X-Forwarded-For kept).
    trusted = ("127.0.0.1/32", "::1/128") if running else ()
    caddyfile.write_text(
        render_caddyfile(
            routes,
            upstreams,
            log_file=tmp_path / "caddy.log",
            admin=None,
            trusted_proxies=trusted,
        )
    )
    assert ("trusted_proxies static 127.0.0.1/32 ::1/128" in caddyfile.read_text()) == bool(running)
    result = subprocess.run(
        [binary_path("caddy"), "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        env={"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "PATH": ""},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr
    formatted = subprocess.run(
        [binary_path("caddy"), "fmt", str(caddyfile)], capture_output=True, text=True, check=True
    )
    assert formatted.stdout == caddyfile.read_text()  # rendered already in caddy's own style


@pytest.fixture(scope="module")
def sidecar(catalog: ServedApp, progress: ServedApp) -> Iterator[ServedApp]:
    settings = GatewaySettings(upstreams={"catalog": [catalog.url], "progress": [progress.url]})
    with served(create_app(settings)) as app:
        yield app


@pytest.fixture(scope="module")
def second_catalog() -> Iterator[ServedApp]:
    with served(make_service("catalog")) as app:
        yield app


@pytest.fixture(scope="module")
def caddy(
    routes: list[Route],
    catalog: ServedApp,
    second_catalog: ServedApp,
    progress: ServedApp,
    sidecar: ServedApp,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningCaddy]:
    workdir = tmp_path_factory.mktemp("caddy")
    # content "runs" on a port nothing listens on: its routes must turn into 502s.
    # identity does not run at all: its routes must answer 503.
    upstreams = {
        "catalog": [catalog.address, second_catalog.address],
        "progress": [progress.url],
        "content": [f"127.0.0.1:{find_free_port()}"],
        "gateway": [sidecar.address],
    }

    def render(port: int) -> str:
        return render_caddyfile(
            routes,
            upstreams,
            listen_port=port,
            log_file=workdir / "caddy.log",
            response_header_timeout=1.0,
        )

    with run_caddy(render, workdir) as running:
        yield running


def test_request_id_is_generated_forwarded_and_returned(caddy: RunningCaddy) -> None:
    response = httpx.get(f"{caddy.url}/api/v1/courses/c1")
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    assert UUID.match(request_id)
    assert response.headers.get_list("x-request-id") == [request_id]  # never duplicated
    assert response.json()["request_ids"] == [request_id]


def test_client_request_id_is_echoed_and_forwarded(caddy: RunningCaddy) -> None:
    response = httpx.get(f"{caddy.url}/api/v1/courses/c1", headers={"X-Request-ID": "client-42"})
    assert response.headers.get_list("x-request-id") == ["client-42"]
    assert response.json()["request_id"] == "client-42"


def test_unsafe_client_request_id_is_replaced(caddy: RunningCaddy) -> None:
    response = httpx.get(
        f"{caddy.url}/api/v1/courses/c1", headers={"X-Request-ID": 'x" injected=1'}
    )
    assert UUID.match(response.headers["x-request-id"])
    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_traceparent_passes_through(caddy: RunningCaddy) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = httpx.get(f"{caddy.url}/api/v1/me/enrollments", headers={"traceparent": traceparent})
    assert response.json()["traceparent"] == traceparent


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/courses/c1/enrollments", "progress"),
        ("/api/v1/courses/c1/enrollments/me", "progress"),
        ("/api/v1/courses/c1/progress", "progress"),
        ("/api/v1/me/courses/c1/progress", "progress"),
        ("/api/v1/courses/c1", "catalog"),
        ("/api/v1/courses", "catalog"),
        ("/api/v1/courses/c1/modules/m1", "catalog"),
        ("/api/v1/modules/m1", "catalog"),
    ],
)
def test_routes_take_precedence_in_table_order(
    caddy: RunningCaddy, path: str, service: str
) -> None:
    response = httpx.get(f"{caddy.url}{path}?limit=5")
    assert response.status_code == 200
    assert response.json()["service"] == service
    assert response.json()["path"] == path


def test_replicas_share_the_load(
    caddy: RunningCaddy, catalog: ServedApp, second_catalog: ServedApp
) -> None:
    ports = []
    for _ in range(4):
        response = httpx.get(f"{caddy.url}/api/v1/modules")
        assert response.status_code == 200
        assert response.json()["service"] == "catalog"
        ports.append(response.json()["server_port"])
    assert set(ports) == {catalog.port, second_catalog.port}


def test_body_over_one_mib_is_refused_with_413(caddy: RunningCaddy) -> None:
    ok = httpx.post(f"{caddy.url}/api/v1/courses", content=b"x" * (MIB - 10))
    assert ok.status_code == 200
    assert ok.json()["body_bytes"] == MIB - 10

    too_large = httpx.post(f"{caddy.url}/api/v1/courses", content=b"x" * (MIB + 1))
    _assert_problem(too_large, 413)
    assert too_large.headers["x-request-id"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: caught while streaming
        for _ in range(40):
            yield b"y" * 65536

    streamed = httpx.post(f"{caddy.url}/api/v1/courses", content=chunks())
    _assert_problem(streamed, 413)


def test_upstream_down_is_a_502_problem(caddy: RunningCaddy) -> None:
    response = httpx.get(f"{caddy.url}/api/v1/posts/p1", headers={"X-Request-ID": "down-1"})
    body = _assert_problem(response, 502)
    assert body["detail"] == "The content service failed to answer."
    assert response.headers["x-request-id"] == "down-1"


def test_upstream_timeout_is_a_504_problem(caddy: RunningCaddy) -> None:
    response = httpx.get(f"{caddy.url}/api/v1/me/slow", timeout=10)
    body = _assert_problem(response, 504)
    assert "progress" in str(body["detail"])


def test_service_not_in_the_stack_is_a_503_problem(caddy: RunningCaddy) -> None:
    response = httpx.post(f"{caddy.url}/api/v1/auth/token", data={"username": "x"})
    body = _assert_problem(response, 503)
    assert body["detail"] == "The identity service is not running in this stack."
    assert response.headers["retry-after"] == "5"
    assert response.headers["x-request-id"]


def test_unknown_path_goes_to_the_web(caddy: RunningCaddy) -> None:
    # The catch-all sends it to web, which this stack does not run: a 503 problem naming it.
    problem = _assert_problem(httpx.get(f"{caddy.url}/nowhere"), 503)
    assert "web" in str(problem["detail"])


def test_dot_segments_are_refused(caddy: RunningCaddy) -> None:
    # httpx would normalise the path; send it raw.
    conn = http.client.HTTPConnection("127.0.0.1", caddy.port, timeout=5)
    conn.request("GET", "/api/v1/courses/../users/me")
    response = conn.getresponse()
    assert response.status == 400
    assert response.getheader("content-type") == "application/problem+json"
    conn.close()


def test_health_metrics_and_sidecar_routes(caddy: RunningCaddy) -> None:
    health = httpx.get(f"{caddy.url}/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert health.headers["content-type"] == "application/json"
    assert "server" not in health.headers

    metrics = httpx.get(f"{caddy.url}/metrics")
    assert metrics.status_code == 200
    assert "caddy_http_requests_total" in metrics.text

    ready = httpx.get(f"{caddy.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["services"] == {"catalog": "ready", "progress": "ready"}
    doc = httpx.get(f"{caddy.url}/openapi.json").json()
    assert "/api/v1/catalog/items/{item_id}" in doc["paths"]
    assert httpx.get(f"{caddy.url}/docs").status_code == 200
    css = httpx.get(f"{caddy.url}/docs/static/swagger-ui.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


def test_caddy_logs_json_to_its_log_file_without_credentials(caddy: RunningCaddy) -> None:
    headers = {"X-Request-ID": "logged-1", "Authorization": "Bearer secret-token"}
    httpx.get(f"{caddy.url}/healthz", headers=headers)
    text = caddy.log_file.read_text()
    assert "secret-token" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert any(
        entry.get("request", {}).get("headers", {}).get("X-Request-Id") == ["logged-1"]
        for entry in lines
    )


def _assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail"}
    assert body["status"] == status
    assert str(body["type"]).startswith("https://syllabus.dev/problems/")
    return dict(body)


def test_with_tracing_caddy_opens_the_gateway_span_and_forwards_it(
    routes: list[Route], progress: ServedApp, tmp_path: Path
) -> None:
    def render(port: int) -> str:
        return render_caddyfile(
            routes,
            {"progress": [progress.url]},
            listen_port=port,
            log_file=tmp_path / "caddy.log",
            tracing=True,
        )

    assert "tracing {" in render(8000)
    assert "tracing" not in render_caddyfile(routes, {"progress": [progress.url]})
    trace_id, client_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    with run_caddy(render, tmp_path) as caddy:
        response = httpx.get(
            f"{caddy.url}/api/v1/me/enrollments",
            headers={"traceparent": f"00-{trace_id}-{client_span}-01"},
        )
    version, forwarded_trace, parent, _ = response.json()["traceparent"].split("-")
    assert (version, forwarded_trace) == ("00", trace_id)  # the same trace...
    assert parent != client_span  # ...continued by Caddy's own span

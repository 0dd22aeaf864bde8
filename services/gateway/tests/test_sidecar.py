"""The gateway sidecar against real upstream apps over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest
from gateway_test_support import ServedApp, make_service, served
from syllabus_gateway.main import create_app
from syllabus_gateway.openapi import merge_openapi
from syllabus_gateway.settings import GatewaySettings


def sidecar(upstreams: dict[str, list[str]], **settings: object) -> ServedApp:
    app = create_app(GatewaySettings(upstreams=upstreams, **settings))  # type: ignore[arg-type]
    return ServedApp(app).start()


@pytest.fixture
def gateway(catalog: ServedApp, progress: ServedApp) -> Iterator[ServedApp]:
    server = sidecar({"catalog": [catalog.url], "progress": [progress.url]})
    yield server
    server.stop()


def test_openapi_merges_public_paths_and_components(gateway: ServedApp) -> None:
    response = httpx.get(f"{gateway.url}/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {
        "/api/v1/catalog/items/{item_id}",
        "/api/v1/progress/items/{item_id}",
    }  # no /healthz, /readyz, /metrics of the services
    schemas = doc["components"]["schemas"]
    # Identical definitions are shared; differing ones are prefixed by service.
    assert "Course" in schemas
    assert {"CatalogProblem", "ProgressProblem"} <= set(schemas)
    assert "Problem" not in schemas
    assert "catalog_only" in schemas["CatalogProblem"]["properties"]
    assert "progress_only" in schemas["ProgressProblem"]["properties"]
    op = doc["paths"]["/api/v1/progress/items/{item_id}"]["get"]
    ref = op["responses"]["404"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/ProgressProblem"
    assert op["x-syllabus-service"] == "progress"
    # Every reference resolves inside the merged document.
    for raw in _refs(doc):
        section, name = raw.removeprefix("#/components/").split("/")
        assert name in doc["components"][section], raw


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_docs_serves_swagger_ui_for_the_merged_document(gateway: ServedApp) -> None:
    response = httpx.get(f"{gateway.url}/docs")
    assert response.status_code == 200
    assert "swagger-ui" in response.text
    assert "url: '/openapi.json'" in response.text


class _Assets(HTMLParser):
    """Every URL a page makes the browser load: src= and <link href=>."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is not None and (name == "src" or (tag == "link" and name == "href")):
                self.urls.append(value)


def test_docs_loads_only_same_origin_assets_and_the_sidecar_serves_them(
    gateway: ServedApp,
) -> None:
    """No CDN: /docs works without internet (and leaks nothing to another origin)."""
    page = httpx.get(f"{gateway.url}/docs").text
    assert "://" not in page  # no absolute URL at all: scripts, styles, icon, validator
    assert '"validatorUrl": null' in page
    parser = _Assets()
    parser.feed(page)
    assert sorted(parser.urls) == [
        "/docs/static/favicon.png",
        "/docs/static/swagger-ui-bundle.js",
        "/docs/static/swagger-ui.css",
    ]
    expected_types = {".js": "javascript", ".css": "text/css", ".png": "image/png"}
    for url in parser.urls:
        asset = httpx.get(f"{gateway.url}{url}")
        assert asset.status_code == 200, url
        assert expected_types[url[url.rindex(".") :]] in asset.headers["content-type"], url
        assert len(asset.content) > 1000, url
    bundle = httpx.get(f"{gateway.url}/docs/static/swagger-ui-bundle.js").text
    assert "SwaggerUIBundle" in bundle
    assert httpx.get(f"{gateway.url}/docs/static/nothing.js").status_code == 404


def test_openapi_is_partial_and_says_so_when_a_service_is_down(catalog: ServedApp) -> None:
    down = f"http://127.0.0.1:{_closed_port()}"
    server = sidecar({"catalog": [catalog.url], "content": [down]})
    try:
        doc = httpx.get(f"{server.url}/openapi.json").json()
        assert doc["x-syllabus-unavailable"] == ["content"]
        assert "/api/v1/catalog/items/{item_id}" in doc["paths"]
    finally:
        server.stop()


def test_readyz_is_ready_when_every_service_is(gateway: ServedApp) -> None:
    response = httpx.get(f"{gateway.url}/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "services": {"catalog": "ready", "progress": "ready"},
    }


def test_readyz_names_what_is_down(catalog: ServedApp) -> None:
    with served(make_service("progress", ready=False)) as not_ready:
        down = f"http://127.0.0.1:{_closed_port()}"
        server = sidecar(
            {"catalog": [catalog.url], "progress": [not_ready.url], "content": [down]},
            retry_after_seconds=7,
        )
        try:
            response = httpx.get(f"{server.url}/readyz")
        finally:
            server.stop()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "7"
    body = response.json()
    assert body["status"] == 503
    assert body["detail"] == "Not ready: content, progress."
    assert body["services"] == {"catalog": "ready", "progress": "down", "content": "down"}
    assert {"type", "title"} <= set(body)


def test_readyz_counts_a_partly_ready_replica_set_as_degraded(catalog: ServedApp) -> None:
    down = f"http://127.0.0.1:{_closed_port()}"
    server = sidecar({"catalog": [catalog.url, down]})
    try:
        response = httpx.get(f"{server.url}/readyz")
    finally:
        server.stop()
    assert response.status_code == 200
    assert response.json()["services"] == {"catalog": "degraded"}


def test_healthz_and_metrics(gateway: ServedApp) -> None:
    assert httpx.get(f"{gateway.url}/healthz").json() == {"status": "ok"}
    metrics = httpx.get(f"{gateway.url}/metrics")
    assert metrics.status_code == 200
    assert "python_info" in metrics.text


def test_settings_read_upstreams_json_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upstreams = {"identity": "http://127.0.0.1:1/", "catalog": ["http://a:1", "http://b:2"]}
    monkeypatch.setenv("GATEWAY_UPSTREAMS", json.dumps(upstreams))
    settings = GatewaySettings()
    assert settings.upstreams == {
        "identity": ["http://127.0.0.1:1"],
        "catalog": ["http://a:1", "http://b:2"],
    }


def test_merge_renames_security_schemes_and_nested_refs() -> None:
    def doc(token_url: str) -> dict[str, object]:
        return {
            "openapi": "3.1.0",
            "paths": {
                "/api/v1/x": {
                    "get": {
                        "security": [{"OAuth2": []}],
                        "responses": {
                            "200": {"$ref": "#/components/responses/Ok"},
                        },
                    }
                },
                "/internal": {"get": {"responses": {}}},
            },
            "components": {
                "responses": {
                    "Ok": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Item"}}
                        }
                    }
                },
                "schemas": {
                    "Item": {"type": "object"},
                    "Unused": {"type": "string"},
                },
                "securitySchemes": {
                    "OAuth2": {
                        "type": "oauth2",
                        "flows": {"password": {"tokenUrl": token_url, "scopes": {}}},
                    }
                },
            },
        }

    merged = merge_openapi({"a": doc("/a/token"), "b": doc("/b/token")})
    assert list(merged["paths"]) == ["/api/v1/x"]
    assert set(merged["components"]["securitySchemes"]) == {"AOAuth2", "BOAuth2"}
    assert merged["paths"]["/api/v1/x"]["get"]["security"] == [{"AOAuth2": []}]
    assert merged["components"]["schemas"] == {"Item": {"type": "object"}}  # shared, no Unused
    assert merged["x-syllabus-conflicts"] == ["GET /api/v1/x (b)"]


def _closed_port() -> int:
    from syllabus_devkit.embedded import find_free_port

    return find_free_port()


def test_merge_retitles_a_renamed_schema() -> None:
    """Two services' different ``Status`` enums become ``AStatus`` and ``BStatus``, titles
    included: client generators name classes by title and would find two ``Status``."""

    def doc(values: list[str]) -> dict[str, object]:
        ref = {"$ref": "#/components/schemas/Status"}
        return {
            "paths": {"/api/v1/x": {"get": {"responses": {"200": {"content": ref}}}}},
            "components": {"schemas": {"Status": {"title": "Status", "enum": values}}},
        }

    schemas = merge_openapi({"a": doc(["on"]), "b": doc(["off"])})["components"]["schemas"]
    assert schemas == {
        "AStatus": {"title": "AStatus", "enum": ["on"]},
        "BStatus": {"title": "BStatus", "enum": ["off"]},
    }

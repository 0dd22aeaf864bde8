"""Problems, pagination, request ids, ETags: the HTTP conventions of API.md."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import Depends, FastAPI, Request, Response
from pydantic import BaseModel, Field
from syllabus_shared.http import check_if_match, not_modified, versioned
from syllabus_shared.observability import Metrics, RequestContextMiddleware
from syllabus_shared.pagination import (
    PageParams,
    decode_cursor,
    encode_cursor,
    page_of,
    page_params,
)
from syllabus_shared.problems import Problem, install_problem_handlers


class Thing(BaseModel):
    name: str = Field(min_length=1)
    count: int


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware, metrics=Metrics())

    @app.post("/things")
    async def create(thing: Thing) -> Thing:
        return thing

    @app.get("/things")
    async def listing(page: PageParams = Depends(page_params)) -> object:
        items = list(range(1, 8))
        start = int(page.after["n"]) if page.after else 0
        return page_of(items[start : start + page.limit + 1], page, lambda n: {"n": n})

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    @app.get("/conflict")
    async def conflicting() -> None:
        raise Problem(409, "already there", kind="already-exists")

    @app.get("/versioned")
    async def get_versioned(request: Request) -> Response:
        return not_modified(request, 3) or versioned({"v": 3}, 3)

    @app.put("/versioned")
    async def put_versioned(request: Request) -> Response:
        check_if_match(request.headers.get("if-match"), 3)
        return versioned({"v": 4}, 4)

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def test_validation_errors_are_problems_naming_fields(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", json={"name": "", "count": "x"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert {"type", "title", "status", "detail", "errors"} <= body.keys()
    assert {e["field"] for e in body["errors"]} == {"name", "count"}


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["status"] == 400


async def test_unexpected_errors_are_500_problems_without_internals(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/boom")
    assert r.status_code == 500
    assert r.json()["detail"] == "internal error" and "bug" not in r.text


async def test_problem_exception_and_unknown_route(client: httpx.AsyncClient) -> None:
    r = await client.get("/conflict")
    assert r.status_code == 409 and r.json()["type"].endswith("/already-exists")
    r = await client.get("/nowhere")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    r = await client.get("/conflict", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await client.get("/conflict", headers={"X-Request-ID": "bad id\twith spaces"})
    assert (
        r.headers["x-request-id"] != "bad id\twith spaces" and len(r.headers["x-request-id"]) == 32
    )
    assert (await client.get("/conflict")).headers["x-request-id"]


async def test_cursor_pagination_walks_every_item_once(client: httpx.AsyncClient) -> None:
    seen: list[int] = []
    cursor = None
    while True:
        r = await client.get(
            "/things", params={"limit": 3, **({"cursor": cursor} if cursor else {})}
        )
        assert r.status_code == 200
        seen += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(1, 8))


@pytest.mark.parametrize(
    ("params", "status"), [({"limit": 0}, 422), ({"limit": 101}, 422), ({"cursor": "%%%"}, 400)]
)
async def test_bad_page_requests(
    client: httpx.AsyncClient, params: dict[str, object], status: int
) -> None:
    r = await client.get("/things", params=params)
    assert r.status_code == status


def test_cursor_round_trip() -> None:
    pos = {"id": str(uuid.uuid4())}
    assert decode_cursor(encode_cursor(pos)) == pos


async def test_etags_and_conditional_requests(client: httpx.AsyncClient) -> None:
    r = await client.get("/versioned")
    assert r.headers["etag"] == '"3"'
    assert (await client.get("/versioned", headers={"If-None-Match": '"3"'})).status_code == 304
    assert (await client.get("/versioned", headers={"If-None-Match": '"2"'})).status_code == 200
    assert (await client.put("/versioned", headers={"If-Match": '"2"'})).status_code == 412
    assert (await client.put("/versioned", headers={"If-Match": 'W/"3"'})).status_code == 200
    assert (await client.put("/versioned")).status_code == 200

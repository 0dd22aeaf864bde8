"""Consistency tokens over HTTP, on a tiny service built by the kernel's own
``ServiceDeclaration.create_app`` against real PostgreSQL and NATS: writes answer the
token (header and cookie), reads wait for it (docs/events.md, "The token", "The wait")."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest_asyncio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import func, select
from syllabus_devkit.testing.plugin import serve_app
from syllabus_shared.consistency_token import COOKIE, ConsistencyToken, type_code
from syllabus_shared.contracts.catalog import ModuleCreated, ModuleUpdated
from syllabus_shared.contracts.progress import EnrollmentCreated
from syllabus_shared.declaration import ServiceDeclaration
from syllabus_shared.http import idempotent
from syllabus_shared.messaging.consumer import Subscription
from syllabus_shared.messaging.positions import advance
from syllabus_shared.problems import Problem
from syllabus_shared.runtime import UnitOfWorkDep
from syllabus_shared.settings import ServiceSettings
from syllabus_shared.unit_of_work import UnitOfWork

from conftest import Kernel

MC, MU = ModuleCreated.type_name(), ModuleUpdated.type_name()
ENROLLED = EnrollmentCreated.type_name()  # what this little service consumes
CONSUMER = "http-from-progress"
PROBLEM = "application/problem+json"


class WidgetIn(BaseModel):
    name: str


def widgets_router() -> APIRouter:
    router = APIRouter()

    @router.post("/widgets", status_code=201)
    async def create_widget(body: WidgetIn, uow: UnitOfWorkDep, request: Request) -> JSONResponse:
        async def create() -> JSONResponse:
            module_id = uuid.uuid4()
            async with uow:
                await uow.publish(
                    ModuleCreated(module_id=module_id, title=body.name, creator_id=module_id),
                    sequence=1,
                )
            return JSONResponse({"id": str(module_id), "name": body.name}, status_code=201)

        return await idempotent(request, uow, scope="POST /widgets", body=body, create=create)

    @router.put("/widgets/{module_id}")
    async def rename_widget(
        module_id: uuid.UUID, body: WidgetIn, uow: UnitOfWorkDep
    ) -> dict[str, object]:
        async with uow:
            await uow.publish(
                ModuleUpdated(module_id=module_id, title=body.name, creator_id=module_id),
                sequence=2,
            )
        return {"name": body.name}

    @router.get("/widgets")
    async def list_widgets() -> dict[str, object]:
        return {"items": []}

    @router.post("/nothing")
    async def write_nothing() -> dict[str, object]:
        return {}

    @router.post("/refused")
    async def refused() -> dict[str, object]:
        raise Problem(409, "no", kind="conflict")

    return router


@dataclass
class Service:
    client: httpx.AsyncClient
    kernel: Kernel

    async def events(self) -> int:
        async with self.kernel.db.transaction() as s:
            return int(await s.scalar(select(func.count()).select_from(self.kernel.tables.outbox)))

    async def handled(self, positions: dict[str, list[int]]) -> None:
        """This service's consumer handled these positions (as its batch would record)."""
        async with self.kernel.db.transaction() as s:
            await advance(s, self.kernel.tables.consumer_positions, CONSUMER, positions)


@pytest_asyncio.fixture
async def service(kernel: Kernel, nats_url: str) -> AsyncIterator[Service]:
    async def on_enrolled(uow: UnitOfWork, event: EnrollmentCreated) -> None:
        return None

    declaration = ServiceDeclaration(
        name="catalog",
        title="tokens",
        description="a service with one write, one read and one consumer",
        settings=ServiceSettings,
        metadata=kernel.metadata,
        tables=kernel.tables,
        migrations=Path("unused"),
        routers=[widgets_router()],
        subscriptions=[
            Subscription(
                name=CONSUMER, source="progress", handlers={EnrollmentCreated: on_enrolled}
            )
        ],
    )
    settings = ServiceSettings(
        service_name="catalog",
        database_url=kernel.db.url,
        nats_url=nats_url,
        event_namespace=kernel.namespace,
        run_relay=False,
        run_consumers=False,  # positions are recorded by hand: the wait is under test
        consistency_wait_seconds=0.3,
        log_json=False,
        service_env="test",
    )
    app = declaration.create_app(settings)
    # A host with a dot, so httpx's cookie jar keeps cookies as a browser would.
    async with serve_app(app, "http://syllabus.test") as client:
        yield Service(client, kernel)


def token_of(r: httpx.Response) -> ConsistencyToken:
    [value] = r.headers.get_list("syllabus-consistency")
    return ConsistencyToken.parse(value)


def cookie_of(r: httpx.Response) -> dict[str, str]:
    """The consistency cookie's value and attributes, as set by ``r``."""
    [cookie] = [c for c in r.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}=")]
    value, *attributes = (part.strip() for part in cookie.split(";"))
    attrs = dict(a.partition("=")[::2] for a in attributes)
    return {"value": value.split("=", 1)[1], **attrs}


def cookies_header(value: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={value}"}


def no_token(r: httpx.Response) -> bool:
    return "syllabus-consistency" not in r.headers and not any(
        c.startswith(f"{COOKIE}=") for c in r.headers.get_list("set-cookie")
    )


async def test_a_write_answers_its_token_as_header_and_cookie(service: Service) -> None:
    r = await service.client.post("/api/v1/widgets", json={"name": "a"})
    assert r.status_code == 201
    assert token_of(r) == ConsistencyToken.of_types({MC: 1})
    cookie = cookie_of(r)
    assert cookie == {
        "value": r.headers["syllabus-consistency"],
        "Path": "/api",
        "HttpOnly": "",
        "SameSite": "Lax",
    }
    ob = service.kernel.tables.outbox
    async with service.kernel.db.transaction() as s:
        assert (await s.execute(select(ob.c.event_type, ob.c.position))).all() == [(MC, 1)]


async def test_a_second_write_merges_what_the_request_carried(service: Service) -> None:
    client = service.client
    first = token_of(await client.post("/api/v1/widgets", json={"name": "a"}))
    client.cookies.clear()
    carried = ConsistencyToken(first.positions).merge(ConsistencyToken.parse("2.deadbe5"))
    r = await client.put(
        f"/api/v1/widgets/{uuid.uuid4()}",
        json={"name": "b"},
        # Header and cookie are merged.
        headers={"Syllabus-Consistency": first.encode(), **cookies_header("2.deadbe5")},
    )
    assert r.status_code == 200
    assert token_of(r) == ConsistencyToken(carried.positions).merge(
        ConsistencyToken.of_types({MU: 1})
    )
    # A later write of the same type: the highest position per type is kept.
    client.cookies.clear()
    r = await client.post(
        "/api/v1/widgets",
        json={"name": "c"},
        headers={"Syllabus-Consistency": token_of(r).encode()},
    )
    assert token_of(r).positions == {type_code(MC): 2, type_code(MU): 1, "deadbe": 5}


async def test_the_cookie_comes_back_by_itself(service: Service) -> None:
    """A browser sends the cookie to every /api path: its next write carries it."""
    client = service.client
    await client.post("/api/v1/widgets", json={"name": "a"})
    r = await client.put(f"/api/v1/widgets/{uuid.uuid4()}", json={"name": "b"})
    assert token_of(r) == ConsistencyToken.of_types({MC: 1, MU: 1})
    assert cookie_of(r)["value"] == r.headers["syllabus-consistency"]


async def test_a_write_that_publishes_nothing_hands_back_what_it_carried(
    service: Service,
) -> None:
    carried = ConsistencyToken.of_types({MC: 4})
    r = await service.client.post(
        "/api/v1/nothing", headers={"Syllabus-Consistency": carried.encode()}
    )
    assert r.status_code == 200 and token_of(r) == carried
    service.client.cookies.clear()
    r = await service.client.post("/api/v1/nothing")
    assert token_of(r) == ConsistencyToken()


async def test_reads_and_failed_writes_answer_no_token(service: Service) -> None:
    carried = {"Syllabus-Consistency": ConsistencyToken.of_types({MC: 4}).encode()}
    r = await service.client.get("/api/v1/widgets", headers=carried)
    assert r.status_code == 200 and no_token(r)
    r = await service.client.post("/api/v1/refused", headers=carried)
    assert r.status_code == 409 and no_token(r)
    r = await service.client.post("/api/v1/widgets", json={"name": 1}, headers=carried)
    assert r.status_code == 422 and no_token(r)
    r = await service.client.get("/healthz")  # outside /api
    assert r.status_code == 200 and no_token(r)


async def test_a_malformed_token_is_a_400_problem(service: Service) -> None:
    for method, path in (("GET", "/api/v1/widgets"), ("POST", "/api/v1/widgets")):
        r = await service.client.request(
            method, path, json={"name": "x"}, headers={"Syllabus-Consistency": "2.nope"}
        )
        assert r.status_code == 400, r.text
        assert r.headers["content-type"] == PROBLEM
        body = r.json()
        assert body["type"].endswith("/malformed-consistency-token")
        assert "Syllabus-Consistency header" in body["detail"]
        assert no_token(r)
    assert await service.events() == 0  # refused before the write


async def test_a_malformed_cookie_is_named_as_the_culprit(service: Service) -> None:
    good = ConsistencyToken.of_types({MC: 1}).encode()
    r = await service.client.get(
        "/api/v1/widgets",
        headers={"Syllabus-Consistency": good, **cookies_header("1.not-a-token")},
    )
    assert r.status_code == 400
    assert r.json()["type"].endswith("/malformed-consistency-token")
    assert f"{COOKIE} cookie" in r.json()["detail"]
    # ... and cleared with the answer (a browser cannot remove an HttpOnly cookie).
    [cleared] = [c for c in r.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}=")]
    assert cleared == f"{COOKIE}=; Max-Age=0; Path=/api; HttpOnly; SameSite=Lax"


async def test_an_unreachable_token_is_a_503_with_retry_after(service: Service) -> None:
    waiting_for = {"Syllabus-Consistency": ConsistencyToken.of_types({ENROLLED: 2}).encode()}
    started = time.monotonic()
    r = await service.client.get("/api/v1/widgets", headers=waiting_for)
    assert 0.25 < time.monotonic() - started < 3.0  # waited the (0.3 s) bound
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"].endswith("/consistency-timeout")
    # A write waits before it writes: refused, nothing written.
    r = await service.client.post("/api/v1/widgets", json={"name": "x"}, headers=waiting_for)
    assert r.status_code == 503 and no_token(r)
    assert await service.events() == 0
    metrics = (await service.client.get("/metrics")).text
    assert "consistency_timeouts_total 2.0" in metrics

    await service.handled({ENROLLED: [1, 2]})  # the consumer caught up
    r = await service.client.get("/api/v1/widgets", headers=waiting_for)
    assert r.status_code == 200


async def test_an_idempotent_replay_names_the_first_writes_token(service: Service) -> None:
    client = service.client
    key = {"Idempotency-Key": "k-1"}
    first = await client.post("/api/v1/widgets", json={"name": "a"}, headers=key)
    assert first.status_code == 201
    assert token_of(first) == ConsistencyToken.of_types({MC: 1})
    client.cookies.clear()
    later = await client.post("/api/v1/widgets", json={"name": "b"})
    assert token_of(later) == ConsistencyToken.of_types({MC: 2})
    client.cookies.clear()

    replay = await client.post("/api/v1/widgets", json={"name": "a"}, headers=key)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.status_code == 201 and replay.json() == first.json()
    assert token_of(replay) == token_of(first)  # one header: the stored one is not repeated
    assert cookie_of(replay)["value"] == first.headers["syllabus-consistency"]
    assert await service.events() == 2  # nothing written again
    # A replay carrying a newer token hands back both.
    client.cookies.clear()
    replay = await client.post(
        "/api/v1/widgets",
        json={"name": "a"},
        headers={**key, "Syllabus-Consistency": ConsistencyToken.of_types({MU: 3}).encode()},
    )
    assert token_of(replay) == ConsistencyToken.of_types({MC: 1, MU: 3})

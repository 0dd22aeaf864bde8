"""The published OpenAPI describes errors as they are served: RFC 9457 problem documents.

(Found by fuzzing the gateway, tests-reliability/test_4_fuzz.py: every 4xx broke the
documented schema, 422 being documented as FastAPI's own shape in application/json.)
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import BaseModel
from syllabus_shared.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers

PROBLEM = {"schema": {"$ref": "#/components/schemas/Problem"}}


class Thing(BaseModel):
    name: str


def app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things/{thing_id}")
    async def create(thing_id: int, thing: Thing) -> Thing:
        return thing

    return app


def test_every_operation_documents_problem_responses() -> None:
    spec = app().openapi()
    responses = spec["paths"]["/things/{thing_id}"]["post"]["responses"]
    assert responses["422"]["content"] == {PROBLEM_MEDIA_TYPE: PROBLEM}
    assert responses["default"]["content"] == {PROBLEM_MEDIA_TYPE: PROBLEM}
    assert "200" in responses
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status"}
    assert app().openapi() == spec  # stable, and built once per app


async def test_served_errors_match_the_documented_problem() -> None:
    served = app()
    transport = httpx.ASGITransport(app=served)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.post("/things/x", json={})
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = r.json()
    schema = served.openapi()["components"]["schemas"]["Problem"]
    assert set(schema["required"]) <= body.keys()
    assert set(body) - set(schema["properties"]) == set()

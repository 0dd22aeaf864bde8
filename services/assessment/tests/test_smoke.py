from __future__ import annotations

from conftest import Assessment


async def test_operations_routes(shared_assessment: Assessment) -> None:
    client = shared_assessment.client
    assert (await client.get("/healthz")).status_code == 200
    r = await client.get("/readyz")
    assert r.status_code == 200, r.text
    assert (await client.get("/metrics")).status_code == 200
    r = await client.get("/healthz", headers={"X-Request-ID": "req-assessment-1"})
    assert r.headers["x-request-id"] == "req-assessment-1"


async def test_every_route_needs_a_token(shared_assessment: Assessment) -> None:
    client = shared_assessment.client
    some = "0190a8c4-0000-7000-8000-000000000000"
    for method, path in [
        ("POST", f"/api/v1/posts/{some}/submissions"),
        ("GET", f"/api/v1/posts/{some}/submissions"),
        ("GET", f"/api/v1/submissions/{some}"),
        ("PUT", f"/api/v1/submissions/{some}/grade"),
        ("GET", f"/api/v1/me/courses/{some}/grades"),
        ("GET", f"/api/v1/courses/{some}/grades"),
    ]:
        r = await client.request(method, path, json={"score": 1})
        assert r.status_code == 401, (method, path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_openapi_documents_every_route(shared_assessment: Assessment) -> None:
    r = await shared_assessment.client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert {
        "/api/v1/posts/{post_id}/submissions": {"get", "post"},
        "/api/v1/submissions/{submission_id}": {"get"},
        "/api/v1/submissions/{submission_id}/grade": {"put"},
        "/api/v1/me/courses/{course_id}/grades": {"get"},
        "/api/v1/courses/{course_id}/grades": {"get"},
        "/api/v1/courses/{course_id}/submissions": {"get"},  # an extension (api-notes.md)
    } == {path: set(paths[path]) for path in paths}
    # The answer key is in no schema a client can see.
    assert "answer_key" not in r.text and "answer_index" not in r.text

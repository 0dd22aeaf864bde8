"""Through the gateway: accounts, tokens, roles and the catalog (issue 3's acceptance)."""

from __future__ import annotations

import base64
import json
import uuid

from conftest import Stack


def test_register_login_promote_create_and_publish(stack: Stack) -> None:
    instructor_id, token = stack.user("instructor")
    with stack.client(token) as c:
        me = c.get("/api/v1/users/me").json()
        assert me["id"] == instructor_id
        assert me["role"] == "instructor"
        r = c.post(
            "/api/v1/courses", json={"title": "E2E Course", "description": "through the gateway"}
        )
        assert r.status_code == 201, r.text
        course = r.json()
        assert course["status"] == "draft"
        assert r.headers["x-request-id"]
        r = c.patch(f"/api/v1/courses/{course['id']}", json={"status": "published"})
        assert r.status_code == 200
        assert r.json()["status"] == "published"
    with stack.client() as guest:
        listed = guest.get("/api/v1/courses", params={"q": "gateway", "limit": 100}).json()["items"]
        assert course["id"] in [c["id"] for c in listed]


def test_students_cannot_author(stack: Stack) -> None:
    _, student = stack.user("student")
    _, instructor = stack.user("instructor")
    with stack.client(instructor) as c:
        course = c.post("/api/v1/courses", json={"title": "Not yours"}).json()
        c.patch(f"/api/v1/courses/{course['id']}", json={"status": "published"})
    with stack.client(student) as c:
        r = c.post("/api/v1/courses", json={"title": "Mine?"})
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"
        assert c.patch(f"/api/v1/courses/{course['id']}", json={"title": "x"}).status_code == 403
        assert c.post("/api/v1/modules", json={"title": "m"}).status_code == 403


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_bad_tokens_get_401(stack: Stack) -> None:
    _, token = stack.user("instructor")
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    elevated = {**claims, "role": "admin"}
    forged = f"{header}.{_b64(elevated)}.{signature}"
    none_alg = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(elevated)}."
    expired = f"{header}.{_b64({**claims, 'exp': 1})}.{signature}"
    hmac_header = _b64(
        {
            "alg": "HS256",
            "typ": "JWT",
            "kid": json.loads(base64.urlsafe_b64decode(header + "=="))["kid"],
        }
    )
    resigned = f"{hmac_header}.{payload}.{signature}"
    for bad in (forged, none_alg, expired, resigned, "garbage", token[:-4] + "AAAA"):
        with stack.client(bad) as c:
            r = c.post("/api/v1/courses", json={"title": "x"})
            assert r.status_code == 401, (bad[:40], r.status_code, r.text)
            assert r.json()["status"] == 401


def test_repeated_bad_logins_get_429(stack: Stack) -> None:
    name = f"victim_{uuid.uuid4().hex[:8]}"
    with stack.client() as c:
        c.post(
            "/api/v1/auth/register",
            json={"username": name, "email": f"{name}@example.com", "password": "right-password"},
        )
        statuses = [
            c.post(
                "/api/v1/auth/token", data={"username": name, "password": f"wrong-{i}"}
            ).status_code
            for i in range(8)
        ]
    assert statuses[0] == 401
    assert 429 in statuses


def test_gateway_conventions(stack: Stack) -> None:
    with stack.client() as c:
        r = c.get("/api/v1/courses/not-a-uuid", headers={"X-Request-ID": "e2e-req-1"})
        assert r.status_code == 422
        assert r.headers["x-request-id"] == "e2e-req-1"
        assert c.get(f"/api/v1/courses/{uuid.uuid4()}").status_code == 404
        big = c.post(
            "/api/v1/auth/register",
            content=b"x" * (2 * 1024 * 1024),
            headers={"content-type": "application/json"},
        )
        assert big.status_code == 413
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 200
        spec = c.get("/openapi.json").json()
        assert "/api/v1/courses" in spec["paths"]
        assert "/.well-known/jwks.json" in spec["paths"]
        jwks = c.get("/.well-known/jwks.json").json()
        assert jwks["keys"]
        assert all("d" not in k for k in jwks["keys"])

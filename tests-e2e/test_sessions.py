"""Sessions through the gateway (issue 24): sign in, refresh with rotation, reuse ends the
sign-in, logout, and a role change revokes refresh tokens; access tokens stay valid."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from conftest import Stack

TOKEN = "/api/v1/auth/token"
LOGOUT = "/api/v1/auth/logout"


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


def _refresh(c: httpx.Client, refresh_token: str) -> httpx.Response:
    return c.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": refresh_token})


def _me(stack: Stack, access_token: str) -> httpx.Response:
    with stack.client(access_token) as c:
        return c.get("/api/v1/users/me")


def test_a_sign_in_refreshes_rotates_and_ends(stack: Stack) -> None:
    name, password = f"sess_{uuid.uuid4().hex[:10]}", "pw-" + uuid.uuid4().hex
    with stack.client() as c:
        r = c.post(
            "/api/v1/auth/register",
            json={"username": name, "email": f"{name}@example.com", "password": password},
        )
        assert r.status_code == 201, r.text
        user_id = r.json()["id"]

        r = c.post(TOKEN, data={"username": name, "password": password})
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        first = r.json()
        assert first["refresh_expires_in"] == 30 * 24 * 3600
        assert first["refresh_token"] and first["token_type"] == "bearer"

        # Rotation: a new pair; the new access token works at once.
        r = _refresh(c, first["refresh_token"])
        assert r.status_code == 200, r.text
        second = r.json()
        assert second["refresh_token"] != first["refresh_token"]
        me = _me(stack, second["access_token"])
        assert me.status_code == 200 and me.json()["id"] == user_id

        # The spent token again: 401, and the whole sign-in is revoked.
        problem = _problem(_refresh(c, first["refresh_token"]), 401)
        assert problem["type"].endswith("/invalid-refresh-token")
        _problem(_refresh(c, second["refresh_token"]), 401)
        # Access tokens already issued stay valid until they expire.
        assert _me(stack, second["access_token"]).status_code == 200

        # Logout (no access token): 204, also for an unknown token; bad input is a 4xx.
        r = c.post(TOKEN, data={"username": name, "password": password})
        assert r.status_code == 200, r.text
        third = r.json()
        assert c.post(LOGOUT, json={"refresh_token": third["refresh_token"]}).status_code == 204
        assert c.post(LOGOUT, json={"refresh_token": "never-issued"}).status_code == 204
        _problem(_refresh(c, third["refresh_token"]), 401)
        _problem(c.post(LOGOUT, json={}), 422)
        _problem(c.post(TOKEN, data={"grant_type": "refresh_token"}), 422)

        # A role change revokes the user's refresh tokens at once.
        r = c.post(TOKEN, data={"username": name, "password": password})
        assert r.status_code == 200, r.text
        fourth = r.json()
    with stack.client(stack.admin_token) as admin:
        r = admin.patch(f"/api/v1/users/{user_id}", json={"role": "instructor"})
        assert r.status_code == 200, r.text
    with stack.client() as c:
        _problem(_refresh(c, fourth["refresh_token"]), 401)
        # Failed refreshes did not throttle sign-ins: a fresh sign-in works, with the new role.
        r = c.post(TOKEN, data={"username": name, "password": password})
        assert r.status_code == 200, r.text
        r = _refresh(c, r.json()["refresh_token"])
        assert r.status_code == 200, r.text
        me = _me(stack, r.json()["access_token"])
        assert me.status_code == 200 and me.json()["role"] == "instructor"

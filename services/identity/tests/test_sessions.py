"""Sessions (issue 24): refresh tokens, rotated on use, revoked by reuse, logout, a role
change or a deleted account; never counted by the sign-in throttle."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select, update
from syllabus_devkit.testing.asserts import assert_problem
from syllabus_devkit.testing.plugin import Databases
from syllabus_identity.models import LoginFailure, RefreshToken

from conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    API,
    MIGRATIONS,
    PASSWORD,
    Identity,
    claims_of,
    running_identity,
)

# ---------------------------------------------------------------- helpers


async def _sign_in(
    identity: Identity, username: str, address: str | None = None, password: str = PASSWORD
) -> Any:
    r = await identity.login(username, password, address=address)
    assert r.status_code == 200, r.text
    return r.json()


async def _refresh(
    identity: Identity, refresh_token: str, address: str | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": address} if address else {}
    return await identity.client.post(
        f"{API}/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        headers=headers,
    )


async def _refreshed(identity: Identity, refresh_token: str) -> Any:
    r = await _refresh(identity, refresh_token)
    assert r.status_code == 200, r.text
    return r.json()


def _refused(r: httpx.Response, reason: str) -> None:
    problem = assert_problem(r, 401)
    assert problem["type"].endswith("/invalid-refresh-token"), problem
    assert reason in problem["detail"], problem
    assert r.headers["www-authenticate"].startswith("Bearer")


async def _logout(identity: Identity, body: Any) -> httpx.Response:
    return await identity.client.post(f"{API}/auth/logout", json=body)


async def _me(identity: Identity, access_token: str) -> httpx.Response:
    return await identity.client.get(
        f"{API}/users/me", headers={"Authorization": f"Bearer {access_token}"}
    )


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def _rows(identity: Identity, user_id: str) -> list[RefreshToken]:
    async with identity.runtime.db.transaction() as session:
        rows = await session.scalars(
            select(RefreshToken)
            .where(RefreshToken.user_id == uuid.UUID(user_id))
            .order_by(RefreshToken.issued_at, RefreshToken.id)
        )
        return list(rows)


# ---------------------------------------------------------------- issuing and rotation


async def test_sign_in_answers_a_refresh_token_stored_only_as_its_hash(
    shared_identity: Identity,
) -> None:
    user = await shared_identity.register()
    r = await shared_identity.login(user["username"])
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_expires_in",
    }
    token = body["refresh_token"]
    assert body["refresh_expires_in"] == shared_identity.settings.refresh_token_ttl_seconds
    assert body["refresh_expires_in"] == 30 * 24 * 3600  # the default: 30 days
    # Opaque and high-entropy: not a JWT, 256 random bits in URL-safe base64.
    assert token.count(".") == 0 and len(token) >= 43
    [row] = await _rows(shared_identity, user["id"])
    assert row.token_hash == _digest(token)
    assert row.family_id == row.id
    assert row.used_at is None and row.revoked_at is None
    assert (row.expires_at - row.issued_at).total_seconds() == body["refresh_expires_in"]
    # Nothing in the table holds the token itself.
    async with shared_identity.runtime.db.transaction() as session:
        stored = (await session.execute(select(RefreshToken.__table__))).all()
    assert all(token not in repr(r) and token.encode() not in r for r in stored)


async def test_a_refresh_rotates_the_pair(shared_identity: Identity) -> None:
    user = await shared_identity.register()
    first = await _sign_in(shared_identity, user["username"])
    second = await _refreshed(shared_identity, first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["token_type"] == "bearer"
    assert second["expires_in"] == shared_identity.settings.access_token_ttl_seconds
    assert second["refresh_expires_in"] == shared_identity.settings.refresh_token_ttl_seconds
    _, claims = claims_of(second["access_token"])
    assert claims["sub"] == user["id"] and claims["role"] == "student"
    me = await _me(shared_identity, second["access_token"])
    assert me.status_code == 200 and me.json()["id"] == user["id"]
    # The new one refreshes in turn; both rows are one family, the old one used.
    third = await _refreshed(shared_identity, second["refresh_token"])
    rows = await _rows(shared_identity, user["id"])
    assert len(rows) == 3
    assert {r.family_id for r in rows} == {rows[0].id}
    assert [r.used_at is not None for r in rows] == [True, True, False]
    assert rows[2].token_hash == _digest(third["refresh_token"])


async def test_a_used_refresh_token_revokes_its_whole_sign_in(shared_identity: Identity) -> None:
    user = await shared_identity.register()
    stolen = await _sign_in(shared_identity, user["username"])
    elsewhere = await _sign_in(shared_identity, user["username"])  # another sign-in
    legit = await _refreshed(shared_identity, stolen["refresh_token"])
    legit = await _refreshed(shared_identity, legit["refresh_token"])

    # The first token, presented again: 401, and the sign-in it belongs to is over.
    _refused(await _refresh(shared_identity, stolen["refresh_token"]), "already used")
    _refused(await _refresh(shared_identity, legit["refresh_token"]), "revoked")
    _refused(await _refresh(shared_identity, stolen["refresh_token"]), "revoked")
    rows = await _rows(shared_identity, user["id"])
    family = [r for r in rows if r.family_id == rows[0].family_id]
    assert len(family) == 3 and all(r.revoked_at is not None for r in family)
    # Access tokens already issued stay valid until they expire.
    assert (await _me(shared_identity, legit["access_token"])).status_code == 200
    # The user's other sign-in is not touched.
    assert (await _refresh(shared_identity, elsewhere["refresh_token"])).status_code == 200


async def test_unknown_refresh_tokens_are_401(shared_identity: Identity) -> None:
    for token in ("no-such-token", "x" * 43, "ünïcödé \x00 tab\t", "a.b.c"):
        _refused(await _refresh(shared_identity, token), "unknown")
    # An access token is not a refresh token.
    user = await shared_identity.register()
    signed_in = await _sign_in(shared_identity, user["username"])
    _refused(await _refresh(shared_identity, signed_in["access_token"]), "unknown")


async def test_two_refreshes_at_once_with_one_token_do_not_both_succeed(
    shared_identity: Identity,
) -> None:
    user = await shared_identity.register()
    token = (await _sign_in(shared_identity, user["username"]))["refresh_token"]
    results = await asyncio.gather(*(_refresh(shared_identity, token) for _ in range(6)))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 401, 401, 401, 401, 401], [r.text for r in results]
    # The first copy to run finds the token used (and ends the sign-in), the rest revoked.
    details = [r.json()["detail"] for r in results if r.status_code == 401]
    assert sum("already used" in d for d in details) == 1, details
    assert sum("revoked" in d and "already used" not in d for d in details) == 4, details
    # The copies were reuse: the winner's new token went with the rest of the sign-in.
    [winner] = [r.json() for r in results if r.status_code == 200]
    _refused(await _refresh(shared_identity, winner["refresh_token"]), "revoked")
    rows = await _rows(shared_identity, user["id"])
    assert len(rows) == 2 and all(r.revoked_at is not None for r in rows)


# ---------------------------------------------------------------- expiry


async def test_an_expired_refresh_token_is_401(shared_identity: Identity) -> None:
    user = await shared_identity.register()
    first = await _sign_in(shared_identity, user["username"])
    second = await _refreshed(shared_identity, first["refresh_token"])
    async with shared_identity.runtime.db.transaction() as session:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == _digest(second["refresh_token"]))
            .values(expires_at=func.now() - func.make_interval(0, 0, 0, 0, 0, 0, 1))
        )
    _refused(await _refresh(shared_identity, second["refresh_token"]), "expired")
    # Still there until a later grant sweeps it, and refused the same way each time.
    _refused(await _refresh(shared_identity, second["refresh_token"]), "expired")


async def test_the_lifetime_is_a_setting_and_expired_rows_are_swept(
    databases: Databases, nats_url: str, namespace: str
) -> None:
    async with running_identity(
        databases, nats_url, namespace, refresh_token_ttl_seconds=120
    ) as identity:
        user = await identity.register()
        body = await _sign_in(identity, user["username"])
        assert body["refresh_expires_in"] == 120
        [row] = await _rows(identity, user["id"])
        assert (row.expires_at - row.issued_at).total_seconds() == 120
        # Expired rows go at the next grants (a bounded batch each), anyone's.
        async with identity.runtime.db.transaction() as session:
            await session.execute(
                update(RefreshToken).values(
                    expires_at=func.now() - func.make_interval(0, 0, 0, 0, 0, 0, 1)
                )
            )
        other = await identity.register()
        await _sign_in(identity, other["username"])
        assert await _rows(identity, user["id"]) == []
        _refused(await _refresh(identity, body["refresh_token"]), "unknown")


# ---------------------------------------------------------------- logout


async def test_logout_revokes_the_sign_in(shared_identity: Identity) -> None:
    user = await shared_identity.register()
    signed_in = await _sign_in(shared_identity, user["username"])
    other = await _sign_in(shared_identity, user["username"])
    r = await _logout(shared_identity, {"refresh_token": signed_in["refresh_token"]})
    assert r.status_code == 204, r.text
    assert r.content == b""
    _refused(await _refresh(shared_identity, signed_in["refresh_token"]), "revoked")
    # Again, and for a token nobody issued: still 204 (a logout cannot fail).
    for token in (signed_in["refresh_token"], "never-issued"):
        r = await _logout(shared_identity, {"refresh_token": token})
        assert r.status_code == 204, r.text
    # No access token needed; the access token issued stays valid until it expires.
    assert (await _me(shared_identity, signed_in["access_token"])).status_code == 200
    # Only that sign-in ended.
    assert (await _refresh(shared_identity, other["refresh_token"])).status_code == 200


async def test_logout_with_a_spent_token_ends_the_sign_in_it_led_to(
    shared_identity: Identity,
) -> None:
    user = await shared_identity.register()
    first = await _sign_in(shared_identity, user["username"])
    second = await _refreshed(shared_identity, first["refresh_token"])
    r = await _logout(shared_identity, {"refresh_token": first["refresh_token"]})
    assert r.status_code == 204
    _refused(await _refresh(shared_identity, second["refresh_token"]), "revoked")


async def test_logout_input_is_checked(shared_identity: Identity) -> None:
    url = f"{API}/auth/logout"
    for body in ({}, {"refresh_token": ""}, {"refresh_token": None}, {"refresh_token": 12}):
        assert_problem(await shared_identity.client.post(url, json=body), 422, "refresh_token")
    assert_problem(
        await shared_identity.client.post(url, json={"refresh_token": "x" * 513}),
        422,
        "refresh_token",
    )
    assert_problem(
        await shared_identity.client.post(url, json={"refresh_token": "t", "user": "x"}), 422
    )
    # Not a JSON object, or not JSON at all: a malformed request (400), still a problem.
    assert_problem(await shared_identity.client.post(url, json=["refresh_token"]), 400)
    r = await shared_identity.client.post(
        url, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_problem(r, 400)
    # A lone surrogate is valid JSON text but no UTF-8: an unknown token, not a 500.
    r = await shared_identity.client.post(
        url, content=b'{"refresh_token": "\\ud800"}', headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 204 or 400 <= r.status_code < 500, r.text
    r = await shared_identity.client.post(url, data={"refresh_token": "form"})
    assert 400 <= r.status_code < 500
    assert_problem(r, r.status_code)


# ---------------------------------------------------------------- revoked by account changes


async def test_a_role_change_revokes_the_users_refresh_tokens(shared_identity: Identity) -> None:
    admin = await shared_identity.admin()
    user = await shared_identity.register()
    one = await _sign_in(shared_identity, user["username"])
    two = await _sign_in(shared_identity, user["username"])
    bystander = await shared_identity.register()
    kept = await _sign_in(shared_identity, bystander["username"])

    # A display name is no role: nothing is revoked.
    r = await shared_identity.client.patch(
        f"{API}/users/{user['id']}", json={"display_name": "Renamed"}, headers=admin
    )
    assert r.status_code == 200, r.text
    one = await _refreshed(shared_identity, one["refresh_token"])

    r = await shared_identity.client.patch(
        f"{API}/users/{user['id']}", json={"role": "instructor"}, headers=admin
    )
    assert r.status_code == 200, r.text
    for token in (one["refresh_token"], two["refresh_token"]):
        _refused(await _refresh(shared_identity, token), "revoked")
    assert all(r.revoked_at is not None for r in await _rows(shared_identity, user["id"]))
    # A new sign-in carries the new role; other users' sign-ins are untouched.
    again = await _sign_in(shared_identity, user["username"])
    assert claims_of(again["access_token"])[1]["role"] == "instructor"
    refreshed = await _refreshed(shared_identity, again["refresh_token"])
    assert claims_of(refreshed["access_token"])[1]["role"] == "instructor"
    assert (await _refresh(shared_identity, kept["refresh_token"])).status_code == 200


async def test_a_deleted_account_cannot_refresh(shared_identity: Identity) -> None:
    user = await shared_identity.register()
    signed_in = await _sign_in(shared_identity, user["username"])
    spent = await _refreshed(shared_identity, signed_in["refresh_token"])
    r = await shared_identity.client.delete(
        f"{API}/users/me", headers={"Authorization": f"Bearer {spent['access_token']}"}
    )
    assert r.status_code == 204, r.text
    assert await _rows(shared_identity, user["id"]) == []
    _refused(await _refresh(shared_identity, spent["refresh_token"]), "unknown")
    r = await _logout(shared_identity, {"refresh_token": spent["refresh_token"]})
    assert r.status_code == 204


async def test_a_refresh_racing_a_role_change_leaves_no_live_token(identity: Identity) -> None:
    """Whichever commits first, the role change revokes every refresh token the user holds
    afterwards (a refresh that won the race minted one the role change must still see)."""
    admin = await identity.admin()
    for _ in range(5):
        user = await identity.register()
        signed_in = await _sign_in(identity, user["username"])
        role = "instructor"
        refreshed, patched = await asyncio.gather(
            _refresh(identity, signed_in["refresh_token"]),
            identity.client.patch(f"{API}/users/{user['id']}", json={"role": role}, headers=admin),
        )
        assert patched.status_code == 200, patched.text
        assert refreshed.status_code in (200, 401), refreshed.text
        if refreshed.status_code == 200:
            _refused(await _refresh(identity, refreshed.json()["refresh_token"]), "revoked")
        assert all(r.revoked_at is not None for r in await _rows(identity, user["id"]))


async def test_the_bootstrap_admins_new_password_ends_its_sign_ins(
    databases: Databases, nats_url: str, namespace: str
) -> None:
    url = await databases.create(MIGRATIONS)
    async with running_identity(databases, nats_url, namespace, database_url=url) as identity:
        before = await _sign_in(identity, ADMIN_USERNAME, password=ADMIN_PASSWORD)
    async with running_identity(
        databases,
        nats_url,
        namespace,
        database_url=url,
        identity_bootstrap_admin_password="a-new-operator-password",
    ) as identity:
        _refused(await _refresh(identity, before["refresh_token"]), "revoked")


# ---------------------------------------------------------------- not the sign-in throttle


async def test_failed_refreshes_do_not_count_toward_the_sign_in_throttle(
    shared_identity: Identity,
) -> None:
    user = await shared_identity.register()
    address = "10.24.0.1"
    limit = shared_identity.settings.login_max_failures_per_address
    for i in range(limit + 5):
        _refused(await _refresh(shared_identity, f"guess-{i}", address), "unknown")
    async with shared_identity.runtime.db.transaction() as session:
        failures = await session.scalar(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.client_address == address)
        )
    assert failures == 0
    signed_in = await _sign_in(shared_identity, user["username"], address)

    # And an address throttled for passwords still refreshes what it holds.
    for _ in range(shared_identity.settings.login_max_failures_per_account):
        assert_problem(await shared_identity.login(user["username"], "wrong!", address), 401)
    assert_problem(await shared_identity.login(user["username"], PASSWORD, address), 429)
    r = await _refresh(shared_identity, signed_in["refresh_token"], address)
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------- the token form


async def test_token_form_input_is_4xx_never_500(shared_identity: Identity) -> None:
    url = f"{API}/auth/token"
    post = shared_identity.client.post
    # A refresh grant needs its token; a password grant its username and password.
    assert_problem(await post(url, data={"grant_type": "refresh_token"}), 422, "refresh_token")
    r = await post(url, data={"grant_type": "refresh_token", "username": "a", "password": "b"})
    assert_problem(r, 422, "refresh_token")
    for data in ({"grant_type": "password"}, {}):
        problem = assert_problem(await post(url, data=data), 422, "username")
        assert {e["field"] for e in problem["errors"]} == {"username", "password"}
    assert_problem(await post(url, data={"refresh_token": "x"}), 422, "username")
    r = await post(url, data={"grant_type": "refresh_token", "refresh_token": ""})
    assert_problem(r, 422, "refresh_token")
    r = await post(url, data={"grant_type": "refresh_token", "refresh_token": "x" * 513})
    assert_problem(r, 422, "refresh_token")
    assert_problem(await post(url, data={"grant_type": "authorization_code"}), 422, "grant_type")
    # Bytes that are not UTF-8, percent-encoded or raw: refused or unknown, never a 500.
    for raw in (
        b"grant_type=refresh_token&refresh_token=%ff%fe%00",
        b"grant_type=refresh_token&refresh_token=%ed%a0%80",
        b"grant_type=refresh_token&refresh_token=\xff\xfe",
    ):
        r = await post(
            url, content=raw, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert 400 <= r.status_code < 500, r.text
        assert_problem(r, r.status_code)
    # JSON is not the token endpoint's format: no form fields at all.
    r = await post(url, json={"grant_type": "refresh_token", "refresh_token": "x"})
    assert_problem(r, 422, "username")


async def test_the_admin_refreshes_like_anyone(shared_identity: Identity) -> None:
    signed_in = await _sign_in(shared_identity, ADMIN_USERNAME, password=ADMIN_PASSWORD)
    refreshed = await _refreshed(shared_identity, signed_in["refresh_token"])
    assert claims_of(refreshed["access_token"])[1]["role"] == "admin"

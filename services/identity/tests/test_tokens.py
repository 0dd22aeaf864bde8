from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import subprocess
import sys
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import update
from syllabus_devkit.testing.asserts import assert_problem
from syllabus_identity import keys
from syllabus_identity.models import SigningKey

from conftest import API, KEK, PASSWORD, Identity, claims_of


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _me(identity: Identity, token: str) -> Any:
    return await identity.client.get(f"{API}/users/me", headers=_bearer(token))


# ---------------------------------------------------------------- issuing


async def test_token_is_an_es256_jwt_that_opens_users_me(shared_identity: Identity) -> None:
    user = await shared_identity.register()
    r = await shared_identity.login(user["username"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == shared_identity.settings.access_token_ttl_seconds
    assert r.headers["cache-control"] == "no-store"
    header, claims = claims_of(body["access_token"])
    kid, _ = await shared_identity.signing_key()
    assert header["alg"] == "ES256"
    assert header["kid"] == kid
    assert claims["iss"] == shared_identity.settings.auth_issuer
    assert claims["aud"] == shared_identity.settings.auth_audience
    assert claims["sub"] == user["id"]
    assert claims["role"] == "student"
    assert claims["exp"] - claims["iat"] == shared_identity.settings.access_token_ttl_seconds
    uuid.UUID(claims["jti"])

    r = await _me(shared_identity, body["access_token"])
    assert r.status_code == 200, r.text
    assert r.json() == user
    assert r.headers["etag"] == '"1"'
    cached = await shared_identity.client.get(
        f"{API}/users/me", headers={**_bearer(body["access_token"]), "If-None-Match": '"1"'}
    )
    assert cached.status_code == 304


async def test_login_by_username_in_any_case_or_by_email(shared_identity: Identity) -> None:
    user = await shared_identity.register(f"Carol_{uuid.uuid4().hex[:6]}")
    for name in (user["username"].lower(), user["username"].upper(), user["email"].upper()):
        r = await shared_identity.login(name)
        assert r.status_code == 200, (name, r.text)
        assert claims_of(r.json()["access_token"])[1]["sub"] == user["id"]


async def test_grant_type_password_is_accepted_others_are_not(shared_identity: Identity) -> None:
    user = await shared_identity.register()
    form = {"username": user["username"], "password": PASSWORD}
    r = await shared_identity.client.post(
        f"{API}/auth/token", data={**form, "grant_type": "password"}
    )
    assert r.status_code == 200, r.text
    r = await shared_identity.client.post(
        f"{API}/auth/token", data={**form, "grant_type": "client_credentials"}
    )
    assert_problem(r, 422, "grant_type")


async def test_wrong_credentials_are_401(shared_identity: Identity) -> None:
    user = await shared_identity.register()
    r = await shared_identity.login(user["username"], "wrong password", address="10.20.0.1")
    problem = assert_problem(r, 401)
    assert problem["type"].endswith("/invalid-credentials")
    r = await shared_identity.login("nobody_like_this", PASSWORD, address="10.20.0.2")
    assert_problem(r, 401)


async def test_missing_form_fields_are_422(shared_identity: Identity) -> None:
    r = await shared_identity.client.post(f"{API}/auth/token", data={"username": "someone"})
    assert_problem(r, 422, "password")
    r = await shared_identity.client.post(
        f"{API}/auth/token", json={"username": "a", "password": "b"}
    )
    assert_problem(r, 422, "username")


async def test_users_me_needs_a_token(shared_identity: Identity) -> None:
    r = await shared_identity.client.get(f"{API}/users/me")
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


# ---------------------------------------------------------------- forged tokens


async def _claims(identity: Identity, **overrides: Any) -> dict[str, Any]:
    user = await identity.register()
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
        "iss": identity.settings.auth_issuer,
        "aud": identity.settings.auth_audience,
        "sub": user["id"],
        "role": "admin",
        "iat": now,
        "exp": now + dt.timedelta(minutes=5),
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return claims


async def test_a_token_signed_with_our_key_is_accepted(shared_identity: Identity) -> None:
    """The control for the forgeries below: the same recipe with every claim right works."""
    kid, key = await shared_identity.signing_key()
    token = jwt.encode(await _claims(shared_identity), key, "ES256", headers={"kid": kid})
    assert (await _me(shared_identity, token)).status_code == 200


async def test_alg_none_is_refused(shared_identity: Identity) -> None:
    kid, _ = await shared_identity.signing_key()
    claims = await _claims(shared_identity)
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    payload = _b64(json.dumps(claims, default=lambda d: int(d.timestamp())).encode())
    for token in (f"{header}.{payload}.", f"{header}.{payload}"):
        assert_problem(await _me(shared_identity, token), 401)


async def test_hmac_with_the_public_key_is_refused(shared_identity: Identity) -> None:
    kid, key = await shared_identity.signing_key()
    claims = await _claims(shared_identity)
    jwks = (await shared_identity.client.get("/.well-known/jwks.json")).json()
    public_jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    from cryptography.hazmat.primitives import serialization

    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for secret in (pem, json.dumps(public_jwk).encode()):
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
        payload = _b64(json.dumps(claims, default=lambda d: int(d.timestamp())).encode())
        signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        token = f"{header}.{payload}.{_b64(signature)}"
        assert_problem(await _me(shared_identity, token), 401)


async def test_expired_token_is_refused(shared_identity: Identity) -> None:
    kid, key = await shared_identity.signing_key()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    claims = await _claims(shared_identity, iat=past, exp=past + dt.timedelta(minutes=15))
    token = jwt.encode(claims, key, "ES256", headers={"kid": kid})
    problem = assert_problem(await _me(shared_identity, token), 401)
    assert "expired" in problem["detail"]


async def test_wrong_audience_or_issuer_is_refused(shared_identity: Identity) -> None:
    kid, key = await shared_identity.signing_key()
    for override in ({"aud": "someone-else"}, {"iss": "https://evil.example"}):
        claims = await _claims(shared_identity, **override)
        token = jwt.encode(claims, key, "ES256", headers={"kid": kid})
        assert_problem(await _me(shared_identity, token), 401)


async def test_tampered_token_is_refused(shared_identity: Identity) -> None:
    user = await shared_identity.register()
    token = await shared_identity.token(user["username"])
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    assert_problem(await _me(shared_identity, forged), 401)
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert_problem(await _me(shared_identity, f"{header}.{payload}.{flipped}"), 401)


async def test_foreign_key_and_unknown_kid_are_refused(shared_identity: Identity) -> None:
    kid, _ = await shared_identity.signing_key()
    stranger = ec.generate_private_key(ec.SECP256R1())
    claims = await _claims(shared_identity)
    for token_kid in (kid, "no-such-key"):
        token = jwt.encode(claims, stranger, "ES256", headers={"kid": token_kid})
        assert_problem(await _me(shared_identity, token), 401)
    assert_problem(await _me(shared_identity, "not.a.jwt"), 401)


async def test_token_of_a_vanished_account_is_refused(shared_identity: Identity) -> None:
    kid, key = await shared_identity.signing_key()
    claims = await _claims(shared_identity, sub=str(uuid.uuid4()))
    token = jwt.encode(claims, key, "ES256", headers={"kid": kid})
    assert_problem(await _me(shared_identity, token), 401)


# ---------------------------------------------------------------- keys


async def test_jwks_serves_public_keys_only(shared_identity: Identity) -> None:
    r = await shared_identity.client.get("/.well-known/jwks.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/jwk-set+json"
    assert "max-age=" in r.headers["cache-control"]
    document = r.json()
    assert document["keys"]
    for jwk in document["keys"]:
        assert set(jwk) == {"kty", "crv", "x", "y", "kid", "use", "alg"}
        assert jwk["kid"] == keys.thumbprint(jwk)
    assert "PRIVATE" not in r.text
    assert (await shared_identity.client.get(f"{API}/.well-known/jwks.json")).status_code == 404


async def test_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key(
    identity: Identity,
) -> None:
    user = await identity.register()
    old_token = await identity.token(user["username"])
    old_kid = claims_of(old_token)[0]["kid"]

    new_kid = await keys.rotate_signing_key(identity.runtime.unit_of_work(), identity.settings)
    assert new_kid != old_kid
    new_token = await identity.token(user["username"])
    assert claims_of(new_token)[0]["kid"] == new_kid
    for token in (old_token, new_token):
        assert (await _me(identity, token)).status_code == 200
    kids = [k["kid"] for k in (await identity.client.get("/.well-known/jwks.json")).json()["keys"]]
    assert kids == [new_kid, old_kid]

    # Once every token the old key signed has expired, the key leaves the JWKS.
    async with identity.runtime.db.transaction() as session:
        await session.execute(
            update(SigningKey)
            .where(SigningKey.kid == old_kid)
            .values(not_after=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    kids = [k["kid"] for k in (await identity.client.get("/.well-known/jwks.json")).json()["keys"]]
    assert kids == [new_kid]


async def test_rotate_keys_command(identity: Identity) -> None:
    user = await identity.register()
    old_kid = claims_of(await identity.token(user["username"]))[0]["kid"]
    env = {
        **os.environ,
        "DATABASE_URL": identity.settings.database_url,
        "SERVICE_ENV": "test",
        "IDENTITY_KEY_ENCRYPTION_KEY": KEK,
    }
    env.pop("IDENTITY_BOOTSTRAP_ADMIN_USERNAME", None)
    env.pop("IDENTITY_BOOTSTRAP_ADMIN_PASSWORD", None)
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "syllabus_identity", "rotate-keys"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "new signing key" in done.stdout
    # Another process rotated: this one signs with the new key and still accepts the old.
    token = await identity.token(user["username"])
    new_kid = claims_of(token)[0]["kid"]
    assert new_kid != old_kid
    assert new_kid in done.stdout
    assert (await _me(identity, token)).status_code == 200


async def test_openapi_and_operations(shared_identity: Identity) -> None:
    r = await shared_identity.client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert {"/api/v1/auth/register", "/api/v1/auth/token", "/api/v1/users/me"} <= paths.keys()
    # The JWKS is documented with the media type it is served as (RFC 7517).
    jwks_200 = paths["/.well-known/jwks.json"]["get"]["responses"]["200"]["content"]
    assert list(jwks_200) == ["application/jwk-set+json"]
    assert {"/api/v1/users/me", "/api/v1/users/{user_id}"} <= {
        path for path, item in paths.items() if "delete" in item
    }
    token_form = paths["/api/v1/auth/token"]["post"]["requestBody"]["content"]
    assert "application/x-www-form-urlencoded" in token_form
    assert (await shared_identity.client.get("/healthz")).status_code == 200
    assert (await shared_identity.client.get("/readyz")).status_code in (200, 503)

"""Token verification: the checks every service relies on."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import pytest
from syllabus_devkit.testing.tokens import TokenFactory
from syllabus_shared.auth import KeySet, Role, TokenVerifier
from syllabus_shared.problems import Problem


@pytest.fixture
def verifier(tokens: TokenFactory) -> TokenVerifier:
    return TokenVerifier(
        KeySet(jwks_json=tokens.jwks_json), issuer=tokens.issuer, audience=tokens.audience
    )


async def rejected(verifier: TokenVerifier, token: str) -> Problem:
    with pytest.raises(Problem) as info:
        await verifier.verify(token)
    assert info.value.status == 401
    assert "Bearer" in info.value.headers["WWW-Authenticate"]
    return info.value


async def test_valid_token_gives_the_principal(
    tokens: TokenFactory, verifier: TokenVerifier
) -> None:
    uid = uuid.uuid4()
    who = await verifier.verify(tokens.token(uid, "instructor"))
    assert who.user_id == uid and who.role is Role.instructor and who.is_staff and not who.is_admin


async def test_expired_token_is_refused(tokens: TokenFactory, verifier: TokenVerifier) -> None:
    problem = await rejected(verifier, tokens.token(role="admin", expires_in=-60))
    assert "expired" in problem.detail


@pytest.mark.parametrize(
    ("claim", "value"), [("aud", "someone-else"), ("iss", "evil"), ("role", "superuser")]
)
async def test_wrong_claims_are_refused(
    tokens: TokenFactory, verifier: TokenVerifier, claim: str, value: str
) -> None:
    role = value if claim == "role" else "admin"
    extra = {} if claim == "role" else {claim: value}
    await rejected(verifier, tokens.token(role=role, **extra))


async def test_alg_none_is_refused(tokens: TokenFactory, verifier: TokenVerifier) -> None:
    def b64(d: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {
        "sub": str(uuid.uuid4()),
        "role": "admin",
        "iss": tokens.issuer,
        "aud": tokens.audience,
        "iat": now,
        "exp": now + 600,
    }
    token = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': tokens.kid})}.{b64(claims)}."
    await rejected(verifier, token)


async def test_hmac_signed_with_the_public_key_is_refused(
    tokens: TokenFactory, verifier: TokenVerifier
) -> None:
    from cryptography.hazmat.primitives import serialization

    public_pem = tokens.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": str(uuid.uuid4()),
        "role": "admin",
        "iss": tokens.issuer,
        "aud": tokens.audience,
        "iat": now,
        "exp": now + dt.timedelta(minutes=5),
    }
    # PyJWT itself refuses to HMAC with a PEM key, so sign by hand as an attacker would.
    import hashlib
    import hmac

    header = base64.urlsafe_b64encode(
        json.dumps({"alg": "HS256", "typ": "JWT", "kid": tokens.kid}).encode()
    ).rstrip(b"=")
    payload = base64.urlsafe_b64encode(
        json.dumps(claims, default=lambda d: int(d.timestamp())).encode()
    ).rstrip(b"=")
    sig = base64.urlsafe_b64encode(
        hmac.new(public_pem, header + b"." + payload, hashlib.sha256).digest()
    ).rstrip(b"=")
    await rejected(verifier, b".".join([header, payload, sig]).decode())


async def test_token_from_another_key_is_refused(
    tokens: TokenFactory, verifier: TokenVerifier
) -> None:
    forger = TokenFactory()
    forger.kid = tokens.kid  # claims to be our key
    await rejected(verifier, forger.token(role="admin"))
    await rejected(verifier, TokenFactory().token(role="admin"))  # unknown kid


async def test_tampered_payload_is_refused(tokens: TokenFactory, verifier: TokenVerifier) -> None:
    header, payload, sig = tokens.token(role="student").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    await rejected(verifier, f"{header}.{forged}.{sig}")


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "x" * 5000])
async def test_garbage_is_refused(verifier: TokenVerifier, garbage: str) -> None:
    await rejected(verifier, garbage)


async def test_keys_are_fetched_from_jwks_url_and_refetched_for_a_new_kid(
    tokens: TokenFactory,
) -> None:
    import asyncio

    import uvicorn
    from fastapi import FastAPI
    from syllabus_devkit.embedded import find_free_port

    current = {"doc": tokens.jwks}
    jwks_app = FastAPI()
    fetches = []

    @jwks_app.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, object]:
        fetches.append(1)
        return current["doc"]

    port = find_free_port()
    server = uvicorn.Server(
        uvicorn.Config(jwks_app, host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        verifier = TokenVerifier(
            KeySet(jwks_url=f"http://127.0.0.1:{port}/.well-known/jwks.json", refetch_interval=0.0),
            issuer=tokens.issuer,
            audience=tokens.audience,
        )
        await verifier.verify(tokens.token(role="student"))
        await verifier.verify(tokens.token(role="student"))
        assert len(fetches) == 1  # cached
        rotated = TokenFactory()
        current["doc"] = {"keys": tokens.jwks["keys"] + rotated.jwks["keys"]}
        await verifier.verify(rotated.token(role="student"))  # unknown kid → refetch → accepted
        assert len(fetches) == 2
    finally:
        server.should_exit = True
        await task

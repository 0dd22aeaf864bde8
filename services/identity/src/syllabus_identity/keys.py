"""Access-token signing keys: ES256 key pairs in identity's own database, and the JWKS.

- The newest key without ``retired_at`` signs every new token (ES256, header ``kid``).
- ``rotate-keys`` adds a new signing key and retires the old one; a retired key stays in
  the JWKS until ``not_after`` = retirement + token lifetime + leeway, i.e. until every
  token it signed has expired. Other services refetch the JWKS when they meet an unknown
  ``kid``, so tokens from the new key verify everywhere at once.
- Creating or rotating keys holds an advisory lock: two replicas starting together make
  one key, not two.
- Private keys are stored as unencrypted PKCS#8 PEM: whoever can read identity's
  database can mint tokens, so that database is as secret as the keys.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from syllabus_shared.auth import KeySet, TokenVerifier
from syllabus_shared.db import Database
from syllabus_shared.ids import new_id
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_identity.models import SigningKey, User
from syllabus_identity.schemas import AccessToken
from syllabus_identity.settings import Settings

ALGORITHM = "ES256"
# pg_advisory_xact_lock key for creating/rotating signing keys ("SYLKEYS" as digits).
SIGNING_KEYS_LOCK = 7_957_537_011
JWKS_MAX_AGE_SECONDS = 60


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint of an EC public key: a ``kid`` derived from the key itself."""
    members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode())
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def new_signing_key() -> SigningKey:
    private_key = ec.generate_private_key(ec.SECP256R1())
    jwk: dict[str, Any] = dict(ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True))
    kid = thumbprint(jwk)
    jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return SigningKey(kid=kid, private_key_pem=pem, public_jwk=jwk)


async def _lock_keys(session: AsyncSession) -> None:
    await session.execute(select(func.pg_advisory_xact_lock(SIGNING_KEYS_LOCK)))


async def ensure_signing_key(uow: UnitOfWork) -> str:
    """Make sure a signing key exists (start-up); returns the signing ``kid``."""
    async with uow:
        session = uow.session
        await _lock_keys(session)
        kid = await session.scalar(_signing_kid())
        if kid is None:
            key = new_signing_key()
            session.add(key)
            kid = key.kid
        return kid


async def rotate_signing_key(uow: UnitOfWork, settings: Settings) -> str:
    """Retire the signing key(s) and add a new one; returns the new ``kid``."""
    async with uow:
        session = uow.session
        await _lock_keys(session)
        now = await session.scalar(select(func.now()))
        assert now is not None
        lifetime = dt.timedelta(
            seconds=settings.access_token_ttl_seconds + settings.auth_leeway_seconds
        )
        await session.execute(
            update(SigningKey)
            .where(col(SigningKey.retired_at).is_(None))
            .values(retired_at=now, not_after=now + lifetime)
        )
        key = new_signing_key()
        session.add(key)
        return key.kid


def _signing_kid() -> Select[str]:
    return (
        select(col(SigningKey.kid))
        .where(col(SigningKey.retired_at).is_(None))
        .order_by(col(SigningKey.created_at).desc(), SigningKey.kid)
        .limit(1)
    )


async def public_jwks(session: AsyncSession) -> dict[str, Any]:
    """The JWKS: public halves of the signing key and of retired keys still in use."""
    rows = await session.scalars(
        select(col(SigningKey.public_jwk))
        .where(or_(col(SigningKey.not_after).is_(None), col(SigningKey.not_after) > func.now()))
        .order_by(col(SigningKey.created_at).desc())
    )
    # Only the public members, whatever the stored document holds.
    public = ("kty", "crv", "x", "y", "kid", "use", "alg")
    return {"keys": [{k: jwk[k] for k in public if k in jwk} for jwk in rows]}


class TokenSigner:
    """Mints access tokens with the current signing key (parsed keys are cached by ``kid``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._private_keys: dict[str, ec.EllipticCurvePrivateKey] = {}

    async def _signing_key(self, session: AsyncSession) -> tuple[str, ec.EllipticCurvePrivateKey]:
        # Read on every login: a rotation by another process takes effect at once.
        kid = await session.scalar(_signing_kid())
        if kid is None:
            raise RuntimeError("no signing key: identity did not start properly")
        if kid not in self._private_keys:
            pem = await session.scalar(
                select(col(SigningKey.private_key_pem)).where(col(SigningKey.kid) == kid)
            )
            assert pem is not None
            key = serialization.load_pem_private_key(pem.encode(), password=None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            self._private_keys[kid] = key
        return kid, self._private_keys[kid]

    async def issue(self, session: AsyncSession, user: User) -> AccessToken:
        kid, key = await self._signing_key(session)
        now = dt.datetime.now(dt.UTC)
        ttl = self.settings.access_token_ttl_seconds
        claims = {
            "iss": self.settings.auth_issuer,
            "aud": self.settings.auth_audience,
            "sub": str(user.id),
            "role": user.role,
            "iat": now,
            "exp": now + dt.timedelta(seconds=ttl),
            "jti": str(new_id()),
        }
        token = jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})
        return AccessToken(access_token=token, expires_in=ttl)


def database_verifier(db: Database, settings: Settings) -> TokenVerifier:
    """The kernel's verifier fed from identity's own keys (identity has no JWKS URL to fetch).

    An unknown ``kid`` rereads the keys at once (no refetch interval): the read is a small
    local query, like the one any authenticated request makes anyway.
    """

    async def load() -> dict[str, Any]:
        async with db.transaction() as session:
            return await public_jwks(session)

    return TokenVerifier(
        KeySet(loader=load, refetch_interval=0.0),
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        leeway=settings.auth_leeway_seconds,
    )

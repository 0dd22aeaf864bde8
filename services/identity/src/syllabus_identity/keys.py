"""Access-token signing keys: ES256 key pairs in identity's own database, and the JWKS.

- The newest key without ``retired_at`` signs every new token (ES256, header ``kid``).
- ``rotate-keys`` adds a new signing key and retires the old one; a retired key stays in
  the JWKS until ``not_after`` = retirement + token lifetime + leeway, i.e. until every
  token it signed has expired. Other services refetch the JWKS when they meet an unknown
  ``kid``, so tokens from the new key verify everywhere at once.
- Creating or rotating keys holds an advisory lock: two replicas starting together make
  one key, not two.
- Private keys are sealed at rest (:class:`KeyEncryption`): AES-256-GCM under a
  key-encryption key (KEK) from the environment, ``IDENTITY_KEY_ENCRYPTION_KEY``, with the
  ``kid`` as associated data (a sealed key cannot be moved to another row). A dump or a
  backup of identity's database holds no usable private key; minting tokens also needs
  the KEK, which lives outside the database (a Secret). Start-up seals keys that are still
  in clear and re-seals those sealed with ``IDENTITY_KEY_ENCRYPTION_KEY_PREVIOUS`` (KEK
  rotation); a key sealed with a KEK identity was not given stops start-up with an error.
  Without any KEK (development only; production refuses to start) keys stay in clear.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from jwt.algorithms import ECAlgorithm
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from syllabus_shared.accounts import RevokedUsers
from syllabus_shared.auth import KeySet, TokenVerifier
from syllabus_shared.db import Database
from syllabus_shared.ids import new_id
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_identity.models import SigningKey, User
from syllabus_identity.settings import Settings

ALGORITHM = "ES256"
# pg_advisory_xact_lock key for creating/rotating signing keys ("SYLKEYS" as digits).
SIGNING_KEYS_LOCK = 7_957_537_011
JWKS_MAX_AGE_SECONDS = 60

log = logging.getLogger("syllabus.identity.keys")


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint of an EC public key: a ``kid`` derived from the key itself."""
    members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode())
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


# ---------------------------------------------------------------- sealing at rest


class SealedKeyError(RuntimeError):
    """A private signing key that this process cannot open (a start-up error)."""


def kek_id(kek: bytes) -> str:
    """A public name of a key-encryption key (stored beside what it sealed): tells which
    KEK a key needs without revealing anything about the KEK itself."""
    return hashlib.sha256(b"syllabus-identity-kek\x00" + kek).hexdigest()[:16]


def _associated_data(kid: str) -> bytes:
    return b"syllabus-identity-signing-key\x00" + kid.encode()


def _private_der(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _private_key(loaded: object, kid: str) -> ec.EllipticCurvePrivateKey:
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise SealedKeyError(f"signing key {kid} is not an EC private key")
    return loaded


@dataclass(frozen=True)
class KeyEncryption:
    """Seals and opens private signing keys with the key-encryption keys (KEKs).

    ``current`` seals (and opens what it sealed); ``previous`` only opens, during a KEK
    rotation. A sealed key is ``nonce (12 bytes) || AES-256-GCM(PKCS#8 DER)`` with
    associated data naming its ``kid``; ``sealed_with`` is the sealing KEK's id.
    """

    current: bytes | None = None
    previous: bytes | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyEncryption:
        return cls(settings.key_encryption_key, settings.previous_key_encryption_key)

    @property
    def sealing(self) -> bool:
        return self.current is not None

    def _keks(self) -> dict[str, bytes]:
        return {kek_id(k): k for k in (self.previous, self.current) if k is not None}

    def seal_into(self, row: SigningKey, key: ec.EllipticCurvePrivateKey) -> None:
        """Store ``key`` in ``row``: sealed with the current KEK, or in clear without one."""
        if self.current is None:
            row.private_key_pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
            row.private_key_sealed = row.sealed_with = None
            return
        nonce = os.urandom(12)
        sealed = AESGCM(self.current).encrypt(nonce, _private_der(key), _associated_data(row.kid))
        row.private_key_sealed = nonce + sealed
        row.sealed_with = kek_id(self.current)
        row.private_key_pem = None

    def open(
        self, kid: str, pem: str | None, sealed: bytes | None, sealed_with: str | None
    ) -> ec.EllipticCurvePrivateKey:
        """The private key of a ``signing_keys`` row; :class:`SealedKeyError` when this
        process has not the KEK that sealed it (or the sealed bytes were tampered with)."""
        if sealed is None:
            if pem is None:
                raise SealedKeyError(f"signing key {kid} has no private key")
            return _private_key(serialization.load_pem_private_key(pem.encode(), None), kid)
        keks = self._keks()
        kek = keks.get(sealed_with or "")
        if kek is None:
            given = ", ".join(
                f"{name}={kek_id(k)}"
                for name, k in (
                    ("IDENTITY_KEY_ENCRYPTION_KEY", self.current),
                    ("IDENTITY_KEY_ENCRYPTION_KEY_PREVIOUS", self.previous),
                )
                if k is not None
            )
            raise SealedKeyError(
                f"signing key {kid} is sealed with key-encryption key {sealed_with}, which "
                f"identity was not given ({given or 'IDENTITY_KEY_ENCRYPTION_KEY is not set'}):"
                " start identity with the key-encryption key that sealed it (during a"
                " rotation, as IDENTITY_KEY_ENCRYPTION_KEY_PREVIOUS)"
            )
        try:
            der = AESGCM(kek).decrypt(sealed[:12], sealed[12:], _associated_data(kid))
        except InvalidTag:
            raise SealedKeyError(
                f"signing key {kid} does not open with key-encryption key {sealed_with}: "
                "the sealed bytes were altered or belong to another key"
            ) from None
        return _private_key(serialization.load_der_private_key(der, None), kid)


def new_signing_key(keks: KeyEncryption) -> SigningKey:
    private_key = ec.generate_private_key(ec.SECP256R1())
    jwk: dict[str, Any] = dict(ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True))
    kid = thumbprint(jwk)
    jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
    row = SigningKey(kid=kid, public_jwk=jwk)
    keks.seal_into(row, private_key)
    return row


async def _lock_keys(session: AsyncSession) -> None:
    await session.execute(select(func.pg_advisory_xact_lock(SIGNING_KEYS_LOCK)))


async def _seal_existing(session: AsyncSession, keks: KeyEncryption) -> None:
    """Open every stored key (so a missing or wrong KEK stops start-up, not a login), seal
    those still in clear and re-seal those sealed with another (the previous) KEK."""
    current = kek_id(keks.current) if keks.current is not None else None
    rows = (await session.scalars(select(SigningKey).order_by(col(SigningKey.kid)))).all()
    resealed = 0
    for row in rows:
        key = keks.open(row.kid, row.private_key_pem, row.private_key_sealed, row.sealed_with)
        if current is not None and row.sealed_with != current:
            keks.seal_into(row, key)
            resealed += 1
    if resealed:
        log.info("sealed %d signing key(s) with key-encryption key %s", resealed, current)
    if current is None and rows:
        log.warning(
            "IDENTITY_KEY_ENCRYPTION_KEY is not set: private signing keys are kept in clear "
            "in identity's database (development only; production refuses to start)"
        )


async def ensure_signing_key(uow: UnitOfWork, keks: KeyEncryption) -> str:
    """Start-up: every stored key sealed with the current KEK (or a clear error), and a
    signing key present; returns the signing ``kid``."""
    async with uow:
        session = uow.session
        await _lock_keys(session)
        await _seal_existing(session, keks)
        kid = await session.scalar(_signing_kid())
        if kid is None:
            key = new_signing_key(keks)
            session.add(key)
            kid = key.kid
        return kid


async def rotate_signing_key(uow: UnitOfWork, settings: Settings) -> str:
    """Retire the signing key(s) and add a new one; returns the new ``kid``. Refused
    (:class:`SealedKeyError`) without the key-encryption key that sealed the others."""
    keks = KeyEncryption.from_settings(settings)
    async with uow:
        session = uow.session
        await _lock_keys(session)
        await _seal_existing(session, keks)
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
        key = new_signing_key(keks)
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


@dataclass(frozen=True)
class SignedToken:
    """An access token and its lifetime in seconds."""

    token: str
    expires_in: int


class TokenSigner:
    """Mints access tokens with the current signing key (parsed keys are cached by ``kid``)."""

    def __init__(self, settings: Settings, keks: KeyEncryption | None = None) -> None:
        self.settings = settings
        self.keks = keks or KeyEncryption.from_settings(settings)
        self._private_keys: dict[str, ec.EllipticCurvePrivateKey] = {}

    async def _signing_key(self, session: AsyncSession) -> tuple[str, ec.EllipticCurvePrivateKey]:
        # Read on every login: a rotation by another process takes effect at once.
        kid = await session.scalar(_signing_kid())
        if kid is None:
            raise RuntimeError("no signing key: identity did not start properly")
        if kid not in self._private_keys:
            row = (
                await session.execute(
                    select(
                        col(SigningKey.private_key_pem),
                        col(SigningKey.private_key_sealed),
                        col(SigningKey.sealed_with),
                    ).where(col(SigningKey.kid) == kid)
                )
            ).one()
            self._private_keys[kid] = self.keks.open(
                kid, row.private_key_pem, row.private_key_sealed, row.sealed_with
            )
        return kid, self._private_keys[kid]

    async def issue(self, session: AsyncSession, user: User) -> SignedToken:
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
        return SignedToken(token, ttl)


def database_verifier(
    db: Database, settings: Settings, revoked: RevokedUsers | None = None
) -> TokenVerifier:
    """The kernel's verifier fed from identity's own keys (identity has no JWKS URL to fetch),
    refusing the tokens of deleted accounts (``revoked``).

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
        revoked=revoked.revoked if revoked is not None else None,
    )

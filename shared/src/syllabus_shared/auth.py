"""Access-token verification, done by every service itself.

Tokens are JWTs signed by identity with an asymmetric key (ES256). We verify the
signature against identity's JWKS (cached; refetched when an unknown ``kid``
appears, at most every few seconds), plus issuer, audience and expiry. Only
asymmetric algorithms are accepted, so ``alg: none`` and HMAC-with-the-public-key
tokens are refused before any key is used.
"""

from __future__ import annotations

import asyncio
import enum
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request
from jwt import PyJWK

from syllabus_shared.problems import Problem

ALLOWED_ALGORITHMS = ["ES256"]


class Role(enum.StrEnum):
    admin = "admin"
    instructor = "instructor"
    student = "student"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: uuid.UUID
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    @property
    def is_staff(self) -> bool:
        """May author content (instructors and admins)."""
        return self.role in (Role.admin, Role.instructor)


def unauthorized(detail: str) -> Problem:
    return Problem(
        401, detail, kind="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="syllabus"'}
    )


JwksLoader = Callable[[], Awaitable[dict[str, Any]]]


class KeySet:
    """Public verification keys by ``kid``: a static JWKS or one fetched from identity.

    ``loader`` replaces the HTTP fetch with any coroutine returning a JWKS document
    (identity reads its own keys from its database); it is called when an unknown
    ``kid`` appears, like a fetch.
    """

    def __init__(
        self,
        *,
        jwks_url: str | None = None,
        jwks_json: str | None = None,
        loader: JwksLoader | None = None,
        refetch_interval: float = 5.0,
    ) -> None:
        if not jwks_url and not jwks_json and loader is None:
            raise ValueError("a JWKS URL, a static JWKS document or a loader is required")
        self.jwks_url = jwks_url
        self._loader = loader
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = 0.0
        self._refetch_interval = refetch_interval
        self._lock = asyncio.Lock()
        if jwks_json:
            self._load(json.loads(jwks_json))

    def _load(self, document: dict[str, Any]) -> None:
        keys: dict[str, PyJWK] = {}
        for jwk in document.get("keys", []):
            if jwk.get("kid") and jwk.get("kty") == "EC":
                keys[jwk["kid"]] = PyJWK(jwk, algorithm="ES256")
        self._keys = keys

    def loaded(self, kid: str) -> PyJWK | None:
        """The key for ``kid`` as loaded now, never fetching."""
        return self._keys.get(kid)

    async def key(self, kid: str) -> PyJWK | None:
        if kid in self._keys:
            return self._keys[kid]
        if self.jwks_url is None and self._loader is None:
            return None
        async with self._lock:
            # An unknown kid may be a freshly rotated key: refetch, but not on every
            # request (a flood of forged kids must not become a flood of fetches).
            if (
                kid not in self._keys
                and time.monotonic() - self._fetched_at > self._refetch_interval
            ):
                await self._fetch()
        return self._keys.get(kid)

    async def _fetch(self) -> None:
        self._fetched_at = time.monotonic()
        if self._loader is not None:
            self._load(await self._loader())
            return
        assert self.jwks_url
        try:
            async with httpx.AsyncClient(timeout=3.0) as client:
                response = await client.get(self.jwks_url)
                response.raise_for_status()
                self._load(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            raise Problem(
                503,
                "token keys are unavailable",
                kind="unavailable",
                headers={"Retry-After": "2"},
            ) from exc


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    kid: str
    key: PyJWK  # the key that verified it: the entry is dropped once that key is
    until: float  # exp + leeway: when jwt.decode would start refusing it


class TokenVerifier:
    """Verifies access tokens; remembers verified ones (by their exact string) until they
    expire, so a client's repeated requests cost one signature check, not one each.

    A remembered token is accepted only while the key that verified it is still the one
    loaded for its ``kid`` (a refetched JWKS without that key drops it) and until its
    ``exp`` plus leeway, exactly when :func:`jwt.decode` would start refusing it. At most
    ``cache_size`` tokens are kept (least recently used dropped first); failures are
    never remembered.
    """

    def __init__(
        self,
        keys: KeySet,
        *,
        issuer: str,
        audience: str,
        leeway: int = 10,
        cache_size: int = 10_000,
        revoked: Callable[[uuid.UUID], bool] | None = None,
    ) -> None:
        self.keys = keys
        # Deleted accounts (syllabus_shared.accounts.RevokedUsers.revoked): their tokens
        # are refused, remembered ones included.
        self.revoked = revoked
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.cache_size = cache_size
        self._verified: OrderedDict[str, _Verified] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        hit = self._verified.get(token)
        if hit is not None:
            if time.time() < hit.until and self.keys.loaded(hit.kid) is hit.key:
                self._verified.move_to_end(token)
                self._refuse_deleted(hit.principal)
                return hit.principal
            del self._verified[token]
        principal, verified = await self._verify(token)
        self._refuse_deleted(principal)
        if self.cache_size > 0:
            self._verified[token] = verified
            if len(self._verified) > self.cache_size:
                self._verified.popitem(last=False)
        return principal

    def _refuse_deleted(self, principal: Principal) -> None:
        if self.revoked is not None and self.revoked(principal.user_id):
            raise unauthorized("this account was deleted")

    async def _verify(self, token: str) -> tuple[Principal, _Verified]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise unauthorized("malformed access token") from exc
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise unauthorized("token algorithm not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise unauthorized("token has no key id")
        key = await self.keys.key(kid)
        if key is None:
            raise unauthorized("token signed by an unknown key")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=ALLOWED_ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
            principal = Principal(user_id=uuid.UUID(claims["sub"]), role=Role(claims["role"]))
            until = float(claims["exp"]) + self.leeway
        except jwt.ExpiredSignatureError as exc:
            raise unauthorized("token expired") from exc
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
            raise unauthorized("invalid access token") from exc
        return principal, _Verified(principal, kid, key, until)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("expected a Bearer token")
    return token.strip()


async def optional_principal(request: Request) -> Principal | None:
    """The caller, or ``None`` for a guest. An invalid token is a 401, never a guest."""
    token = _bearer(request)
    if token is None:
        return None
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verifier.verify(token)


async def require_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise unauthorized("authentication required")
    return principal


def require_roles(*roles: Role) -> Any:
    async def dependency(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
        if principal.role not in roles:
            raise Problem(403, "your role may not do this", kind="forbidden")
        return principal

    return Depends(dependency)


MaybeUser = Annotated[Principal | None, Depends(optional_principal)]
CurrentUser = Annotated[Principal, Depends(require_principal)]
Staff = Annotated[Principal, require_roles(Role.instructor, Role.admin)]
Admin = Annotated[Principal, require_roles(Role.admin)]
Student = Annotated[Principal, require_roles(Role.student)]

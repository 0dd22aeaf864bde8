"""A test token issuer: a real ES256 key pair, real JWTs, a real JWKS document."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm


class TokenFactory:
    def __init__(self, issuer: str = "syllabus-identity", audience: str = "syllabus") -> None:
        self.issuer = issuer
        self.audience = audience
        self.kid = f"test-{uuid.uuid4().hex[:8]}"
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        jwk = json.loads(ECAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "ES256"})
        self.jwks: dict[str, Any] = {"keys": [jwk]}

    @property
    def jwks_json(self) -> str:
        return json.dumps(self.jwks)

    def token(
        self,
        user_id: uuid.UUID | None = None,
        role: str = "student",
        *,
        expires_in: int = 900,
        **overrides: Any,
    ) -> str:
        now = dt.datetime.now(dt.UTC)
        claims: dict[str, Any] = {
            "sub": str(user_id or uuid.uuid4()),
            "role": role,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + dt.timedelta(seconds=expires_in),
        }
        claims.update(overrides)
        return jwt.encode(claims, self.private_key, algorithm="ES256", headers={"kid": self.kid})

    def headers(self, user_id: uuid.UUID | None = None, role: str = "student") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, role)}"}

"""Identity API shapes. Validation lives once, in the base classes; no shape carries a hash."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, StringConstraints
from syllabus_shared.auth import Role

from syllabus_identity import rules

Username = Annotated[
    str,
    StringConstraints(
        min_length=rules.USERNAME_MIN, max_length=rules.USERNAME_MAX, pattern=rules.USERNAME_CHARS
    ),
]
Password = Annotated[
    str, StringConstraints(min_length=rules.PASSWORD_MIN, max_length=rules.PASSWORD_MAX)
]
DisplayName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=rules.DISPLAY_NAME_MAX,
        pattern=rules.NO_CONTROL_CHARS,
    ),
]
Email = Annotated[EmailStr, AfterValidator(rules.normal_email)]


class _Input(BaseModel):
    # Unknown fields are refused: registering with {"role": "admin"} is an error, not a no-op.
    model_config = ConfigDict(extra="forbid")


class UserRegister(_Input):
    username: Username
    email: Email
    password: Password
    display_name: DisplayName | None = None


class UserUpdate(_Input):
    role: Role | None = None
    display_name: DisplayName | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    email: str
    display_name: str
    role: Role
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class AccessToken(BaseModel):
    """RFC 6749 section 5.1 token response: an access token (``expires_in`` seconds) and the
    refresh token that gets the next pair (opaque; ``refresh_expires_in`` seconds)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


# A refresh token as a client may send it: what we issue is 43 URL-safe characters; the
# bound only keeps a client from making us hash a megabyte.
RefreshTokenText = Annotated[
    str, StringConstraints(min_length=1, max_length=rules.REFRESH_TOKEN_MAX)
]


class Logout(_Input):
    refresh_token: RefreshTokenText


class PublicJwk(BaseModel):
    """The public members of an ES256 signing key (RFC 7517/7518)."""

    kty: Literal["EC"]
    crv: Literal["P-256"]
    x: str
    y: str
    kid: str
    use: Literal["sig"]
    alg: Literal["ES256"]


class JwkSet(BaseModel):
    keys: list[PublicJwk]

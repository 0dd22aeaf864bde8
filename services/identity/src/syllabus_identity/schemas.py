"""Identity API shapes. Validation lives once, in the base classes; no shape carries a hash."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, StringConstraints
from syllabus_shared.auth import Role

Username = Annotated[
    str, StringConstraints(min_length=3, max_length=150, pattern=r"^[A-Za-z0-9_]+$")
]
# 8 characters at least; 1024 at most, so nobody makes us hash a megabyte.
Password = Annotated[str, StringConstraints(min_length=8, max_length=1024)]
# No control characters (PostgreSQL text cannot even hold NUL).
DisplayName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
# Email addresses are unique case-insensitively: stored (and compared) lower-case.
Email = Annotated[EmailStr, AfterValidator(str.lower)]


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
    """RFC 6749 section 5.1 token response."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int

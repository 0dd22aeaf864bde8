"""Identity API shapes. Validation lives once, in the base classes; no shape carries a hash."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    StringConstraints,
)
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


# ---------------------------------------------------------------- groups


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL: refused here (422), not by the database (500).
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _at_most_bulk(value: object) -> object:
    # Before the items are parsed: 1,001 ids are refused for their number, with the limit.
    if isinstance(value, list) and len(value) > rules.BULK_MAX:
        raise ValueError(
            f"at most {rules.BULK_MAX:,} user ids per request ({len(value):,} sent);"
            " split the list into several requests"
        )
    return value


# Trimmed; 1-200 characters, none of them control characters. Unique case-insensitively.
GroupName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=rules.GROUP_NAME_MAX,
        pattern=rules.NO_CONTROL_CHARS,
    ),
]
NoNul = AfterValidator(_no_nul)
GroupDescription = Annotated[str, StringConstraints(max_length=rules.GROUP_DESCRIPTION_MAX), NoNul]


class GroupCreate(_Input):
    name: GroupName
    description: GroupDescription | None = None


class GroupUpdate(_Input):
    name: GroupName | None = None
    description: GroupDescription | None = None  # null clears it


class GroupPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    creator_id: uuid.UUID | None
    member_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class GroupMember(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: uuid.UUID
    username: str
    display_name: str
    added_at: dt.datetime


class GroupMembersAdd(_Input):
    user_ids: Annotated[list[uuid.UUID], BeforeValidator(_at_most_bulk)]


class GroupMembersAdded(BaseModel):
    """What a bulk add did, each a list of user ids in the order they were sent (once
    each): ``added`` now members, ``already_members`` members before, ``unknown_user_ids``
    no such account (nothing done for them)."""

    added: list[uuid.UUID]
    already_members: list[uuid.UUID]
    unknown_user_ids: list[uuid.UUID]


class DirectoryEntry(BaseModel):
    """A person as staff may look them up: never their email or role."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str

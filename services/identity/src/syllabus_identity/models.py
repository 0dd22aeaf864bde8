"""Identity tables: users, token signing keys, failed logins (for throttling), and refresh
tokens (sign-in sessions)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel
from syllabus_shared.db import Entity, new_metadata
from syllabus_shared.ids import new_id
from syllabus_shared.messaging.tables import kernel_tables


class IdentityTable(SQLModel):
    """The base of identity's tables: carries identity's own MetaData."""

    metadata = new_metadata()


METADATA = IdentityTable.metadata
TABLES = kernel_tables(METADATA)


class User(IdentityTable, Entity, table=True):
    """An account. ``username`` keeps the case it was registered with but is unique
    case-insensitively; ``email`` is stored lower-case."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'instructor', 'student')", name="role"),
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        Index("uq_users_username_lower", text("lower(username)"), unique=True),
        Index("ix_users_role_id", "role", "id"),
    )

    username: str = Field(sa_type=String(150))
    email: str = Field(sa_type=String(320), unique=True)
    display_name: str = Field(sa_type=String(200))
    role: str = Field(
        default="student", sa_type=String(16), sa_column_kwargs={"server_default": "student"}
    )
    password_hash: str = Field(sa_type=Text)


class SigningKey(IdentityTable, table=True):
    """An ES256 key pair that signs access tokens.

    The newest key without ``retired_at`` signs; a retired key stays in the JWKS until
    ``not_after`` (retirement + the longest token lifetime), when every token it signed
    has expired.

    The private half is sealed (``keys.KeyEncryption``): ``private_key_sealed`` is the
    AES-256-GCM nonce and ciphertext of its PKCS#8 DER, under the key-encryption key whose
    id is ``sealed_with``, with the ``kid`` as associated data. ``private_key_pem`` (clear
    PKCS#8 PEM) is only ever set where identity runs without a key-encryption key
    (development); start-up seals it as soon as one is configured.
    """

    __tablename__ = "signing_keys"
    __table_args__ = (
        CheckConstraint(
            "(private_key_pem IS NULL) <> (private_key_sealed IS NULL)", name="one_private_key"
        ),
        CheckConstraint(
            "(private_key_sealed IS NULL) = (sealed_with IS NULL)", name="sealed_with_a_key"
        ),
    )

    kid: str = Field(sa_type=String(64), primary_key=True)
    private_key_pem: str | None = Field(default=None, sa_type=Text)
    private_key_sealed: bytes | None = Field(default=None, sa_type=LargeBinary)
    sealed_with: str | None = Field(default=None, sa_type=String(64))
    public_jwk: dict[str, Any] = Field(sa_type=JSONB)
    # Set by the database (None until the row is inserted and read back).
    created_at: dt.datetime | None = Field(
        default=None,
        nullable=False,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now()},
    )
    retired_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    not_after: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class LoginFailure(IdentityTable, table=True):
    """One failed (or still running) password check; rows older than the window are dead."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_account_address", "account", "client_address", "failed_at"),
        Index("ix_login_failures_address", "client_address", "failed_at"),
        Index("ix_login_failures_failed_at", "failed_at"),
    )

    id: int | None = Field(
        default=None, primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": True}
    )
    # "user:<id>" for an existing account, else "name:<what was typed, lower-cased>".
    account: str = Field(sa_type=Text)
    client_address: str = Field(sa_type=Text)
    failed_at: dt.datetime = Field(
        sa_type=DateTime(timezone=True), sa_column_kwargs={"server_default": func.now()}
    )


class RefreshToken(IdentityTable, table=True):
    """One refresh token of a sign-in (``sessions``); only its SHA-256 is stored.

    A password sign-in starts a family (``family_id``, the id of its first token); each
    refresh marks the presented token ``used_at`` and adds the next one to the family. A
    used token presented again revokes the whole family (``revoked_at``). Rows are deleted
    once expired (by the way, a bounded batch per sign-in) and with their account.
    """

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        Index("ix_refresh_tokens_family_id", "family_id"),
        Index("ix_refresh_tokens_user_id", "user_id"),
        Index("ix_refresh_tokens_expires_at", "expires_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # SHA-256 of the token (32 bytes): enough to recognise it, useless to present.
    token_hash: bytes = Field(sa_type=LargeBinary, unique=True)
    family_id: uuid.UUID = Field(sa_type=Uuid)
    user_id: uuid.UUID = Field(
        sa_type=Uuid,
        sa_column_args=[ForeignKey("users.id", ondelete="CASCADE")],
    )
    issued_at: dt.datetime = Field(
        sa_type=DateTime(timezone=True), sa_column_kwargs={"server_default": func.now()}
    )
    expires_at: dt.datetime = Field(sa_type=DateTime(timezone=True))
    used_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    revoked_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))

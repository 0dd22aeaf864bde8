"""Identity tables: users, token signing keys, and failed logins (for throttling)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from syllabus_shared.db import EntityMixin, new_metadata
from syllabus_shared.messaging.tables import kernel_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


TABLES = kernel_tables(Base.metadata)


class User(EntityMixin, Base):
    """An account. ``username`` keeps the case it was registered with but is unique
    case-insensitively; ``email`` is stored lower-case."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(150))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="student", server_default="student")
    password_hash: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("role IN ('admin', 'instructor', 'student')", name="role"),
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        Index("uq_users_username_lower", text("lower(username)"), unique=True),
        Index("ix_users_role_id", "role", "id"),
    )


class SigningKey(Base):
    """An ES256 key pair that signs access tokens.

    The newest key without ``retired_at`` signs; a retired key stays in the JWKS until
    ``not_after`` (retirement + the longest token lifetime), when every token it signed
    has expired.
    """

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_key_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class LoginFailure(Base):
    """One failed (or still running) password check; rows older than the window are dead."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # "user:<id>" for an existing account, else "name:<what was typed, lower-cased>".
    account: Mapped[str] = mapped_column(Text)
    client_address: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        Index("ix_login_failures_account_address", "account", "client_address", "failed_at"),
        Index("ix_login_failures_address", "client_address", "failed_at"),
        Index("ix_login_failures_failed_at", "failed_at"),
    )

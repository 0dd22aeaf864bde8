"""Identity tables: users, token signing keys, failed logins (for throttling), refresh
tokens (sign-in sessions), groups and their memberships; and two small projections that
decide which groups an instructor sees (course owners from catalog, the groups courses
follow from progress)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel
from syllabus_shared.db import Entity, new_metadata, table_of
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


# ---------------------------------------------------------------- groups


class Group(IdentityTable, Entity, table=True):
    """A set of users (a class, a cohort). ``name`` is unique case-insensitively.

    ``version`` counts edits (name, description; and the creator's account deletion,
    which leaves ``creator_id`` null); ``member_count`` is the number of active
    memberships, kept in the transactions that change them (not an edit: the ETag carries
    it beside the version, as a course's ``enrollment_count``).
    """

    __tablename__ = "groups"
    __table_args__ = (
        Index("uq_groups_name_lower", text("lower(name)"), unique=True),
        Index("ix_groups_creator_id", "creator_id"),
    )

    name: str = Field(sa_type=String(200))
    description: str | None = Field(default=None, sa_type=Text)
    # Null once the creator's account was deleted (the group stays; admins manage it).
    creator_id: uuid.UUID | None = Field(
        default=None,
        sa_type=Uuid,
        sa_column_args=[ForeignKey("users.id", ondelete="SET NULL")],
    )
    member_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class GroupMembership(IdentityTable, table=True):
    """A user's membership in a group. The row outlives a removal (``active`` false) so
    that its ``version`` (the sequence of ``GroupMemberAdded``/``Removed``) keeps counting
    when the user is added again; its ``id`` is ``contracts.identity.membership_id(group_id,
    user_id)``, the same in every service. Rows go with their group and with their user's
    account."""

    __tablename__ = "group_memberships"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id", name="uq_group_memberships_group_id_user_id"),
        Index("ix_group_memberships_user_id", "user_id", "group_id"),
    )

    id: uuid.UUID = Field(primary_key=True)
    group_id: uuid.UUID = Field(
        sa_type=Uuid, sa_column_args=[ForeignKey("groups.id", ondelete="CASCADE")]
    )
    user_id: uuid.UUID = Field(
        sa_type=Uuid, sa_column_args=[ForeignKey("users.id", ondelete="CASCADE")]
    )
    active: bool = Field(sa_type=Boolean)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    added_at: dt.datetime = Field(sa_type=DateTime(timezone=True))
    removed_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


# ------------------------------------------- projections (who may see which group)


class CourseOwner(IdentityTable, table=True):
    """Each course's owner, from catalog's course events (null once the owner's account
    was deleted); a deleted course's row goes."""

    __tablename__ = "course_owners"
    __table_args__ = (Index("ix_course_owners_owner_id", "owner_id"),)

    course_id: uuid.UUID = Field(primary_key=True)
    owner_id: uuid.UUID | None = Field(default=None, sa_type=Uuid)


class CourseGroup(IdentityTable, table=True):
    """A course following a group, from progress's follow events (a row while it
    follows); goes with the group."""

    __tablename__ = "course_groups"
    __table_args__ = (Index("ix_course_groups_group_id", "group_id"),)

    course_id: uuid.UUID = Field(primary_key=True)
    group_id: uuid.UUID = Field(
        primary_key=True,
        sa_type=Uuid,
        sa_column_args=[ForeignKey("groups.id", ondelete="CASCADE")],
    )


# Rebuilt by ``python -m syllabus_identity replay`` from catalog's and progress's streams.
PROJECTION_TABLES = [table_of(CourseOwner), table_of(CourseGroup)]
PROJECTED_AGGREGATES = ("course", "course_group")

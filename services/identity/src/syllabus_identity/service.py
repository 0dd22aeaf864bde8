"""Identity transactions: accounts, logins, sessions (refresh tokens), roles. Changes
record their events.

Public functions take the unit of work and open it (``async with uow:``); the rules that
need no database are in ``rules``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import ColumnElement, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from syllabus_shared.accounts import record_user_deleted
from syllabus_shared.auth import Principal, Role, unauthorized
from syllabus_shared.contracts import identity as ev
from syllabus_shared.http import check_if_match
from syllabus_shared.ids import new_id
from syllabus_shared.pagination import PageParams, cursor_uuid
from syllabus_shared.problems import conflict, forbidden, not_found, require_present
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_identity import groups, keys, rules, schemas
from syllabus_identity.keys import TokenSigner
from syllabus_identity.models import LoginFailure, RefreshToken, User
from syllabus_identity.settings import Settings

# pg_advisory_xact_lock keys (each a constant, so every replica takes the same lock).
BOOTSTRAP_LOCK = 7_957_537_012
ROLE_CHANGE_LOCK = 7_957_537_013


# ---------------------------------------------------------------- passwords


class Passwords:
    """Argon2id hashing, off the event loop and a few at a time.

    Each hash takes a core and ``password_hash_memory_kib`` of memory for a fraction of a
    second, so a burst of logins queues here instead of exhausting the machine.
    """

    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=settings.password_hash_time_cost,
                    memory_cost=settings.password_hash_memory_kib,
                    parallelism=settings.password_hash_parallelism,
                ),
            )
        )
        self._slots = asyncio.Semaphore(settings.password_hash_concurrency)
        self._decoy: str | None = None

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """(matches, a new hash when the stored one uses old parameters).

        With no hash (no such account) a decoy is checked, so the answer takes as long
        as for a real account and timing does not tell which usernames exist.
        """
        if password_hash is None:
            if self._decoy is None:
                self._decoy = await self.hash(uuid.uuid4().hex)
            password_hash = self._decoy
            real = False
        else:
            real = True
        async with self._slots:
            ok, updated = await asyncio.to_thread(
                self._hasher.verify_and_update, password, password_hash
            )
        return ok and real, updated if real else None


@dataclass
class Identity:
    """Identity's own runtime part, built at start-up (routes: ``part(Identity)``)."""

    settings: Settings
    passwords: Passwords
    signer: TokenSigner

    @classmethod
    def build(cls, settings: Settings) -> Identity:
        return cls(settings, Passwords(settings), TokenSigner(settings))

    @property
    def keks(self) -> keys.KeyEncryption:
        return self.signer.keks


# ---------------------------------------------------------------- users


def _username_is(username: str) -> ColumnElement[bool]:
    return func.lower(User.username) == username.lower()


def _registered(user: User) -> ev.UserRegistered:
    return ev.UserRegistered(
        user_id=user.id, username=user.username, display_name=user.display_name, role=user.role
    )


def _role_changed(user: User, previous_role: str) -> ev.UserRoleChanged:
    return ev.UserRoleChanged(
        user_id=user.id,
        role=user.role,
        previous_role=previous_role,
        username=user.username,
        display_name=user.display_name,
    )


def _profile_changed(user: User) -> ev.UserProfileChanged:
    return ev.UserProfileChanged(
        user_id=user.id, username=user.username, display_name=user.display_name, role=user.role
    )


async def _taken(session: AsyncSession, username: str, email: str) -> None:
    rows = await session.execute(
        select(col(User.username), col(User.email)).where(
            or_(_username_is(username), col(User.email) == email)
        )
    )
    for row in rows:
        if row.username.lower() == username.lower():
            raise conflict("this username is taken", kind="username-taken")
        raise conflict("an account with this email exists", kind="email-taken")


async def register(
    uow: UnitOfWork,
    data: schemas.UserRegister,
    password_hash: str,
    role: Role = Role.student,
) -> User:
    """A new account (role ``student`` unless bootstrapping). 409 when the username or email
    is taken, compared case-insensitively, also against a concurrent registration."""
    async with uow:
        session = uow.session
        await _taken(session, data.username, data.email)
        user = User(
            username=data.username,
            email=data.email,
            display_name=data.display_name or data.username,
            role=role.value,
            password_hash=password_hash,
        )
        try:
            async with session.begin_nested():
                session.add(user)
                await session.flush()
        except IntegrityError as exc:
            raise conflict("this username or email is taken", kind="account-exists") from exc
        await session.refresh(user)
        await uow.publish(_registered(user), sequence=user.version)
        return user


async def _caller(session: AsyncSession, who: Principal) -> User:
    """The account behind a token. Roles are read from here, not from the token: a
    demoted admin loses admin rights in identity at once, not when the token expires."""
    user = await session.get(User, who.user_id)
    if user is None:
        raise unauthorized("this account no longer exists")
    return user


async def me(uow: UnitOfWork, who: Principal) -> User:
    """The caller's own account (401 when it no longer exists)."""
    async with uow:
        return await _caller(uow.session, who)


async def get_user(uow: UnitOfWork, who: Principal, user_id: uuid.UUID) -> User:
    """Admins see anyone, others only themselves (404 otherwise: no probing for ids)."""
    async with uow:
        session = uow.session
        actor = await _caller(session, who)
        if actor.id == user_id:
            return actor
        user = (
            await session.get(User, user_id)
            if rules.may_see(actor.id, actor.role, user_id)
            else None
        )
        if user is None:
            raise not_found("user")
        return user


async def list_users(
    uow: UnitOfWork, who: Principal, page: PageParams, *, role: Role | None, q: str | None = None
) -> list[User]:
    """Admins list users, newest first; ``q`` matches username, email or display name
    (case-insensitive substring; ``%`` and ``_`` match themselves)."""
    async with uow:
        session = uow.session
        actor = await _caller(session, who)
        if actor.role != Role.admin:
            raise forbidden("only admins may list users")
        stmt = select(User)
        if role is not None:
            stmt = stmt.where(col(User.role) == role.value)
        if q:
            pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(
                or_(
                    col(User.username).ilike(pattern, escape="\\"),
                    col(User.email).ilike(pattern, escape="\\"),
                    func.coalesce(col(User.display_name), "").ilike(pattern, escape="\\"),
                )
            )
        after = cursor_uuid(page)
        if after is not None:
            stmt = stmt.where(col(User.id) < after)
        stmt = stmt.order_by(col(User.id).desc()).limit(page.limit + 1)
        return list((await session.scalars(stmt)).all())


async def update_user(
    uow: UnitOfWork,
    who: Principal,
    user_id: uuid.UUID,
    data: schemas.UserUpdate,
    if_match: str | None,
) -> User:
    """Admins change anyone's role and display name; others only their own display name.

    The last admin cannot stop being one (409): role changes are serialized by an
    advisory lock, so two admins demoting each other at once cannot both succeed.

    A change is one new version and its events, with that version as their sequence:
    ``UserRoleChanged`` for a new role, ``UserProfileChanged`` for a new display name
    (what progress and assessment show beside their rows), both when both change; each
    carries the user's whole state, so a consumer of both loses nothing when it keeps
    the first of two events with one sequence.
    """
    changes = data.model_dump(exclude_unset=True)
    async with uow:
        session = uow.session
        actor = await _caller(session, who)
        require_present(changes, "role", "display_name")
        if "role" in changes:
            await session.execute(select(func.pg_advisory_xact_lock(ROLE_CHANGE_LOCK)))
            await session.refresh(actor)  # its role may have changed while we waited
        if not rules.may_see(actor.id, actor.role, user_id):
            raise not_found("user")
        user = await session.scalar(select(User).where(col(User.id) == user_id).with_for_update())
        if user is None:
            raise not_found("user")
        check_if_match(if_match, user.version)

        previous_role = user.role
        new_role = rules.role_change(actor.role, user.role, changes.get("role"))
        if new_role is not None:
            if rules.demotes_an_admin(user.role, new_role):
                admins = await session.scalar(
                    select(func.count()).select_from(User).where(col(User.role) == Role.admin.value)
                )
                rules.keep_an_admin(admins or 0)
            user.role = new_role.value
        name_changes = "display_name" in changes and changes["display_name"] != user.display_name
        if name_changes:
            user.display_name = changes["display_name"]
        if not (new_role is not None or name_changes):
            return user  # nothing to change: no new version, no event
        user.touch()
        await session.flush()
        if new_role is not None:
            # The refresh tokens would mint tokens for the old role: gone with it, in this
            # transaction (under the user's row lock, like every change of its tokens).
            await revoke_sessions(session, user.id)
            await uow.publish(_role_changed(user, previous_role), sequence=user.version)
        if name_changes:
            await uow.publish(_profile_changed(user), sequence=user.version)
        return user


# Registration's stored Idempotency-Key responses (syllabus_shared.http.idempotent) hold
# the account as it was created: deleted with the account.
REGISTER_SCOPE = "POST /auth/register"


async def delete_user(uow: UnitOfWork, who: Principal, user_id: uuid.UUID) -> dt.datetime:
    """Delete an account for good (admins: anyone; others: themselves); returns when.

    One transaction: the ``users`` row goes (so the username and email are free again),
    with what identity keeps about it (its refresh tokens, by their foreign key's cascade,
    so no sign-in of it can be refreshed; its login failures; the stored responses of its
    registration; its group memberships, without membership events, while the groups it
    created stay without a creator: ``groups.forget_user``); the deletion is recorded in
    ``deleted_users`` (every replica of identity refuses the user's tokens from the commit
    on) and ``UserDeleted`` is published, which every other service applies with its
    cascade rules. 404 for an unknown (or already deleted) account, 403 for someone else's
    account without being an admin, 409 for the last admin (as for demoting it).
    Serialized with role changes by their advisory lock, so two admins deleting (or
    demoting) each other at once leave one admin.
    """
    async with uow:
        session = uow.session
        await session.execute(select(func.pg_advisory_xact_lock(ROLE_CHANGE_LOCK)))
        actor = await _caller(session, who)  # after the lock: its current role
        if actor.id != user_id and actor.role != Role.admin:
            raise forbidden("only admins may delete other accounts")
        user = await session.scalar(select(User).where(col(User.id) == user_id).with_for_update())
        if user is None:
            raise not_found("user")
        if user.role == Role.admin:
            admins = await session.scalar(
                select(func.count()).select_from(User).where(col(User.role) == Role.admin.value)
            )
            rules.keep_an_admin_on_delete(admins or 0)
        deleted_at: dt.datetime | None = await session.scalar(select(func.now()))
        assert deleted_at is not None
        version = user.version
        # Recorded first (its lock before the groups' and course owners' rows, the order
        # identity's event handlers take them in).
        await record_user_deleted(uow, user_id, deleted_at)
        await groups.forget_user(session, user_id)
        await session.execute(delete(User).where(col(User.id) == user_id))
        session.expunge(user)
        await session.execute(
            delete(LoginFailure).where(
                col(LoginFailure.account) == rules.login_account(user_id, "")
            )
        )
        ik = uow.tables.idempotency_keys
        await session.execute(
            delete(ik).where(ik.c.scope == REGISTER_SCOPE, ik.c.body["id"].astext == str(user_id))
        )
        await uow.publish(
            ev.UserDeleted(user_id=user_id, deleted_at=deleted_at), sequence=version + 1
        )
        return deleted_at


# ---------------------------------------------------------------- start-up


async def start(uow: UnitOfWork, settings: Settings) -> Identity:
    """Identity's runtime part: its password hasher and token signer; and, in the
    database, a signing key and the configured bootstrap admin."""
    identity = Identity.build(settings)
    await keys.ensure_signing_key(uow, identity.keks)
    await ensure_bootstrap_admin(uow, identity)
    return identity


async def ensure_bootstrap_admin(uow: UnitOfWork, identity: Identity) -> None:
    """Make the configured admin exist (start-up; idempotent; safe with several replicas).

    Missing: created (``UserRegistered``). Present with another role: promoted
    (``UserRoleChanged``). Present with another password: given the configured one, so
    nobody who registered the name first keeps it. Otherwise nothing changes.
    """
    settings = identity.settings
    username = settings.identity_bootstrap_admin_username
    secret = settings.identity_bootstrap_admin_password
    email = settings.bootstrap_admin_email
    if username is None or secret is None or email is None:
        return
    password = secret.get_secret_value()
    async with uow:
        session = uow.session
        await session.execute(select(func.pg_advisory_xact_lock(BOOTSTRAP_LOCK)))
        user = await session.scalar(select(User).where(_username_is(username)).with_for_update())
        if user is None:
            if (
                await session.scalar(select(col(User.id)).where(col(User.email) == email))
                is not None
            ):
                raise RuntimeError(
                    f"cannot create bootstrap admin {username!r}: "
                    f"{email} belongs to another account"
                )
            data = schemas.UserRegister.model_construct(
                username=username, email=email, password=password, display_name=None
            )
            await register(uow, data, await identity.passwords.hash(password), Role.admin)
            return
        matches, rehashed = await identity.passwords.verify(password, user.password_hash)
        if not matches:
            user.password_hash = await identity.passwords.hash(password)
        elif rehashed:
            user.password_hash = rehashed
        if not matches or user.role != Role.admin:
            # A new password or a new role: the sign-ins made before do not carry over.
            await revoke_sessions(session, user.id)
        if user.role != Role.admin:
            previous = user.role
            user.role = Role.admin.value
            user.touch()
            await session.flush()
            await uow.publish(_role_changed(user, previous), sequence=user.version)


# ---------------------------------------------------------------- keys


async def public_jwks(uow: UnitOfWork) -> dict[str, Any]:
    """The JWKS document (public keys of the signing key and of retired keys in use)."""
    async with uow:
        return await keys.public_jwks(uow.session)


# ---------------------------------------------------------------- login


def _lock_key(text: str) -> int:
    """A signed 64-bit advisory lock key for ``text``, the same in every process."""
    return int.from_bytes(
        hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True
    )


class LoginThrottle:
    """Failed-login limits, counted in identity's database over a sliding window.

    Policy (numbers are settings; defaults in brackets):

    - **Per account, per address**: after ``login_max_failures_per_account`` [5] failures
      for one account from one address within ``login_failure_window_seconds`` [15 min],
      that address gets 429 for that account, with ``Retry-After`` (until the oldest
      counted failure leaves the window).
    - **Per address**: after ``login_max_failures_per_address`` [20] failures from one
      address, for any accounts, that address gets 429 for every login.
    - An address is an IPv4 address or an IPv6 /64 network (``rules.address_bucket``).
    - A failure is recorded *before* the password is checked and removed when it turns
      out right, so parallel guesses cannot slip past the count.
    - A successful login clears the failures of that account from that address: a user who
      mistyped starts afresh. It does not clear the address's failures against other
      accounts, so logging into one's own account cannot launder guesses at others.

    Why not lock an account for everybody: then anyone could keep a real user out by
    failing on purpose. Here an attacker only ever throttles their own address, and every
    limit lifts by itself when the window passes. While limited, the password is not
    checked at all, so a correct guess cannot be told from a wrong one.
    """

    def __init__(self, settings: Settings) -> None:
        self.window = dt.timedelta(seconds=settings.login_failure_window_seconds)
        self.per_account = settings.login_max_failures_per_account
        self.per_address = settings.login_max_failures_per_address

    async def admit(self, session: AsyncSession, account: str, address: str) -> None:
        """429 when a limit is reached; else record this attempt as a failure for now."""
        # One attempt at a time per address: the count and the insert cannot interleave.
        await session.execute(select(func.pg_advisory_xact_lock(_lock_key(f"login:{address}"))))
        now = await session.scalar(select(func.now()))
        assert now is not None
        since = now - self.window
        # Forget a bounded batch of expired failures (anyone's) on the way.
        expired = (
            select(col(LoginFailure.id)).where(col(LoginFailure.failed_at) <= since).limit(100)
        )
        await session.execute(delete(LoginFailure).where(col(LoginFailure.id).in_(expired)))
        limits = (
            (
                col(LoginFailure.account) == account,
                self.per_account,
                "too many failed logins for this account; try again later",
            ),
            (None, self.per_address, "too many failed logins from your address; try again later"),
        )
        for extra, limit, detail in limits:
            stmt = select(col(LoginFailure.failed_at)).where(
                col(LoginFailure.client_address) == address, col(LoginFailure.failed_at) > since
            )
            if extra is not None:
                stmt = stmt.where(extra)
            # The limit-th most recent failure: while it is in the window, the limit holds.
            oldest = await session.scalar(
                stmt.order_by(col(LoginFailure.failed_at).desc()).offset(limit - 1).limit(1)
            )
            if oldest is not None:
                raise rules.too_many_failures(detail, oldest, self.window, now)
        session.add(LoginFailure(account=account, client_address=address, failed_at=now))

    async def succeeded(self, session: AsyncSession, account: str, address: str) -> None:
        await session.execute(
            delete(LoginFailure).where(
                col(LoginFailure.account) == account, col(LoginFailure.client_address) == address
            )
        )


async def login(
    uow: UnitOfWork, identity: Identity, identifier: str, password: str, address: str
) -> schemas.AccessToken:
    """Check a password and mint an access token and the refresh token of a new sign-in
    (OAuth2 password grant).

    ``identifier`` is a username (any case) or an email address; ``address`` is the
    client's (``rules.client_address``). Two transactions: no database connection is held
    while the password hash is computed.
    """
    throttle = LoginThrottle(identity.settings)
    address = rules.address_bucket(address)
    async with uow:
        session = uow.session
        where = (
            col(User.email) == identifier.lower()
            if rules.is_email(identifier)
            else _username_is(identifier)
        )
        user = await session.scalar(select(User).where(where))
        account = rules.login_account(user.id if user else None, identifier)
        await throttle.admit(session, account, address)
    ok, rehashed = await identity.passwords.verify(password, user.password_hash if user else None)
    if not ok or user is None:
        raise rules.invalid_credentials()
    async with uow:
        session = uow.session
        await throttle.succeeded(session, account, address)
        current = await _lock_user(session, user.id)
        if current is None:  # deleted meanwhile
            raise rules.invalid_credentials()
        if rehashed:  # not part of the public resource: no new version
            current.password_hash = rehashed
        return await _issue(session, identity, current, family_id=None)


# ---------------------------------------------------------------- sessions (refresh tokens)
#
# A sign-in (password grant) starts a family of refresh tokens; each refresh grant marks
# the presented token used and adds the next one to its family (rotation). Only each
# token's SHA-256 is stored (``rules.refresh_token_hash``).
#
# Locking: every transaction that reads a user's refresh tokens to decide, or changes them,
# first locks the user's row (``_lock_user``; role changes and deletions hold it ``FOR
# UPDATE`` already), and only then reads the tokens. So a refresh, a logout, a role change
# and a deletion of one user run one after another, each seeing what the one before
# committed: two refreshes with the same token cannot both succeed (the second finds it
# used), and a token minted by a refresh that a role change waited for is revoked with the
# rest. Users are always locked before their tokens (no deadlock).

# Expired refresh tokens deleted by each grant (at most; rows locked elsewhere are skipped).
EXPIRED_BATCH = 100


async def _lock_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The user's row, locked until the transaction ends (``FOR NO KEY UPDATE``: it does
    not block the key-share locks of foreign-key checks, and one user's grants queue)."""
    return await session.scalar(
        select(User).where(col(User.id) == user_id).with_for_update(key_share=True)
    )


async def revoke_sessions(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Revoke every refresh token of ``user_id`` (call with the user's row locked)."""
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=func.now())
    )


async def _revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=func.now())
    )


async def _forget_expired(session: AsyncSession) -> None:
    """Delete a bounded batch of expired refresh tokens (anyone's), on the way."""
    expired = (
        select(col(RefreshToken.id))
        .where(col(RefreshToken.expires_at) <= func.now())
        .limit(EXPIRED_BATCH)
        .with_for_update(skip_locked=True)
    )
    await session.execute(delete(RefreshToken).where(col(RefreshToken.id).in_(expired)))


async def _issue(
    session: AsyncSession, identity: Identity, user: User, family_id: uuid.UUID | None
) -> schemas.AccessToken:
    """An access token for ``user`` and a new refresh token, in ``family_id`` (None: the
    first of a new sign-in). Call with the user's row locked."""
    access = await identity.signer.issue(session, user)
    token, token_id = rules.new_refresh_token(), new_id()
    ttl = identity.settings.refresh_token_ttl_seconds
    await _forget_expired(session)
    await session.execute(
        insert(RefreshToken).values(
            id=token_id,
            token_hash=rules.refresh_token_hash(token),
            family_id=family_id or token_id,
            user_id=user.id,
            expires_at=func.now() + dt.timedelta(seconds=ttl),
        )
    )
    return schemas.AccessToken(
        access_token=access.token,
        expires_in=access.expires_in,
        refresh_token=token,
        refresh_expires_in=ttl,
    )


async def refresh(uow: UnitOfWork, identity: Identity, token: str) -> schemas.AccessToken:
    """Exchange a refresh token for a new access token and refresh token (OAuth2 refresh
    grant, with rotation). 401 for an unknown, used, revoked or expired token; a used one
    (a copy: stolen, or replayed) also revokes every token of its sign-in, for good.

    Never counted by the login throttle: refresh tokens are 256 random bits (nothing to
    guess), and a client whose sign-in ended must still be able to sign in anew.
    """
    digest = rules.refresh_token_hash(token)
    async with uow:
        session = uow.session
        owner = await session.scalar(
            select(col(RefreshToken.user_id)).where(col(RefreshToken.token_hash) == digest)
        )
        user = await _lock_user(session, owner) if owner is not None else None
        if user is None:
            raise rules.invalid_refresh_token(None)
        # Read again under the user's lock: what a refresh, logout or role change that we
        # waited for committed is seen now.
        row = (
            await session.execute(
                select(RefreshToken, func.now())
                .where(col(RefreshToken.token_hash) == digest)
                .with_for_update()
            )
        ).first()
        if row is None:  # expired and swept meanwhile
            raise rules.invalid_refresh_token(None)
        stored, now = row
        state = rules.refresh_state(
            used_at=stored.used_at,
            revoked_at=stored.revoked_at,
            expires_at=stored.expires_at,
            now=now,
        )
        if state is rules.RefreshState.VALID:
            stored.used_at = now
            return await _issue(session, identity, user, stored.family_id)
        if state is rules.RefreshState.REUSED:
            await _revoke_family(session, stored.family_id)  # committed, then the 401
        else:
            raise rules.invalid_refresh_token(state)
    raise rules.invalid_refresh_token(state)


async def logout(uow: UnitOfWork, token: str) -> None:
    """End the sign-in ``token`` belongs to: revoke every refresh token of its family (the
    one presented, and the one minted from it if it was used). Nothing for an unknown or
    already revoked token: a logout cannot fail, and says nothing about tokens."""
    digest = rules.refresh_token_hash(token)
    async with uow:
        session = uow.session
        owner = await session.scalar(
            select(col(RefreshToken.user_id)).where(col(RefreshToken.token_hash) == digest)
        )
        if owner is None or await _lock_user(session, owner) is None:
            return
        family = await session.scalar(
            select(col(RefreshToken.family_id)).where(col(RefreshToken.token_hash) == digest)
        )
        if family is not None:
            await _revoke_family(session, family)

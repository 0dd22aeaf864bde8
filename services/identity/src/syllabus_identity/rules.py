"""Identity's rules that need no database: plain functions, tested without one."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import ipaddress
import math
import re
import secrets
import uuid
from collections.abc import Iterable, Sequence

from syllabus_shared.auth import Role
from syllabus_shared.problems import Problem, conflict, forbidden, invalid

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# ---------------------------------------------------------------- account fields

USERNAME_MIN, USERNAME_MAX = 3, 150
USERNAME_CHARS = r"^[A-Za-z0-9_]+$"
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_]{3,150}$")
# 8 characters at least; 1024 at most, so nobody makes us hash a megabyte.
PASSWORD_MIN, PASSWORD_MAX = 8, 1024
DISPLAY_NAME_MAX = 200
# No control characters (PostgreSQL text cannot even hold NUL).
NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]+$"


def valid_username(username: str) -> bool:
    """3-150 of ``[A-Za-z0-9_]`` (the API's ``Username``)."""
    return USERNAME_PATTERN.match(username) is not None


def valid_password(password: str) -> bool:
    """8-1024 characters (the API's ``Password``)."""
    return PASSWORD_MIN <= len(password) <= PASSWORD_MAX


def normal_email(email: str) -> str:
    """Email addresses are unique case-insensitively: stored (and compared) lower-case."""
    return email.lower()


def is_email(identifier: str) -> bool:
    """A login ``username`` field holding an email address rather than a username."""
    return "@" in identifier


# ---------------------------------------------------------------- users and roles


def may_see(actor_id: uuid.UUID, actor_role: str, user_id: uuid.UUID) -> bool:
    """Admins see (and change) anyone, others only themselves."""
    return actor_id == user_id or actor_role == Role.admin


def role_change(actor_role: str, current: str, wanted: Role | None) -> Role | None:
    """The role to move to, or None when the role does not change; 403 when the actor
    is not an admin."""
    if wanted is None or wanted.value == current:
        return None
    if actor_role != Role.admin:
        raise forbidden("only admins may change roles")
    return wanted


def demotes_an_admin(current: str, wanted: Role) -> bool:
    """Whether moving from ``current`` to ``wanted`` takes an admin away."""
    return current == Role.admin and wanted != Role.admin


def keep_an_admin(admins: int) -> None:
    """409 when demoting an admin would leave ``admins - 1`` = none."""
    if admins <= 1:
        raise conflict("the last admin cannot stop being an admin", kind="last-admin")


def keep_an_admin_on_delete(admins: int) -> None:
    """409 when deleting an admin account would leave no admin."""
    if admins <= 1:
        raise conflict(
            "the last admin cannot be deleted; make another account admin first",
            kind="last-admin",
        )


# ---------------------------------------------------------------- groups

GROUP_NAME_MAX = 200
GROUP_DESCRIPTION_MAX = 2_000
# At most this many user ids per bulk membership change, and usernames per directory
# lookup: a class or a pasted list, bounded so one request stays a few statements.
BULK_MAX = 1_000


def is_staff(role: str) -> bool:
    """Instructors and admins manage groups and look people up in the directory."""
    return role in (Role.instructor, Role.admin)


def require_staff(role: str, doing: str) -> None:
    """403 for anyone but an instructor or an admin (their role as identity knows it now)."""
    if not is_staff(role):
        raise forbidden(f"only instructors and admins may {doing}")


def may_manage_group(actor_id: uuid.UUID, actor_role: str, creator_id: uuid.UUID | None) -> bool:
    """A group's creator and admins change it and its members (nobody else: a group whose
    creator's account was deleted is the admins')."""
    return actor_role == Role.admin or (creator_id is not None and creator_id == actor_id)


def require_manager(actor_id: uuid.UUID, actor_role: str, creator_id: uuid.UUID | None) -> None:
    if not may_manage_group(actor_id, actor_role, creator_id):
        raise forbidden("only the group's creator or an admin may change it or its members")


def at_most(values: Sequence[object], field: Sequence[str], what: str) -> None:
    """422 naming the limit when more than ``BULK_MAX`` ``values`` are sent at once."""
    if len(values) > BULK_MAX:
        raise invalid(
            field,
            f"at most {BULK_MAX:,} {what} per request ({len(values):,} sent); "
            "split the list into several requests",
        )


def bulk_outcome(
    requested: Iterable[uuid.UUID], known: Iterable[uuid.UUID], added: Iterable[uuid.UUID]
) -> tuple[list[uuid.UUID], list[uuid.UUID], list[uuid.UUID]]:
    """``(added, already_members, unknown_user_ids)`` of a bulk add, each in the order the
    ids were sent, each id once (a duplicated id is simply one id)."""
    known_ids, added_ids = set(known), set(added)
    out: tuple[list[uuid.UUID], list[uuid.UUID], list[uuid.UUID]] = ([], [], [])
    for user_id in dict.fromkeys(requested):
        if user_id not in known_ids:
            out[2].append(user_id)
        elif user_id in added_ids:
            out[0].append(user_id)
        else:
            out[1].append(user_id)
    return out


def contains_pattern(text: str) -> str:
    """An ``ILIKE`` pattern (escape ``\\``) matching ``text`` anywhere, ``%`` and ``_``
    matching themselves."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# ---------------------------------------------------------------- login


def client_address(peer: str | None, forwarded_for: str | None, trusted: list[IPNetwork]) -> str:
    """The address a request came from.

    ``X-Forwarded-For`` is believed only when the peer is a trusted proxy (the gateway);
    then its hops are read right to left, skipping trusted proxies, and the first other
    address is the client. Anyone else's ``X-Forwarded-For`` is ignored: a client cannot
    pick the address its failed logins are counted against.
    """

    def is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in trusted)

    address = peer or "unknown"
    try:
        hop = ipaddress.ip_address(address)
    except ValueError:
        return address
    if not forwarded_for or not is_trusted(hop):
        return address
    for entry in reversed(forwarded_for.split(",")):
        try:
            hop = ipaddress.ip_address(entry.strip())
        except ValueError:
            break
        address = str(hop)
        if not is_trusted(hop):
            break
    return address


def address_bucket(address: str) -> str:
    """What failed logins are counted against: the address, or for IPv6 its /64 network
    (one host usually has a whole /64 to pick source addresses from)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def login_account(user_id: uuid.UUID | None, identifier: str) -> str:
    """What per-account failures are counted against: ``user:<id>`` for an existing
    account, else ``name:<what was typed, lower-cased>`` (unknown names are limited too)."""
    return f"user:{user_id}" if user_id is not None else f"name:{identifier.lower()}"


def retry_after(oldest: dt.datetime, window: dt.timedelta, now: dt.datetime) -> int:
    """Whole seconds (at least 1) until the ``oldest`` counted failure leaves the window."""
    return max(1, math.ceil((oldest + window - now).total_seconds()))


def too_many_failures(
    detail: str, oldest: dt.datetime, window: dt.timedelta, now: dt.datetime
) -> Problem:
    """The 429 of a reached login limit, with ``Retry-After``."""
    seconds = retry_after(oldest, window, now)
    return Problem(
        429,
        detail,
        kind="too-many-login-failures",
        headers={"Retry-After": str(seconds)},
        retry_after=seconds,
    )


def invalid_credentials() -> Problem:
    return Problem(
        401,
        "wrong username or password",
        kind="invalid-credentials",
        headers={"WWW-Authenticate": 'Bearer realm="syllabus"'},
    )


# ---------------------------------------------------------------- refresh tokens

# 32 random bytes: 256 bits, 43 URL-safe characters; nobody guesses one, so failed refresh
# grants need no throttle of their own.
REFRESH_TOKEN_BYTES = 32
# What a client may send as one: longer is refused (422) before anything is hashed.
REFRESH_TOKEN_MAX = 512


def new_refresh_token() -> str:
    """A new opaque refresh token (what the client holds; never stored)."""
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def refresh_token_hash(token: str) -> bytes:
    """What is stored of a refresh token, and looked up: its SHA-256. The token is random
    and long, so an unsalted fast hash suffices (nothing to brute-force), and a database
    dump holds no token a client could present."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class RefreshState(enum.Enum):
    VALID = "valid"
    REVOKED = "revoked"
    EXPIRED = "expired"
    REUSED = "reused"  # used before: the family is revoked


def refresh_state(
    *,
    used_at: dt.datetime | None,
    revoked_at: dt.datetime | None,
    expires_at: dt.datetime,
    now: dt.datetime,
) -> RefreshState:
    """What presenting a stored refresh token means. Revoked and expired come first: a
    token already dead is refused as such; only a used one that would otherwise still be
    good is evidence of a copy (stolen, or replayed) and ends its whole sign-in."""
    if revoked_at is not None:
        return RefreshState.REVOKED
    if expires_at <= now:
        return RefreshState.EXPIRED
    if used_at is not None:
        return RefreshState.REUSED
    return RefreshState.VALID


_REFRESH_REFUSED = {
    None: "unknown refresh token; sign in again",
    RefreshState.REVOKED: "this refresh token was revoked; sign in again",
    RefreshState.EXPIRED: "this refresh token has expired; sign in again",
    RefreshState.REUSED: (
        "this refresh token was already used; every refresh token of its sign-in is now "
        "revoked; sign in again"
    ),
}


def invalid_refresh_token(state: RefreshState | None) -> Problem:
    """The 401 of a refresh grant that cannot be honoured (``None``: no such token)."""
    return Problem(
        401,
        _REFRESH_REFUSED[state if state is not RefreshState.VALID else None],
        kind="invalid-refresh-token",
        headers={"WWW-Authenticate": 'Bearer realm="syllabus"'},
    )


# ---------------------------------------------------------------- token endpoint form


def require_form_fields(**fields: str | None) -> None:
    """422 naming every missing field of the token form (``grant_type`` decides which are
    required), shaped like the request-validation problems."""
    missing = [name for name, value in fields.items() if value is None]
    if not missing:
        return
    raise Problem(
        422,
        f"invalid input: {', '.join(sorted(missing))}",
        kind="validation-error",
        title="Validation failed",
        errors=[
            {"loc": ["body", name], "field": name, "msg": "Field required", "type": "missing"}
            for name in missing
        ],
    )

"""Identity's rules that need no database (fast: no app, no PostgreSQL, no NATS)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid

import pytest
from pydantic import ValidationError
from syllabus_identity import rules, schemas
from syllabus_shared.auth import Role
from syllabus_shared.problems import Problem, require_present

ADMIN, INSTRUCTOR, STUDENT = Role.admin.value, Role.instructor.value, Role.student.value


def _problem(exc: pytest.ExceptionInfo[Problem]) -> tuple[int, str | None]:
    return exc.value.status, exc.value.kind


# ---------------------------------------------------------------- account fields


@pytest.mark.parametrize(
    ("username", "valid"),
    [
        ("abc", True),
        ("Some_User_1", True),
        ("a" * 150, True),
        ("ab", False),
        ("a" * 151, False),
        ("has space", False),
        ("dash-ed", False),
        ("ümlaut", False),
        ("", False),
    ],
)
def test_usernames(username: str, valid: bool) -> None:
    assert rules.valid_username(username) is valid
    body = {"username": username, "email": "a@example.com", "password": "x" * 8}
    if valid:
        schemas.UserRegister(**body)
    else:
        with pytest.raises(ValidationError):
            schemas.UserRegister(**body)


@pytest.mark.parametrize(
    ("password", "valid"),
    [("x" * 8, True), ("x" * 1024, True), ("x" * 7, False), ("x" * 1025, False)],
)
def test_passwords(password: str, valid: bool) -> None:
    assert rules.valid_password(password) is valid
    body = {"username": "someone", "email": "a@example.com", "password": password}
    if valid:
        schemas.UserRegister(**body)
    else:
        with pytest.raises(ValidationError):
            schemas.UserRegister(**body)


def test_emails_are_lower_case_and_logins_tell_them_from_usernames() -> None:
    assert rules.normal_email("Ada@Example.COM") == "ada@example.com"
    body = schemas.UserRegister(username="ada", email="Ada@Example.COM", password="x" * 8)
    assert body.email == "ada@example.com"
    assert rules.is_email("ada@example.com")
    assert not rules.is_email("ada")


def test_display_names_have_no_control_characters() -> None:
    assert schemas.UserUpdate(display_name="  Ada  ").display_name == "Ada"
    for bad in ("", "   ", "a\x00b", "a\nb", "x" * 201):
        with pytest.raises(ValidationError):
            schemas.UserUpdate(display_name=bad)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        schemas.UserRegister.model_validate(
            {"username": "ada", "email": "a@example.com", "password": "x" * 8, "role": "admin"}
        )


# ---------------------------------------------------------------- users and roles


def test_patch_cannot_null_a_field() -> None:
    require_present({"display_name": "x"}, "role", "display_name")
    require_present({}, "role", "display_name")
    with pytest.raises(Problem) as exc:
        require_present({"role": None}, "role", "display_name")
    assert _problem(exc) == (422, "validation-error")


def test_admins_see_anyone_others_themselves() -> None:
    me, other = uuid.uuid4(), uuid.uuid4()
    assert rules.may_see(me, STUDENT, me)
    assert not rules.may_see(me, STUDENT, other)
    assert not rules.may_see(me, INSTRUCTOR, other)
    assert rules.may_see(me, ADMIN, other)


def test_role_changes() -> None:
    assert rules.role_change(ADMIN, STUDENT, None) is None
    assert rules.role_change(ADMIN, STUDENT, Role.student) is None
    assert rules.role_change(STUDENT, STUDENT, Role.student) is None  # no change: no 403
    assert rules.role_change(ADMIN, STUDENT, Role.instructor) is Role.instructor
    for actor in (STUDENT, INSTRUCTOR):
        with pytest.raises(Problem) as exc:
            rules.role_change(actor, actor, Role.admin)
        assert _problem(exc) == (403, "forbidden")


def test_the_last_admin_cannot_be_demoted() -> None:
    assert rules.demotes_an_admin(ADMIN, Role.student)
    assert rules.demotes_an_admin(ADMIN, Role.instructor)
    assert not rules.demotes_an_admin(STUDENT, Role.admin)
    assert not rules.demotes_an_admin(INSTRUCTOR, Role.student)
    rules.keep_an_admin(2)
    for admins in (1, 0):
        with pytest.raises(Problem) as exc:
            rules.keep_an_admin(admins)
        assert _problem(exc) == (409, "last-admin")


# ---------------------------------------------------------------- login


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    trusted = [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8")]
    client_address = rules.client_address
    # A client talking to us directly cannot choose its address.
    assert client_address("203.0.113.9", "1.2.3.4", trusted) == "203.0.113.9"
    # Behind the gateway: the right-most address that is not a trusted proxy.
    assert client_address("127.0.0.1", "198.51.100.7", trusted) == "198.51.100.7"
    assert client_address("127.0.0.1", "1.2.3.4, 198.51.100.7, 10.0.0.5", trusted) == "198.51.100.7"
    assert client_address("127.0.0.1", "garbage, 198.51.100.7", trusted) == "198.51.100.7"
    assert client_address("127.0.0.1", "garbage", trusted) == "127.0.0.1"
    assert client_address("127.0.0.1", None, trusted) == "127.0.0.1"
    assert client_address("10.1.1.1", "10.2.2.2", trusted) == "10.2.2.2"
    assert client_address(None, "1.2.3.4", trusted) == "unknown"
    # No trusted proxies: X-Forwarded-For is never believed.
    assert client_address("127.0.0.1", "198.51.100.7", []) == "127.0.0.1"


def test_ipv6_clients_count_as_their_64() -> None:
    address_bucket = rules.address_bucket
    assert address_bucket("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert address_bucket("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_bucket("::ffff:198.51.100.7") == "198.51.100.7"
    assert address_bucket("198.51.100.7") == "198.51.100.7"
    assert address_bucket("unknown") == "unknown"


def test_failures_count_against_the_account_or_the_name_typed() -> None:
    user_id = uuid.uuid4()
    assert rules.login_account(user_id, "Whoever") == f"user:{user_id}"
    assert rules.login_account(None, "Ghost_Account") == "name:ghost_account"


def test_retry_after_is_when_the_oldest_counted_failure_leaves_the_window() -> None:
    now = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)
    window = dt.timedelta(minutes=15)
    assert rules.retry_after(now - dt.timedelta(minutes=5), window, now) == 600
    assert rules.retry_after(now - dt.timedelta(minutes=5, milliseconds=1), window, now) == 600
    assert rules.retry_after(now - dt.timedelta(minutes=4, seconds=59.5), window, now) == 601
    assert rules.retry_after(now - window, window, now) == 1  # at least a second
    problem = rules.too_many_failures("slow down", now - dt.timedelta(minutes=14), window, now)
    assert problem.status == 429
    assert problem.kind == "too-many-login-failures"
    assert problem.headers == {"Retry-After": "60"}


def test_wrong_credentials_ask_for_a_bearer_token() -> None:
    problem = rules.invalid_credentials()
    assert problem.status == 401
    assert problem.headers == {"WWW-Authenticate": 'Bearer realm="syllabus"'}


# ---------------------------------------------------------------- refresh tokens


def test_refresh_tokens_are_random_and_stored_as_their_sha256() -> None:
    tokens = {rules.new_refresh_token() for _ in range(100)}
    assert len(tokens) == 100
    token = tokens.pop()
    assert len(token) == 43 and token.isascii() and "." not in token
    digest = rules.refresh_token_hash(token)
    assert len(digest) == 32 and digest == rules.refresh_token_hash(token)
    assert digest != rules.refresh_token_hash(token + "x")
    # Whatever a client sends hashes (a lone surrogate included), so nothing it sends is a 500.
    assert len(rules.refresh_token_hash("\ud800")) == 32


def test_refresh_state() -> None:
    now = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    later, earlier = now + dt.timedelta(days=1), now - dt.timedelta(seconds=1)

    def state(**kw: dt.datetime | None) -> rules.RefreshState:
        values: dict[str, dt.datetime | None] = {
            "used_at": None,
            "revoked_at": None,
            "expires_at": later,
        }
        values.update(kw)
        expires_at = values.pop("expires_at")
        assert expires_at is not None
        return rules.refresh_state(
            used_at=values["used_at"],
            revoked_at=values["revoked_at"],
            expires_at=expires_at,
            now=now,
        )

    assert state() is rules.RefreshState.VALID
    assert state(used_at=earlier) is rules.RefreshState.REUSED
    assert state(expires_at=now) is rules.RefreshState.EXPIRED
    # Dead tokens are refused as such; only a live used one is evidence of a copy.
    assert state(used_at=earlier, expires_at=earlier) is rules.RefreshState.EXPIRED
    assert state(used_at=earlier, revoked_at=earlier) is rules.RefreshState.REVOKED
    assert state(revoked_at=earlier, expires_at=earlier) is rules.RefreshState.REVOKED


def test_invalid_refresh_token_problems() -> None:
    for state in (None, *rules.RefreshState):
        problem = rules.invalid_refresh_token(state)
        assert (problem.status, problem.kind) == (401, "invalid-refresh-token")
        assert problem.headers["WWW-Authenticate"].startswith("Bearer")
    assert "already used" in rules.invalid_refresh_token(rules.RefreshState.REUSED).detail


def test_missing_token_form_fields_are_named() -> None:
    rules.require_form_fields(username="a", password="b")
    with pytest.raises(Problem) as exc:
        rules.require_form_fields(username=None, password="b", refresh_token=None)
    assert _problem(exc) == (422, "validation-error")
    assert [e["field"] for e in exc.value.extra["errors"]] == ["username", "refresh_token"]

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select
from syllabus_devkit.testing.asserts import assert_problem
from syllabus_identity.models import User

from conftest import API, Identity


def _body(**overrides: Any) -> dict[str, Any]:
    name = f"u_{uuid.uuid4().hex[:10]}"
    body: dict[str, Any] = {
        "username": name,
        "email": f"{name}@example.com",
        "password": "long enough password",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


async def test_register_returns_the_user_without_secrets(shared_identity: Identity) -> None:
    name = f"Alice_{uuid.uuid4().hex[:6]}"
    r = await shared_identity.client.post(
        f"{API}/auth/register",
        json={"username": name, "email": f"{name}@Example.COM", "password": "s3cret-enough"},
    )
    assert r.status_code == 201, r.text
    user = r.json()
    assert set(user) == {
        "id",
        "username",
        "email",
        "display_name",
        "role",
        "created_at",
        "updated_at",
        "version",
    }
    assert user["username"] == name
    assert user["email"] == f"{name.lower()}@example.com"
    assert user["display_name"] == name
    assert user["role"] == "student"
    assert user["version"] == 1
    assert r.headers["etag"] == '"1"'
    assert r.headers["location"] == f"{API}/users/{user['id']}"
    assert uuid.UUID(user["id"]).version == 7
    assert "s3cret" not in r.text

    async with shared_identity.runtime.db.transaction() as session:
        stored = await session.scalar(
            select(User.password_hash).where(User.id == uuid.UUID(user["id"]))
        )
    assert stored is not None and stored.startswith("$argon2id$")


async def test_register_with_display_name(shared_identity: Identity) -> None:
    user = await shared_identity.register(display_name="  Ada Lovelace ")
    assert user["display_name"] == "Ada Lovelace"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "ab"),
        ("username", "a" * 151),
        ("username", "has space"),
        ("username", "dash-ed"),
        ("username", "émile"),
        ("username", None),
        ("email", "not-an-email"),
        ("email", "a@b"),
        ("email", None),
        ("password", "short"),
        ("password", "x" * 1025),
        ("password", None),
        ("display_name", ""),
        ("display_name", "x" * 201),
        ("display_name", "bad\x00name"),
        ("role", "admin"),
    ],
)
async def test_each_bad_field_is_named(shared_identity: Identity, field: str, value: Any) -> None:
    body = _body()
    if value is None:
        del body[field]
    else:
        body[field] = value
    r = await shared_identity.client.post(f"{API}/auth/register", json=body)
    problem = assert_problem(r, 422, field)
    assert "long enough password" not in r.text
    assert problem["type"].endswith("/validation-error")


async def test_malformed_json_is_400(shared_identity: Identity) -> None:
    r = await shared_identity.client.post(
        f"{API}/auth/register", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert_problem(r, 400)


async def test_password_bounds_are_inclusive(shared_identity: Identity) -> None:
    await shared_identity.register(password="x" * 8)
    await shared_identity.register(password="y" * 1024)


async def test_duplicate_username_is_409_whatever_the_case(shared_identity: Identity) -> None:
    name = f"Bob_{uuid.uuid4().hex[:6]}"
    await shared_identity.register(name)
    r = await shared_identity.client.post(
        f"{API}/auth/register", json=_body(username=name.lower(), email=f"x{name}@example.com")
    )
    problem = assert_problem(r, 409)
    assert problem["type"].endswith("/username-taken")
    r = await shared_identity.client.post(
        f"{API}/auth/register", json=_body(username=name.upper(), email=f"y{name}@example.com")
    )
    assert_problem(r, 409)


async def test_duplicate_email_is_409_whatever_the_case(shared_identity: Identity) -> None:
    user = await shared_identity.register()
    r = await shared_identity.client.post(
        f"{API}/auth/register", json=_body(email=user["email"].upper())
    )
    problem = assert_problem(r, 409)
    assert problem["type"].endswith("/email-taken")


async def test_idempotency_key_replays_the_first_registration(shared_identity: Identity) -> None:
    body = _body()
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = await shared_identity.client.post(f"{API}/auth/register", json=body, headers=key)
    again = await shared_identity.client.post(f"{API}/auth/register", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    other = await shared_identity.client.post(f"{API}/auth/register", json=_body(), headers=key)
    assert_problem(other, 422)


async def test_registration_records_user_registered(identity: Identity) -> None:
    user = await identity.register(display_name="Eve")
    events = [e for e in await identity.published() if e["subject"] == user["id"]]
    assert [e["type"] for e in events] == ["syllabus.identity.UserRegistered.v1"]
    assert events[0]["sequence"] == 1
    assert events[0]["data"] == {
        "user_id": user["id"],
        "username": user["username"],
        "display_name": "Eve",
        "role": "student",
    }

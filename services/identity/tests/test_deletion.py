"""Deleting an account (issue 17): gone at once in identity, ``UserDeleted`` for the rest."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select
from syllabus_devkit.testing.asserts import assert_problem, eventually
from syllabus_devkit.testing.plugin import Databases
from syllabus_identity.models import LoginFailure, User

from conftest import ADMIN_PASSWORD, ADMIN_USERNAME, API, MIGRATIONS, Identity, running_identity

DELETED = "syllabus.identity.UserDeleted.v1"


async def _count(identity: Identity, stmt: Any) -> int:
    async with identity.runtime.db.transaction() as session:
        return int(await session.scalar(stmt) or 0)


async def test_admin_deletes_an_account_and_user_deleted_is_published(identity: Identity) -> None:
    admin = await identity.admin()
    user, headers = await identity.user("instructor")  # version 2: registered, promoted
    user_id = uuid.UUID(user["id"])
    # Something identity keeps about the account beside its row: a failed login.
    assert_problem(await identity.login(user["username"], "wrong password", "10.9.0.1"), 401)
    account = f"user:{user_id}"
    failures = select(func.count()).select_from(LoginFailure).where(LoginFailure.account == account)
    assert await _count(identity, failures) == 1

    r = await identity.client.delete(f"{API}/users/{user_id}", headers=admin)
    assert r.status_code == 204, r.text
    assert r.content == b""

    # Gone: reads, a second delete, the user's own token, a login.
    assert_problem(await identity.client.get(f"{API}/users/{user_id}", headers=admin), 404)
    assert_problem(await identity.client.delete(f"{API}/users/{user_id}", headers=admin), 404)
    assert_problem(await identity.client.get(f"{API}/users/me", headers=headers), 401)
    assert_problem(await identity.login(user["username"]), 401)
    listed = (await identity.client.get(f"{API}/users", headers=admin)).json()["items"]
    assert user["id"] not in {u["id"] for u in listed}
    assert await _count(identity, failures) == 0
    assert (
        await _count(identity, select(func.count()).select_from(User).where(User.id == user_id))
        == 0
    )

    # Recorded (tokens refused by every replica of identity) and published, same transaction.
    deleted_users = identity.runtime.tables.deleted_users
    async with identity.runtime.db.transaction() as session:
        recorded = (
            await session.execute(select(deleted_users).where(deleted_users.c.user_id == user_id))
        ).one()
    rows = [row for row in await identity.outbox() if row.aggregate_id == user["id"]]
    assert [row.event_type for row in rows][-1] == DELETED
    assert rows[-1].sequence == user["version"] + 1 == 3
    events = [e for e in await identity.published() if e["subject"] == user["id"]]
    assert [e["type"] for e in events] == [row.event_type for row in rows]
    deleted = events[-1]
    assert deleted["sequence"] == 3
    assert deleted["data"]["user_id"] == user["id"]
    assert set(deleted["data"]) == {"user_id", "deleted_at"}
    assert dt.datetime.fromisoformat(deleted["data"]["deleted_at"]) == recorded.deleted_at


async def test_username_and_email_are_free_again(shared_identity: Identity) -> None:
    user = await shared_identity.register()
    r = await shared_identity.client.delete(
        f"{API}/users/{user['id']}", headers=await shared_identity.admin()
    )
    assert r.status_code == 204
    again = await shared_identity.register(user["username"], email=user["email"].upper())
    assert again["id"] != user["id"]
    assert again["email"] == user["email"]
    assert (await shared_identity.login(user["username"])).status_code == 200


async def test_a_stored_registration_response_goes_with_the_account(
    shared_identity: Identity,
) -> None:
    """An Idempotency-Key replay of the registration must not hand back the deleted account
    (its stored response holds the username and email): it registers anew."""
    name = f"u_{uuid.uuid4().hex[:12]}"
    body = {"username": name, "email": f"{name}@example.com", "password": "long enough pw"}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await shared_identity.client.post(f"{API}/auth/register", json=body, headers=key)
    assert first.status_code == 201, first.text
    r = await shared_identity.client.delete(
        f"{API}/users/{first.json()['id']}", headers=await shared_identity.admin()
    )
    assert r.status_code == 204
    again = await shared_identity.client.post(f"{API}/auth/register", json=body, headers=key)
    assert again.status_code == 201, again.text
    assert again.json()["id"] != first.json()["id"]


async def test_users_delete_themselves(shared_identity: Identity) -> None:
    me, headers = await shared_identity.user()
    r = await shared_identity.client.delete(f"{API}/users/me", headers=headers)
    assert r.status_code == 204, r.text
    # The token died with the account: identity refuses it at once (401, not 404).
    assert_problem(await shared_identity.client.delete(f"{API}/users/me", headers=headers), 401)
    assert_problem(await shared_identity.client.get(f"{API}/users/me", headers=headers), 401)

    other, other_headers = await shared_identity.user("instructor")
    r = await shared_identity.client.delete(f"{API}/users/{other['id']}", headers=other_headers)
    assert r.status_code == 204
    r = await shared_identity.client.get(
        f"{API}/users/{other['id']}", headers=await shared_identity.admin()
    )
    assert_problem(r, 404)
    deleted = {r.aggregate_id for r in await shared_identity.outbox() if r.event_type == DELETED}
    assert {me["id"], other["id"]} <= deleted


async def test_only_admins_delete_others(shared_identity: Identity) -> None:
    victim = await shared_identity.register()
    _, student = await shared_identity.user()
    _, instructor = await shared_identity.user("instructor")
    for headers in (student, instructor):
        url = f"{API}/users/{victim['id']}"
        assert_problem(await shared_identity.client.delete(url, headers=headers), 403)
        # The same answer for an id that does not exist: no probing for accounts.
        url = f"{API}/users/{uuid.uuid4()}"
        assert_problem(await shared_identity.client.delete(url, headers=headers), 403)
    assert_problem(await shared_identity.client.delete(f"{API}/users/{victim['id']}"), 401)
    admin = await shared_identity.admin()
    r = await shared_identity.client.delete(f"{API}/users/{uuid.uuid4()}", headers=admin)
    assert_problem(r, 404)
    r = await shared_identity.client.delete(f"{API}/users/not-a-uuid", headers=admin)
    assert_problem(r, 422, "path.user_id")
    r = await shared_identity.client.get(f"{API}/users/{victim['id']}", headers=admin)
    assert r.status_code == 200


async def test_the_last_admin_cannot_be_deleted(
    databases: Databases, nats_url: str, namespace: str
) -> None:
    url = await databases.create(MIGRATIONS)
    async with running_identity(databases, nats_url, namespace, database_url=url) as identity:
        root = await identity.admin()
        problem = assert_problem(await identity.client.delete(f"{API}/users/me", headers=root), 409)
        assert problem["type"].endswith("/last-admin")

        second, second_headers = await identity.user("admin")
        # With another admin, the bootstrap admin is deleted like any account...
        r = await identity.client.delete(f"{API}/users/me", headers=root)
        assert r.status_code == 204, r.text
        # ...and the one left is now the last.
        r = await identity.client.delete(f"{API}/users/{second['id']}", headers=second_headers)
        assert_problem(r, 409)
    # The bootstrap admin comes back at the next start-up (a new account), as long as
    # IDENTITY_BOOTSTRAP_ADMIN_* are set.
    async with running_identity(databases, nats_url, namespace, database_url=url) as identity:
        r = await identity.client.get(f"{API}/users/me", headers=await identity.admin())
        assert r.status_code == 200
        assert r.json()["username"] == ADMIN_USERNAME


async def test_another_replica_refuses_the_token_within_2_s(
    databases: Databases, nats_url: str, namespace: str
) -> None:
    url = await databases.create(MIGRATIONS)
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(
            running_identity(databases, nats_url, namespace, database_url=url)
        )
        second = await stack.enter_async_context(
            running_identity(databases, nats_url, namespace, database_url=url)
        )
        user, headers = await first.user()
        # The second replica has verified (and cached) the token before.
        assert (await second.client.get(f"{API}/users/me", headers=headers)).status_code == 200
        admin = await first.headers(ADMIN_USERNAME, ADMIN_PASSWORD)
        assert (
            await first.client.delete(f"{API}/users/{user['id']}", headers=admin)
        ).status_code == 204

        # The second replica learns it from the NOTIFY of deleted_users (its verifier then
        # refuses the token before any route reads the missing row).
        async def revoked() -> bool:
            return second.runtime.revoked.revoked(uuid.UUID(user["id"]))

        assert await eventually(revoked, bool, timeout=2.0)
        r = await second.client.get(f"{API}/users/me", headers=headers)
        assert_problem(r, 401)
        assert "deleted" in r.json()["detail"]

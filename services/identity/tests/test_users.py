from __future__ import annotations

import asyncio
import contextlib
import json
import uuid

from sqlalchemy import func, select, update
from syllabus_devkit.testing.asserts import assert_problem
from syllabus_devkit.testing.plugin import Databases
from syllabus_identity.models import SigningKey, User

from conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    API,
    MIGRATIONS,
    PASSWORD,
    Identity,
    claims_of,
    running_identity,
)

# ---------------------------------------------------------------- reading


async def test_admin_lists_users_by_role_a_page_at_a_time(identity: Identity) -> None:
    admin = await identity.admin()
    students = [await identity.register() for _ in range(3)]
    instructor, _ = await identity.user("instructor")

    seen: list[str] = []
    cursor = None
    while True:
        params = {"role": "student", "limit": "2", **({"cursor": cursor} if cursor else {})}
        r = await identity.client.get(f"{API}/users", params=params, headers=admin)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        assert all(u["role"] == "student" for u in page["items"])
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(s["id"] for s in students)

    r = await identity.client.get(f"{API}/users", headers=admin)
    everyone = {u["username"]: u for u in r.json()["items"]}
    assert everyone[ADMIN_USERNAME]["role"] == "admin"
    assert everyone[instructor["username"]]["role"] == "instructor"
    assert all("password" not in key for u in everyone.values() for key in u)

    assert_problem(
        await identity.client.get(f"{API}/users", params={"role": "boss"}, headers=admin),
        422,
        "query.role",
    )
    assert_problem(
        await identity.client.get(f"{API}/users", params={"limit": "101"}, headers=admin), 422
    )
    assert_problem(
        await identity.client.get(f"{API}/users", params={"cursor": "%%%"}, headers=admin), 400
    )


async def test_admin_finds_users_by_username_email_or_display_name(identity: Identity) -> None:
    admin = await identity.admin()
    tag = uuid.uuid4().hex[:8]
    ada = await identity.register(f"ada_{tag}", display_name="Ada Lovelace")
    grace = await identity.register(f"grace_{tag}", display_name="Grace HOPPER")
    await identity.register(f"zz_{tag}_100pct", display_name="Percent")

    async def found(q: str) -> set[str]:
        r = await identity.client.get(f"{API}/users", params={"q": q}, headers=admin)
        assert r.status_code == 200, r.text
        return {u["username"] for u in r.json()["items"]}

    assert await found(f"ADA_{tag}") == {ada["username"]}
    assert await found("hopper") >= {grace["username"]}
    assert ada["username"] not in await found("hopper")
    assert await found(f"grace_{tag}@EXAMPLE") == {grace["username"]}
    # LIKE's wildcards match themselves, not anything.
    assert await found(f"{tag}_1") == {f"zz_{tag}_100pct"}
    assert await found(f"%{tag}") == set()
    assert_problem(
        await identity.client.get(f"{API}/users", params={"q": "x" * 201}, headers=admin), 422
    )


async def test_only_admins_list_users(shared_identity: Identity) -> None:
    _, student = await shared_identity.user()
    _, instructor = await shared_identity.user("instructor")
    for headers in (student, instructor):
        assert_problem(await shared_identity.client.get(f"{API}/users", headers=headers), 403)
    assert_problem(await shared_identity.client.get(f"{API}/users"), 401)


async def test_users_see_themselves_admins_see_anyone(shared_identity: Identity) -> None:
    alice, alice_headers = await shared_identity.user()
    bob, _ = await shared_identity.user()
    r = await shared_identity.client.get(f"{API}/users/{alice['id']}", headers=alice_headers)
    assert r.status_code == 200
    assert r.json()["id"] == alice["id"]
    r = await shared_identity.client.get(f"{API}/users/{bob['id']}", headers=alice_headers)
    assert_problem(r, 404)
    r = await shared_identity.client.get(
        f"{API}/users/{bob['id']}", headers=await shared_identity.admin()
    )
    assert r.status_code == 200
    assert r.json() == bob
    r = await shared_identity.client.get(
        f"{API}/users/{uuid.uuid4()}", headers=await shared_identity.admin()
    )
    assert_problem(r, 404)
    r = await shared_identity.client.get(f"{API}/users/not-a-uuid", headers=alice_headers)
    assert_problem(r, 422, "path.user_id")


# ---------------------------------------------------------------- changing


async def test_admin_changes_a_role_and_user_role_changed_is_published(identity: Identity) -> None:
    user = await identity.register()
    admin = await identity.admin()
    r = await identity.client.patch(
        f"{API}/users/{user['id']}",
        json={"role": "instructor"},
        headers={**admin, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["role"] == "instructor"
    assert changed["version"] == 2
    assert r.headers["etag"] == '"2"'
    # New tokens carry the new role.
    token = await identity.token(user["username"])
    assert claims_of(token)[1]["role"] == "instructor"

    rows = [row for row in await identity.outbox() if row.aggregate_id == user["id"]]
    assert [row.event_type for row in rows] == [
        "syllabus.identity.UserRegistered.v1",
        "syllabus.identity.UserRoleChanged.v1",
    ]
    assert [row.sequence for row in rows] == [1, 2]

    events = [e for e in await identity.published() if e["subject"] == user["id"]]
    assert [e["type"] for e in events] == [row.event_type for row in rows]
    assert events[1]["sequence"] == 2
    assert events[1]["data"] == {
        "user_id": user["id"],
        "role": "instructor",
        "previous_role": "student",
        # Every user event carries the whole state (names too).
        "username": user["username"],
        "display_name": user["display_name"],
    }
    assert all(row.published_at is not None for row in await identity.outbox())


async def test_same_role_again_changes_nothing(shared_identity: Identity) -> None:
    user = await shared_identity.register()
    r = await shared_identity.client.patch(
        f"{API}/users/{user['id']}", json={"role": "student"}, headers=await shared_identity.admin()
    )
    assert r.status_code == 200
    assert r.json()["version"] == 1
    rows = [row for row in await shared_identity.outbox() if row.aggregate_id == user["id"]]
    assert len(rows) == 1


async def test_users_change_their_own_display_name(shared_identity: Identity) -> None:
    user, headers = await shared_identity.user()
    r = await shared_identity.client.patch(
        f"{API}/users/{user['id']}", json={"display_name": "  New Name "}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "New Name"
    assert r.json()["version"] == 2
    assert r.json()["role"] == "student"
    me = await shared_identity.client.get(f"{API}/users/me", headers=headers)
    assert me.json()["display_name"] == "New Name"
    # UserProfileChanged, the user's new state at the new version (progress and assessment
    # keep the names from it).
    rows = [row for row in await shared_identity.outbox() if row.aggregate_id == user["id"]]
    assert [row.event_type for row in rows] == [
        "syllabus.identity.UserRegistered.v1",
        "syllabus.identity.UserProfileChanged.v1",
    ]
    assert [row.sequence for row in rows] == [1, 2]
    assert json.loads(rows[1].payload)["data"] == {
        "user_id": user["id"],
        "username": user["username"],
        "display_name": "New Name",
        "role": "student",
    }
    # The same name again: no new version, no event.
    r = await shared_identity.client.patch(
        f"{API}/users/{user['id']}", json={"display_name": "New Name"}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    rows = [row for row in await shared_identity.outbox() if row.aggregate_id == user["id"]]
    assert len(rows) == 2


async def test_a_role_and_a_name_at_once_are_one_version_and_two_events(
    shared_identity: Identity,
) -> None:
    user = await shared_identity.register()
    r = await shared_identity.client.patch(
        f"{API}/users/{user['id']}",
        json={"role": "instructor", "display_name": "Dr. Both"},
        headers=await shared_identity.admin(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    rows = [row for row in await shared_identity.outbox() if row.aggregate_id == user["id"]]
    assert [(row.event_type, row.sequence) for row in rows] == [
        ("syllabus.identity.UserRegistered.v1", 1),
        ("syllabus.identity.UserRoleChanged.v1", 2),
        ("syllabus.identity.UserProfileChanged.v1", 2),
    ]
    # One version, one state: whichever of the two a consumer keeps, it has all of it.
    state = {"username": user["username"], "display_name": "Dr. Both", "role": "instructor"}
    for row in rows[1:]:
        data = json.loads(row.payload)["data"]
        assert {k: data[k] for k in state} == state


async def test_admin_changes_anyones_display_name(shared_identity: Identity) -> None:
    user = await shared_identity.register()
    r = await shared_identity.client.patch(
        f"{API}/users/{user['id']}",
        json={"display_name": "Renamed"},
        headers=await shared_identity.admin(),
    )
    assert r.status_code == 200
    assert r.json()["display_name"] == "Renamed"


async def test_students_cannot_change_roles_or_other_people(shared_identity: Identity) -> None:
    user, headers = await shared_identity.user()
    other = await shared_identity.register()
    r = await shared_identity.client.patch(
        f"{API}/users/{user['id']}", json={"role": "admin"}, headers=headers
    )
    assert_problem(r, 403)
    r = await shared_identity.client.patch(
        f"{API}/users/{user['id']}", json={"role": "admin", "display_name": "x"}, headers=headers
    )
    assert_problem(r, 403)
    r = await shared_identity.client.patch(
        f"{API}/users/{other['id']}", json={"display_name": "hijacked"}, headers=headers
    )
    assert_problem(r, 404)
    _, instructor = await shared_identity.user("instructor")
    r = await shared_identity.client.patch(
        f"{API}/users/{other['id']}", json={"role": "instructor"}, headers=instructor
    )
    assert_problem(r, 404)
    me = (await shared_identity.client.get(f"{API}/users/me", headers=headers)).json()
    assert me["role"] == "student"
    assert me["version"] == 1


async def test_patch_validation_and_if_match(shared_identity: Identity) -> None:
    user, headers = await shared_identity.user()
    url = f"{API}/users/{user['id']}"
    assert_problem(
        await shared_identity.client.patch(url, json={"display_name": ""}, headers=headers),
        422,
        "display_name",
    )
    assert_problem(
        await shared_identity.client.patch(url, json={"display_name": None}, headers=headers),
        422,
        "display_name",
    )
    assert_problem(
        await shared_identity.client.patch(url, json={"role": "root"}, headers=headers), 422, "role"
    )
    assert_problem(
        await shared_identity.client.patch(url, json={"email": "x@example.com"}, headers=headers),
        422,
        "email",
    )
    r = await shared_identity.client.patch(
        url, json={"display_name": "Stale"}, headers={**headers, "If-Match": '"7"'}
    )
    assert_problem(r, 412)
    r = await shared_identity.client.patch(
        url, json={"display_name": "Fresh"}, headers={**headers, "If-Match": '"1"'}
    )
    assert r.status_code == 200


async def test_the_last_admin_cannot_stop_being_one(identity: Identity) -> None:
    admin_headers = await identity.admin()
    me = (await identity.client.get(f"{API}/users/me", headers=admin_headers)).json()
    r = await identity.client.patch(
        f"{API}/users/{me['id']}", json={"role": "student"}, headers=admin_headers
    )
    problem = assert_problem(r, 409)
    assert problem["type"].endswith("/last-admin")

    second, second_headers = await identity.user("admin")
    r = await identity.client.patch(
        f"{API}/users/{me['id']}", json={"role": "student"}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    # The demoted admin's token still says admin, but identity reads the role from its database.
    r = await identity.client.get(f"{API}/users", headers=admin_headers)
    assert_problem(r, 403)
    r = await identity.client.patch(
        f"{API}/users/{second['id']}", json={"role": "student"}, headers=second_headers
    )
    assert_problem(r, 409)


async def test_two_admins_demoting_each_other_leave_one(identity: Identity) -> None:
    first = (await identity.client.get(f"{API}/users/me", headers=await identity.admin())).json()
    second, second_headers = await identity.user("admin")
    first_headers = await identity.admin()
    results = await asyncio.gather(
        identity.client.patch(
            f"{API}/users/{second['id']}", json={"role": "student"}, headers=first_headers
        ),
        identity.client.patch(
            f"{API}/users/{first['id']}", json={"role": "student"}, headers=second_headers
        ),
    )
    # The loser is either refused as a non-admin (404) or as the last admin (409).
    assert sorted(r.status_code for r in results) in ([200, 404], [200, 409]), [
        r.text for r in results
    ]
    async with identity.runtime.db.transaction() as session:
        admins = await session.scalar(
            select(func.count()).select_from(User).where(User.role == "admin")
        )
    assert admins == 1


# ---------------------------------------------------------------- bootstrap


async def _admins(identity: Identity) -> list[User]:
    async with identity.runtime.db.transaction() as session:
        return list((await session.scalars(select(User).where(User.role == "admin"))).all())


async def test_bootstrap_admin_is_created_once(
    databases: Databases, nats_url: str, namespace: str
) -> None:
    url = await databases.create(MIGRATIONS)
    for _ in range(2):
        async with running_identity(databases, nats_url, namespace, database_url=url) as identity:
            admins = await _admins(identity)
            assert [a.username for a in admins] == [ADMIN_USERNAME]
            assert admins[0].email == f"{ADMIN_USERNAME}@localhost.invalid"
            assert admins[0].version == 1
            assert (await identity.login(ADMIN_USERNAME, ADMIN_PASSWORD)).status_code == 200
    rows = await identity.outbox()
    assert [r.event_type for r in rows] == ["syllabus.identity.UserRegistered.v1"]


async def test_two_replicas_starting_at_once(
    databases: Databases, nats_url: str, namespace: str
) -> None:
    url = await databases.create(MIGRATIONS)
    async with contextlib.AsyncExitStack() as stack:
        first, second = await asyncio.gather(
            stack.enter_async_context(
                running_identity(databases, nats_url, namespace, database_url=url)
            ),
            stack.enter_async_context(
                running_identity(databases, nats_url, namespace, database_url=url)
            ),
        )
        assert len(await _admins(first)) == 1
        async with first.runtime.db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(SigningKey)) == 1
        # A token from one replica is accepted by the other.
        token = await first.token(ADMIN_USERNAME, ADMIN_PASSWORD)
        r = await second.client.get(f"{API}/users/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
    assert len(await first.outbox()) == 1


async def test_bootstrap_takes_over_a_squatted_username(
    databases: Databases, nats_url: str, namespace: str
) -> None:
    url = await databases.create(MIGRATIONS)
    async with running_identity(
        databases,
        nats_url,
        namespace,
        database_url=url,
        identity_bootstrap_admin_username=None,
        identity_bootstrap_admin_password=None,
    ) as identity:
        squatter = await identity.register("boss", password=PASSWORD)
        assert await _admins(identity) == []
    async with running_identity(
        databases,
        nats_url,
        namespace,
        database_url=url,
        identity_bootstrap_admin_username="Boss",
        identity_bootstrap_admin_password="operator-password",
    ) as identity:
        admins = await _admins(identity)
        assert [str(a.id) for a in admins] == [squatter["id"]]
        assert admins[0].version == 2
        assert_problem(await identity.login("boss", PASSWORD, "10.8.0.1"), 401)
        assert (await identity.login("boss", "operator-password")).status_code == 200
        rows = await identity.outbox()
        assert [r.event_type for r in rows][-1] == "syllabus.identity.UserRoleChanged.v1"
        assert rows[-1].sequence == 2


async def test_bootstrap_settings_must_come_in_pairs() -> None:
    from pydantic import ValidationError
    from syllabus_identity.settings import Settings

    with contextlib.suppress(ValidationError):
        Settings(identity_bootstrap_admin_username="admin")
        raise AssertionError("a username without a password must be refused")
    empty = Settings(identity_bootstrap_admin_username="", identity_bootstrap_admin_password="")
    assert empty.identity_bootstrap_admin_username is None


async def test_a_key_is_made_once_even_if_someone_retired_all(identity: Identity) -> None:
    """Start-up makes a key only when none signs (e.g. after a botched manual retirement)."""
    async with identity.runtime.db.transaction() as session:
        await session.execute(update(SigningKey).values(retired_at=func.now()))
    from syllabus_identity import keys

    keks = keys.KeyEncryption.from_settings(identity.settings)
    kid = await keys.ensure_signing_key(identity.runtime.unit_of_work(), keks)
    assert kid == await keys.ensure_signing_key(identity.runtime.unit_of_work(), keks)

from __future__ import annotations

import asyncio

import httpx
from syllabus_devkit.testing.asserts import assert_problem
from syllabus_devkit.testing.plugin import Databases

from conftest import API, PASSWORD, Identity, running_identity

WRONG = "not the password"


def _retry_after(r: httpx.Response) -> int:
    assert_problem(r, 429)
    value = int(r.headers["retry-after"])
    assert value >= 1
    return value


async def _fail(identity: Identity, username: str, address: str, times: int) -> None:
    for _ in range(times):
        assert_problem(await identity.login(username, WRONG, address), 401)


async def test_five_failures_lock_that_account_from_that_address(shared_identity: Identity) -> None:
    user = await shared_identity.register()
    name = user["username"]
    await _fail(shared_identity, name, "10.1.0.1", 5)
    r = await shared_identity.login(name, WRONG, "10.1.0.1")
    retry = _retry_after(r)
    assert retry <= shared_identity.settings.login_failure_window_seconds
    assert r.json()["type"].endswith("/too-many-login-failures")
    # Even the right password is not checked while limited.
    _retry_after(await shared_identity.login(name, PASSWORD, "10.1.0.1"))
    # The real user, elsewhere, is not locked out; the same name in another case is the same account.
    assert (await shared_identity.login(name, PASSWORD, "10.1.0.2")).status_code == 200
    _retry_after(await shared_identity.login(name.upper(), PASSWORD, "10.1.0.1"))


async def test_unknown_accounts_are_limited_too(shared_identity: Identity) -> None:
    await _fail(shared_identity, "ghost_account", "10.2.0.1", 5)
    _retry_after(await shared_identity.login("ghost_account", WRONG, "10.2.0.1"))


async def test_success_clears_that_accounts_failures_from_that_address(
    shared_identity: Identity,
) -> None:
    user = await shared_identity.register()
    name = user["username"]
    await _fail(shared_identity, name, "10.3.0.1", 4)
    assert (await shared_identity.login(name, PASSWORD, "10.3.0.1")).status_code == 200
    await _fail(shared_identity, name, "10.3.0.1", 4)
    assert (await shared_identity.login(name, PASSWORD, "10.3.0.1")).status_code == 200


async def test_own_login_does_not_launder_guesses_at_others(shared_identity: Identity) -> None:
    victim = await shared_identity.register()
    attacker = await shared_identity.register()
    await _fail(shared_identity, victim["username"], "10.4.0.1", 4)
    assert (
        await shared_identity.login(attacker["username"], PASSWORD, "10.4.0.1")
    ).status_code == 200
    await _fail(shared_identity, victim["username"], "10.4.0.1", 1)
    _retry_after(await shared_identity.login(victim["username"], PASSWORD, "10.4.0.1"))


async def test_address_limit_and_expiry(
    databases: Databases, nats_url: str, namespace: str
) -> None:
    async with running_identity(
        databases,
        nats_url,
        namespace,
        login_failure_window_seconds=1.5,
        login_max_failures_per_address=6,
    ) as identity:
        users = [await identity.register() for _ in range(4)]
        # Spraying: few tries per account, many accounts, one address.
        for user in users[:3]:
            await _fail(identity, user["username"], "10.5.0.1", 2)
        r = await identity.login(users[3]["username"], PASSWORD, "10.5.0.1")
        assert "address" in r.json()["detail"]
        assert _retry_after(r) <= 2
        # Other addresses are unaffected.
        assert (await identity.login(users[3]["username"], PASSWORD, "10.5.0.2")).status_code == 200
        # Limits lift by themselves once the window has passed.
        await asyncio.sleep(1.6)
        assert (await identity.login(users[3]["username"], PASSWORD, "10.5.0.1")).status_code == 200

        await _fail(identity, users[0]["username"], "10.5.0.3", 5)
        _retry_after(await identity.login(users[0]["username"], PASSWORD, "10.5.0.3"))
        await asyncio.sleep(1.6)
        assert (await identity.login(users[0]["username"], PASSWORD, "10.5.0.3")).status_code == 200


async def test_parallel_guesses_cannot_slip_past_the_limit(shared_identity: Identity) -> None:
    user = await shared_identity.register()
    results = await asyncio.gather(
        *(shared_identity.login(user["username"], WRONG, "10.6.0.1") for _ in range(12))
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(401) == 5, statuses
    assert statuses.count(429) == 7, statuses


async def test_hopping_within_an_ipv6_64_does_not_help(shared_identity: Identity) -> None:
    user = await shared_identity.register()
    for i in range(5):
        r = await shared_identity.login(user["username"], WRONG, f"2001:db8:7::{i + 1}")
        assert_problem(r, 401)
    _retry_after(await shared_identity.login(user["username"], PASSWORD, "2001:db8:7::99"))
    assert (
        await shared_identity.login(user["username"], PASSWORD, "2001:db8:8::1")
    ).status_code == 200


async def test_untrusted_peer_cannot_dodge_the_limit(
    databases: Databases, nats_url: str, namespace: str
) -> None:
    # With no trusted proxies, X-Forwarded-For is ignored: changing it does not help.
    async with running_identity(databases, nats_url, namespace, trusted_proxies="") as identity:
        user = await identity.register()
        for i in range(5):
            assert_problem(await identity.login(user["username"], WRONG, f"10.7.0.{i}"), 401)
        _retry_after(await identity.login(user["username"], PASSWORD, "10.7.0.99"))


async def test_login_form_rejects_control_characters(shared_identity: Identity) -> None:
    r = await shared_identity.client.post(
        f"{API}/auth/token", data={"username": "bad\x00name", "password": PASSWORD}
    )
    assert_problem(r, 422, "username")

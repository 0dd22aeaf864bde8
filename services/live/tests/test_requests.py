"""Requests that open no stream: a clear problem document for each, and the per-user
limit of open streams."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from syllabus_devkit.testing.asserts import assert_problem
from syllabus_devkit.testing.tokens import TokenFactory

from conftest import Live, identity_stream, running_live


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "0x10", "12345678901234567890"])
async def test_a_last_event_id_that_is_not_an_id_is_400(live: Live, value: str) -> None:
    r = await live.get(live.headers(uuid.uuid4(), last_event_id=value))
    body = assert_problem(r, 400)
    assert body["type"].endswith("/bad-last-event-id")
    await live.no_open_streams()


@pytest.mark.parametrize("accept", ["application/json", "text/html, application/xml;q=0.9"])
async def test_an_accept_without_event_stream_is_406(live: Live, accept: str) -> None:
    r = await live.get(live.headers(uuid.uuid4(), Accept=accept))
    assert_problem(r, 406)


async def test_accepts_that_allow_event_stream_open_it(live: Live) -> None:
    for accept in ("text/event-stream", "application/json, text/*;q=0.5", "*/*"):
        headers = {**live.headers(uuid.uuid4()), "Accept": accept}
        async with live.client.stream("GET", "/api/v1/me/stream", headers=headers) as r:
            assert r.status_code == 200, accept


async def test_a_missing_forged_or_expired_token_is_401(live: Live) -> None:
    me = uuid.uuid4()
    forged = TokenFactory().token(me)  # right claims, someone else's key
    expired = live.tokens.token(me, expires_in=-60)  # past the 10 s leeway
    for headers in (
        live.headers(None),
        live.headers(forged),
        live.headers(expired),
        live.headers("not-a-jwt"),
    ):
        r = await live.get(headers)
        assert_problem(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer")
    await live.no_open_streams()


async def test_the_sixth_stream_of_a_user_is_429_while_five_are_open(live: Live) -> None:
    me = uuid.uuid4()
    streams = [await live.open(me) for _ in range(5)]
    try:
        r = await live.get(live.headers(me))
        body = assert_problem(r, 429)
        assert body["type"].endswith("/too-many-streams")
        assert r.headers["retry-after"].isdigit()
        # Someone else is not affected.
        async with live.stream(uuid.uuid4()):
            pass
        # A closed stream frees its place at once.
        await streams.pop().close()
        deadline = time.monotonic() + 2
        while live.open_streams_of(me) > 4:
            assert time.monotonic() < deadline, "the closed stream is still counted"
            await asyncio.sleep(0.02)
        streams.append(await live.open(me))
        assert_problem(await live.get(live.headers(me)), 429)
    finally:
        for s in streams:
            await s.close()
    await live.no_open_streams()


async def test_not_following_the_streams_yet_is_503(
    nats_url: str, namespace: str, tokens: TokenFactory
) -> None:
    # identity's stream does not exist yet: live cannot follow deletions, so it serves no
    # stream (a deleted account's token would not be refused), and says when to retry.
    async with running_live(
        nats_url, namespace, tokens, with_identity_stream=False, wait_ready=False
    ) as live:
        assert (await live.client.get("/readyz")).status_code == 503
        r = await live.get(live.headers(uuid.uuid4()))
        assert_problem(r, 503)
        assert r.headers["retry-after"] == "1"

        await identity_stream(live.js, namespace)
        deadline = time.monotonic() + 5
        while (await live.client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, "live did not follow once the stream existed"
            await asyncio.sleep(0.05)
        async with live.stream(uuid.uuid4()):
            pass

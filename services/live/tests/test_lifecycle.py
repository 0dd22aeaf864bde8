"""When a stream speaks without an event (keep-alive) and when it ends: the token
expires, the account is deleted, the instance shuts down."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid

from syllabus_devkit.testing.asserts import assert_problem
from syllabus_devkit.testing.tokens import TokenFactory

from conftest import HEARTBEAT, Frame, Live, notice, running_live


def _comments(frames: list[Frame]) -> list[str]:
    return [f.comment for f in frames if f.event is None and f.comment is not None]


async def test_a_comment_line_after_a_silence_of_heartbeat_seconds(live: Live) -> None:
    me = uuid.uuid4()
    async with live.stream(me) as s:
        started = time.monotonic()
        first = await s.next(timeout=HEARTBEAT + 1, comments=True)
        assert (first.event, first.comment) == (None, "keep-alive")
        assert HEARTBEAT * 0.9 <= time.monotonic() - started < HEARTBEAT + 0.5
        # An event restarts the silence.
        await live.notify(notice(me, "progress"))
        await s.event("progress")
        sent = time.monotonic()
        again = await s.next(timeout=HEARTBEAT + 1, comments=True)
        assert again.comment == "keep-alive"
        assert time.monotonic() - sent >= HEARTBEAT * 0.9


async def test_the_stream_ends_when_the_access_token_expires(live: Live) -> None:
    me = uuid.uuid4()
    token = live.tokens.token(me, expires_in=2)
    started = time.monotonic()
    async with live.stream(token) as s:
        frames = await s.end(timeout=3.5)
        took = time.monotonic() - started
    assert _comments(frames)[-1] == "end expired", frames
    assert took < 3.0, took
    await live.no_open_streams()


async def test_user_deleted_ends_their_streams_and_refuses_their_token(live: Live) -> None:
    gone, stays = uuid.uuid4(), uuid.uuid4()
    token = live.token(gone)
    a1, a2 = await live.open(token), await live.open(token)
    try:
        async with live.stream(stays) as other:
            started = time.monotonic()
            await live.delete_user(gone)
            for s in (a1, a2):
                frames = await s.end(timeout=2.0)
                assert _comments(frames)[-1] == "end deleted", frames
            assert time.monotonic() - started < 2.0
            # Their token (and any other of theirs) is refused from now on.
            for refused in (token, live.token(gone)):
                body = assert_problem(await live.get(live.headers(refused)), 401)
                assert "deleted" in body["detail"]
            # Someone else's stream goes on.
            seq = await live.notify(notice(stays, "progress"))
            assert (await other.event("progress")).id == str(seq)
    finally:
        await a1.close()
        await a2.close()


async def test_a_new_instance_refuses_tokens_of_accounts_deleted_before_it_started(
    live: Live, nats_url: str, tokens: TokenFactory
) -> None:
    gone = uuid.uuid4()
    await live.delete_user(gone)
    async with running_live(nats_url, live.namespace, tokens) as fresh:
        deadline = time.monotonic() + 2
        while not fresh.hub.revoked(gone):
            assert time.monotonic() < deadline, "the deletion was not read at start-up"
            await asyncio.sleep(0.02)
        assert_problem(await fresh.get(fresh.headers(gone)), 401)
        async with fresh.stream(uuid.uuid4()):
            pass


async def test_shutdown_ends_every_stream_at_once(
    nats_url: str, namespace: str, tokens: TokenFactory
) -> None:
    async with running_live(nats_url, namespace, tokens) as live:
        streams = [await live.open(uuid.uuid4()) for _ in range(2)]
        streams.append(await live.open(live.token(uuid.uuid4())))
        try:
            live.hub.shutdown()
            for s in streams:
                frames = await s.end(timeout=1.0)
                assert _comments(frames) == ["end shutdown"], frames
            await live.no_open_streams()
        finally:
            for s in streams:
                await s.close()


async def test_sigterm_ends_the_streams_so_the_server_stops_without_waiting(
    nats_url: str, namespace: str, tokens: TokenFactory
) -> None:
    async with running_live(nats_url, namespace, tokens) as live:
        s = await live.open(uuid.uuid4())
        try:
            started = time.monotonic()
            live.server.handle_exit(signal.SIGTERM, None)
            # uvicorn re-raises the signals it captured once it stops: not in a test.
            live.server._captured_signals.clear()
            frames = await s.end(timeout=1.0)
            assert _comments(frames) == ["end shutdown"], frames
            await asyncio.wait_for(asyncio.shield(live.task), 1.5)
            # Not held for the graceful-shutdown timeout by the open stream.
            assert time.monotonic() - started < 1.5
        finally:
            await s.close()

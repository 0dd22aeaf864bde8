"""Live on its own against a real NATS: the app served by a real uvicorn on a free port
(httpx's ASGITransport does not stream), notices published the way producers publish
them (a JetStream publish of an envelope to ``<namespace>.live.user.<id>``), deletions the
way identity does (``UserDeleted`` into its stream)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import nats
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from nats.aio.client import Client
from nats.js import JetStreamContext
from syllabus_devkit.embedded import find_free_port
from syllabus_devkit.testing.tokens import TokenFactory
from syllabus_live.hub import Hub
from syllabus_live.main import _Server, create_app
from syllabus_live.settings import Settings
from syllabus_shared.contracts.assessment import AssessmentNotice
from syllabus_shared.contracts.base import Envelope, Event
from syllabus_shared.contracts.identity import UserDeleted
from syllabus_shared.contracts.notices import Notice, live_subject
from syllabus_shared.contracts.progress import ProgressNotice
from syllabus_shared.messaging.nats_link import ensure_live_stream, ensure_stream
from syllabus_shared.messaging.outbox import event_subject, stream_name, subject_for

STREAM = "/api/v1/me/stream"
SSE = "text/event-stream"

# Small intervals, so the whole file runs in seconds.
HEARTBEAT = 0.6
ROSTER_INTERVAL = 0.5
QUEUE_SIZE = 8


@dataclass(frozen=True)
class Frame:
    """One thing a stream sent: an event (``event`` set) or a comment line."""

    event: str | None
    data: str = ""
    id: str | None = None
    comment: str | None = None

    def json(self) -> Any:
        return json.loads(self.data)


class Ended(AssertionError):
    """The server ended the stream."""


class Silence(AssertionError):
    """Nothing came in time."""


class SseStream:
    """An open ``/me/stream`` response, read in the background into a queue of frames."""

    ready: Frame  # the first frame (checked to be ``ready``)

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.frames: asyncio.Queue[Frame | None] = asyncio.Queue()
        self.seen: list[Frame] = []
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            async for line in self.response.aiter_lines():
                if line == "":
                    if fields:
                        self.frames.put_nowait(
                            Frame(
                                fields.get("event", "message"),
                                fields.get("data", ""),
                                fields.get("id"),
                            )
                        )
                    fields = {}
                elif line.startswith(":"):
                    self.frames.put_nowait(Frame(None, comment=line[1:].strip()))
                else:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
        except httpx.HTTPError:
            pass
        finally:
            self.frames.put_nowait(None)

    async def next(self, timeout: float = 3.0, *, comments: bool = False) -> Frame:
        """The next event (and, with ``comments``, comment line) within ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                frame = await asyncio.wait_for(self.frames.get(), max(remaining, 0.001))
            except TimeoutError:
                raise Silence(f"nothing within {timeout}s; seen so far: {self.seen}") from None
            if frame is None:
                self.frames.put_nowait(None)  # stays ended
                raise Ended(f"the stream ended; seen: {self.seen}")
            self.seen.append(frame)
            if frame.event is not None or comments:
                return frame

    async def event(self, kind: str, timeout: float = 3.0) -> Frame:
        frame = await self.next(timeout)
        assert frame.event == kind, (kind, frame, self.seen)
        return frame

    async def quiet(self, seconds: float) -> None:
        """No event at all for ``seconds`` (comment lines are fine)."""
        try:
            frame = await self.next(seconds)
        except Silence:
            return
        raise AssertionError(f"unexpected {frame}; seen: {self.seen}")

    async def end(self, timeout: float = 3.0) -> list[Frame]:
        """Every frame until the server ends the stream (within ``timeout``)."""
        out: list[Frame] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                out.append(await self.next(deadline - time.monotonic(), comments=True))
            except Ended:
                return out

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task
        await self.response.aclose()


def notice(user_id: uuid.UUID, kind: str, **fields: Any) -> Notice:
    """A notice of ``kind`` for ``user_id``, its fields defaulted (overridable)."""
    defaults: dict[str, dict[str, Any]] = {
        "progress": {"course_id": uuid.uuid4(), "reason": "completion"},
        "roster": {"course_id": uuid.uuid4()},
        "grade": {
            "submission_id": uuid.uuid4(),
            "post_id": uuid.uuid4(),
            "status": "graded",
            "score": 7.5,
        },
        "submission": {
            "submission_id": uuid.uuid4(),
            "post_id": uuid.uuid4(),
            "course_ids": [uuid.uuid4()],
        },
    }
    values = {
        "user_id": user_id,
        "kind": kind,
        "consistency": f"1.{uuid.uuid4().hex[:10]}",
        **defaults[kind],
        **fields,
    }
    cls = ProgressNotice if kind in ("progress", "roster") else AssessmentNotice
    return cls(**values)


def envelope(event: Event) -> bytes:
    return (
        Envelope(
            id=uuid.uuid4(),
            source=event.source,
            type=event.type_name(),
            subject=str(event.subject_id()),
            time=dt.datetime.now(dt.UTC),
            aggregatetype=event.aggregate,
            sequence=1,
            data=event.model_dump(mode="json"),
        )
        .model_dump_json()
        .encode()
    )


@dataclass
class Live:
    app: FastAPI
    server: _Server
    task: asyncio.Task[None]
    base_url: str
    namespace: str
    settings: Settings
    tokens: TokenFactory
    nc: Client
    js: JetStreamContext
    client: httpx.AsyncClient

    @property
    def hub(self) -> Hub:
        hub: Hub = self.app.state.hub
        return hub

    @property
    def live_stream(self) -> str:
        return stream_name(self.namespace, "LIVE")

    def token(self, user_id: uuid.UUID, expires_in: int = 900) -> str:
        return self.tokens.token(user_id, "student", expires_in=expires_in)

    def headers(
        self, who: uuid.UUID | str | None, last_event_id: str | None = None, **extra: str
    ) -> dict[str, str]:
        headers = {"Accept": SSE, **extra}
        if who is not None:
            token = self.token(who) if isinstance(who, uuid.UUID) else who
            headers["Authorization"] = f"Bearer {token}"
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        return headers

    async def get(self, headers: dict[str, str]) -> httpx.Response:
        """A request that is expected to be refused (a 200 would stream for ever)."""
        async with self.client.stream("GET", STREAM, headers=headers) as r:
            if r.status_code == 200:
                raise AssertionError("the stream was opened")
            await r.aread()
            return r

    @contextlib.asynccontextmanager
    async def stream(
        self, who: uuid.UUID | str, last_event_id: str | None = None
    ) -> AsyncIterator[SseStream]:
        """An open stream of ``who`` (a user, or a token), its ``ready`` read already
        (as ``stream.ready``)."""
        s = await self.open(who, last_event_id)
        try:
            yield s
        finally:
            await s.close()

    async def open(self, who: uuid.UUID | str, last_event_id: str | None = None) -> SseStream:
        request = self.client.build_request("GET", STREAM, headers=self.headers(who, last_event_id))
        response = await self.client.send(request, stream=True)
        if response.status_code != 200:
            await response.aread()
            await response.aclose()
            raise AssertionError(f"{response.status_code} {response.text}")
        assert response.headers["content-type"].startswith(SSE), response.headers
        s = SseStream(response)
        first = await s.next(comments=True)
        assert first.event == "ready", s.seen
        s.ready = first
        return s

    async def publish(self, subject: str, payload: bytes, stream: str) -> int:
        ack = await self.js.publish(subject, payload, stream=stream)
        return int(ack.seq)

    async def notify(self, event: Notice, *, subject_user: uuid.UUID | None = None) -> int:
        """Publish ``event`` like its producer (to its recipient's subject, or to
        ``subject_user``'s); returns its stream sequence (the SSE id)."""
        subject = (
            event_subject(self.namespace, event)
            if subject_user is None
            else f"{self.namespace}.{live_subject(subject_user)}"
        )
        return await self.publish(subject, envelope(event), self.live_stream)

    async def delete_user(self, user_id: uuid.UUID) -> None:
        event = UserDeleted(user_id=user_id, deleted_at=dt.datetime.now(dt.UTC))
        await self.publish(
            subject_for(self.namespace, UserDeleted),
            envelope(event),
            stream_name(self.namespace, "IDENTITY"),
        )

    def open_streams_of(self, user_id: uuid.UUID) -> int:
        return len(self.hub._by_user.get(str(user_id), ()))

    async def no_open_streams(self, timeout: float = 2.0) -> None:
        """Every stream closed (a client's close reaches the server a moment later)."""
        deadline = time.monotonic() + timeout
        while self.hub.open_streams:
            assert time.monotonic() < deadline, f"{self.hub.open_streams} streams still open"
            await asyncio.sleep(0.02)

    async def position(self) -> tuple[int, int]:
        info = await self.js.stream_info(self.live_stream)
        return int(info.state.first_seq), int(info.state.last_seq)


async def identity_stream(js: JetStreamContext, namespace: str) -> None:
    await ensure_stream(js, stream_name(namespace, "IDENTITY"), [f"{namespace}.identity.>"])


@contextlib.asynccontextmanager
async def running_live(
    nats_url: str,
    namespace: str,
    tokens: TokenFactory,
    *,
    with_identity_stream: bool = True,
    wait_ready: bool = True,
    **overrides: Any,
) -> AsyncIterator[Live]:
    nc = await nats.connect(nats_url)
    js = nc.jetstream(timeout=5.0)
    if with_identity_stream:
        await identity_stream(js, namespace)
    values: dict[str, Any] = {
        "nats_url": nats_url,
        "event_namespace": namespace,
        "auth_jwks_json": tokens.jwks_json,
        "service_env": "test",
        "heartbeat_seconds": HEARTBEAT,
        "queue_size": QUEUE_SIZE,
        "roster_interval_seconds": ROSTER_INTERVAL,
        "log_json": False,
        **overrides,
    }
    settings = Settings(**values)
    app = create_app(settings)
    port = find_free_port()
    server = _Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
        ),
        app,
    )
    task = asyncio.create_task(server.serve())
    base_url = f"http://127.0.0.1:{port}"
    client = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(5.0, read=10.0))
    live = Live(app, server, task, base_url, namespace, settings, tokens, nc, js, client)
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            assert time.monotonic() < deadline, "uvicorn did not start in 10 s"
            await asyncio.sleep(0.02)
        if wait_ready:
            while (await client.get("/readyz")).status_code != 200:
                assert time.monotonic() < deadline, "live did not get ready in 10 s"
                await asyncio.sleep(0.05)
            await ensure_live_stream(js, namespace, update=False)
        yield live
    finally:
        app.state.hub.shutdown()
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)
        await client.aclose()
        await nc.close()


@pytest_asyncio.fixture(scope="module")
async def live(nats_url: str, tokens: TokenFactory) -> AsyncIterator[Live]:
    """One app per test module, in its own namespace (each test has its own users)."""
    async with running_live(nats_url, f"t{uuid.uuid4().hex[:10]}", tokens) as running:
        yield running

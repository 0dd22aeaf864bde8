"""``GET /api/v1/me/stream``: the caller's server-sent event stream (API.md, "Live updates").

An open stream costs memory for as long as it lasts, so it is served by a plain ASGI
endpoint in front of the app (:class:`StreamEndpoint`), not a FastAPI route: no
middleware and routing frames, no dependency exit stacks, no ``StreamingResponse`` task
group; one task per stream (the one that hears the client leave). Measured with 2,000
streams: 40 KiB per stream through a FastAPI route, 19 KiB here (docs/performance.md).
``DECLARATION`` describes it for the OpenAPI document and is never mounted.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from syllabus_shared.auth import Principal, TokenVerifier, unauthorized
from syllabus_shared.observability import request_id_of, request_id_var
from syllabus_shared.problems import Problem, problem_response

from syllabus_live.hub import Hub, TooManyStreams
from syllabus_live.settings import Settings
from syllabus_live.stream import Stream

PATH = "/api/v1/me/stream"
_EVENT_ID = re.compile(r"[0-9]{1,19}")
_SSE = "text/event-stream"
_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def _accepts_sse(accept: str | None) -> bool:
    if not accept:
        return True
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in (_SSE, "text/*", "*/*"):
            return True
    return False


async def _authenticate(
    verifier: TokenVerifier | None, authorization: str | None
) -> tuple[Principal, float]:
    """The caller and when their token expires (epoch seconds)."""
    if not authorization:
        raise unauthorized("authentication required")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("expected a Bearer token")
    if verifier is None:
        raise Problem(503, "token verification is not configured", headers={"Retry-After": "5"})
    principal = await verifier.verify(token)  # signature, issuer, audience, expiry
    try:
        expires_at = float(jwt.decode(token, options={"verify_signature": False})["exp"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
        raise unauthorized("invalid access token") from exc
    return principal, expires_at


async def open_stream(
    hub: Hub, settings: Settings, verifier: TokenVerifier | None, headers: Mapping[str, str]
) -> Stream:
    """Check the request and register its stream with the hub, or raise the problem."""
    principal, expires_at = await _authenticate(verifier, headers.get("authorization"))
    if not _accepts_sse(headers.get("accept")):
        raise Problem(406, "this route answers text/event-stream only", kind="not-acceptable")
    after: int | None = None
    last_event_id = (headers.get("last-event-id") or "").strip()
    if last_event_id:
        if not _EVENT_ID.fullmatch(last_event_id):
            raise Problem(
                400,
                "Last-Event-ID must be the id of an event of this stream (digits)",
                kind="bad-last-event-id",
            )
        after = int(last_event_id)
    if not hub.listening.is_set():
        raise Problem(503, "live updates are starting; try again", headers={"Retry-After": "1"})
    try:
        first, last = await hub.position()
    except Exception as exc:
        raise Problem(503, "the event stream is unavailable", headers={"Retry-After": "2"}) from exc
    # Resuming is possible while every event after ``after`` is still kept.
    reset = after is not None and (after + 1 < first or after > last)
    start = after if after is not None and not reset else last
    try:
        conn = hub.open(principal.user_id, expires_at)
    except TooManyStreams:
        raise Problem(
            429,
            f"at most {settings.max_streams_per_user} open streams per user",
            kind="too-many-streams",
            headers={"Retry-After": "5"},
        ) from None
    return Stream(
        hub,
        conn,
        start=start,
        reset=reset,
        heartbeat=settings.heartbeat_seconds,
        replay_limit=settings.replay_limit,
        roster_interval=settings.roster_interval_seconds,
    )


class StreamEndpoint:
    """Serves ``GET /api/v1/me/stream`` itself, first thing (outermost but for Starlette's
    error middleware); every other request goes on to the app. Sets ``X-Request-ID`` as
    the kernel's middleware does, which the stream never passes through."""

    def __init__(self, app: ASGIApp, hub: Hub, settings: Settings) -> None:
        self.app = app
        self.hub = hub
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope)
        request_id_var.set(rid)
        if scope["method"] != "GET":
            problem = Problem(405, "only GET", headers={"Allow": "GET"})
            await _problem(problem, rid, scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        verifier = getattr(scope["app"].state, "token_verifier", None)
        try:
            stream = await open_stream(self.hub, self.settings, verifier, headers)
        except Problem as problem:
            await _problem(problem, rid, scope, receive, send)
            return
        del headers  # not held for as long as the stream lasts
        conn = stream.conn
        events = stream.events()

        async def hear_the_client_leave() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            conn.end("gone")

        listener = asyncio.ensure_future(hear_the_client_leave())
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [*_HEADERS, (b"x-request-id", rid.encode())],
                }
            )
            async for chunk in events:
                if conn.ended == "gone":
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if conn.ended != "gone":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away mid-write
        finally:
            listener.cancel()
            await events.aclose()  # unregisters the stream


async def _problem(
    problem: Problem, request_id: str, scope: Scope, receive: Receive, send: Send
) -> None:
    response = problem_response(
        problem.status,
        problem.detail,
        kind=problem.kind,
        title=problem.title,
        instance=PATH,
        headers={**problem.headers, "X-Request-ID": request_id},
        **problem.extra,
    )
    await response(scope, receive, send)


# The operation as the OpenAPI document shows it (main.py adds it); never mounted.
DECLARATION = APIRouter(tags=["live"])


@DECLARATION.get(
    "/me/stream",
    operation_id="me_stream",
    summary="The caller's live event stream (server-sent events)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {_SSE: {}}, "description": "An endless event stream"},
        400: {"description": "Last-Event-ID is not an event id"},
        406: {"description": "Accept does not allow text/event-stream"},
        429: {"description": "Five streams of this user are open already"},
    },
)
async def me_stream(
    accept: Annotated[str | None, Header()] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Any:
    """Events whenever something the caller sees changes: ``progress``, ``grade``,
    ``roster``, ``submission`` (each with a ``consistency`` token), after ``ready``."""
    raise NotImplementedError("served by StreamEndpoint")  # pragma: no cover

"""``GET /api/v1/me/stream``: the caller's server-sent event stream (API.md, "Live updates")."""

from __future__ import annotations

import re
from typing import Annotated

import jwt
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import StreamingResponse
from syllabus_shared.auth import Principal, require_principal, unauthorized
from syllabus_shared.problems import Problem

from syllabus_live.hub import Hub, TooManyStreams
from syllabus_live.settings import Settings
from syllabus_live.stream import Stream

router = APIRouter(tags=["live"])

_EVENT_ID = re.compile(r"[0-9]{1,19}")
_SSE = "text/event-stream"


def _accepts_sse(accept: str | None) -> bool:
    if not accept:
        return True
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in (_SSE, "text/*", "*/*"):
            return True
    return False


def _expiry(request: Request) -> float:
    # The token was verified (signature, issuer, audience, expiry) by require_principal.
    token = request.headers["authorization"].partition(" ")[2].strip()
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        return float(claims["exp"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
        raise unauthorized("invalid access token") from exc


@router.get(
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
    request: Request,
    principal: Annotated[Principal, Depends(require_principal)],
    accept: Annotated[str | None, Header()] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Events whenever something the caller sees changes: ``progress``, ``grade``,
    ``roster``, ``submission`` (each with a ``consistency`` token), after ``ready``."""
    if not _accepts_sse(accept):
        raise Problem(406, "this route answers text/event-stream only", kind="not-acceptable")
    after: int | None = None
    if last_event_id is not None and last_event_id.strip():
        if not _EVENT_ID.fullmatch(last_event_id.strip()):
            raise Problem(
                400,
                "Last-Event-ID must be the id of an event of this stream (digits)",
                kind="bad-last-event-id",
            )
        after = int(last_event_id.strip())
    hub: Hub = request.app.state.hub
    settings: Settings = request.app.state.settings
    if not hub.listening.is_set():
        raise Problem(503, "live updates are starting; try again", headers={"Retry-After": "1"})
    expires_at = _expiry(request)
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
    stream = Stream(
        hub,
        conn,
        start=start,
        reset=reset,
        heartbeat=settings.heartbeat_seconds,
        replay_limit=settings.replay_limit,
        roster_interval=settings.roster_interval_seconds,
    )
    return StreamingResponse(
        stream.events(),
        media_type=_SSE,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

"""``GET /live``: the person's live stream, relayed.

The browser's EventSource cannot send a bearer token, and the token must not reach
scripts, so the web opens the API's ``GET /me/stream`` with the session's access token
and passes the bytes through untouched (events, ids, comments). ``Last-Event-ID`` goes
upstream, so a reconnecting browser resumes without a gap; when the upstream ends (the
access token expired, the account was deleted) the relay ends too and the browser
reconnects, which refreshes the token first. A relay holds one upstream connection and
no state: it adds no buffering (Caddy flushes event streams at once) and no parsing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from syllabus_web.api import ApiError, SignedOut
from syllabus_web.pages import ApiDep, pages_router

router = pages_router()

STREAM_HEADERS = {
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",  # any buffering proxy in front: pass events at once
}


@router.get("/live", response_model=None)
async def live(request: Request, api: ApiDep) -> Response:
    if not api.session.signed_in:
        return PlainTextResponse("Sign in to get live updates.", status_code=401)
    try:
        upstream = await api.open_stream(request.headers.get("last-event-id"))
    except (ApiError, SignedOut) as error:
        status = error.status if isinstance(error, ApiError) else 401
        return PlainTextResponse("Live updates are unavailable.", status_code=status)
    if upstream.status_code != 200:
        await upstream.aclose()
        return PlainTextResponse(
            "Live updates are unavailable.",
            status_code=upstream.status_code,
            headers={"Retry-After": upstream.headers.get("Retry-After", "5")},
        )

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_raw():
                yield chunk
        except Exception:  # noqa: S110  (the upstream went away: end, the browser reconnects)
            pass
        finally:
            await upstream.aclose()

    # The stream was opened before the answer starts, so a token refreshed on the way
    # still reaches the cookie.
    return StreamingResponse(relay(), media_type="text/event-stream", headers=STREAM_HEADERS)

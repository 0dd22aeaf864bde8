"""HTTP conventions: ETags and conditional requests, Idempotency-Key on creates."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syllabus_shared.consistency_token import (
    COOKIE,
    COOKIE_ATTRIBUTES,
    HEADER,
    ConsistencyToken,
    MalformedToken,
    written_var,
)
from syllabus_shared.problems import Problem, invalid
from syllabus_shared.unit_of_work import UnitOfWork


def etag(version: int, derived: int | str | None = None) -> str:
    """The entity tag of a resource: ``"<version>"``, or ``"<version>.<derived>"``.

    ``derived`` is a counter kept from other services' events (``enrollment_count``,
    ``completion_count``): it changes the representation, so it changes the tag
    (a conditional GET never answers 304 with a stale count), but it is not an edit,
    so ``If-Match`` judges by ``version`` alone and a student enrolling never makes
    an instructor's edit fail with 412.
    """
    return f'"{version}"' if derived is None else f'"{version}.{derived}"'


def _tags(header: str) -> set[str]:
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}


def _version_of(tag: str) -> str:
    return tag.strip('"').split(".", 1)[0]


def check_if_match(header: str | None, version: int) -> None:
    """412 when an ``If-Match`` header is given and names another version."""
    if header is None:
        return
    tags = _tags(header)
    if "*" not in tags and str(version) not in {_version_of(t) for t in tags}:
        raise Problem(
            412,
            f"the resource is at version {version}; reload it and try again",
            kind="precondition-failed",
            current_version=version,
        )


def not_modified(
    request: Request, version: int, derived: int | str | None = None
) -> Response | None:
    tag = etag(version, derived)
    header = request.headers.get("if-none-match")
    if header is not None and (tag in _tags(header) or "*" in _tags(header)):
        return Response(status_code=304, headers={"ETag": tag})
    return None


def versioned(
    body: Any,
    version: int,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    *,
    derived: int | str | None = None,
) -> JSONResponse:
    """A JSON response for a single resource, with its ETag."""
    return JSONResponse(
        jsonable_encoder(body),
        status_code=status_code,
        headers={"ETag": etag(version, derived), **(headers or {})},
    )


MAX_IDEMPOTENCY_KEY = 200

CreateFn = Callable[[], Awaitable[JSONResponse]]


async def idempotent(
    request: Request,
    uow: UnitOfWork,
    *,
    scope: str,
    body: Any,
    create: CreateFn,
) -> JSONResponse:
    """Run ``create`` once per ``Idempotency-Key``, inside ``uow``'s transaction.

    ``create`` calls a service function that opens ``uow`` too: it joins this
    transaction, so the key, the new state and its events commit together. The key
    is reserved by inserting its row first, inside the same transaction as the create:
    a concurrent request with the same key blocks on that row and then sees the
    stored response. Same key + same body → the first response again;
    same key + another body → 422. Without the header, ``create`` just runs. (With a key,
    a read-your-writes wait inside ``create`` happens in the open transaction: it holds a
    pooled connection for at most the consistency bound.)
    """
    key = request.headers.get("idempotency-key")
    if key is None:
        # No key to record: ``create``'s service function opens the unit of work itself
        # (after any read-your-writes wait, which then holds no connection).
        return await create()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise invalid(
            ["header", "Idempotency-Key"], f"must be 1-{MAX_IDEMPOTENCY_KEY} characters", 400
        )
    request_hash = hashlib.sha256(
        json.dumps(jsonable_encoder(body), sort_keys=True).encode()
    ).hexdigest()
    ik = uow.tables.idempotency_keys
    async with uow:
        session = uow.session
        reserved = await session.execute(
            pg_insert(ik)
            .values(scope=scope, key=key, request_hash=request_hash)
            .on_conflict_do_nothing()
            .returning(ik.c.key)
        )
        if reserved.first() is not None:
            response = await create()
            # Positions now (not at commit), so a replay can name the same writes.
            written = ConsistencyToken.of_types(await uow.outbox.seal(session))
            await session.execute(
                update(ik)
                .where(ik.c.scope == scope, ik.c.key == key)
                .values(
                    status_code=response.status_code,
                    body=json.loads(bytes(response.body)),
                    headers={
                        **{
                            k: v
                            for k, v in response.headers.items()
                            if k.lower() in ("etag", "location")
                        },
                        _STORED_TOKEN: written.encode(),
                    },
                )
            )
            return response
        stored = (
            await session.execute(select(ik).where(ik.c.scope == scope, ik.c.key == key))
        ).one()
    if stored.request_hash != request_hash:
        raise Problem(
            422,
            "this Idempotency-Key was already used with a different request body",
            kind="idempotency-key-reused",
        )
    headers = dict(stored.headers or {})
    value = headers.pop(_STORED_TOKEN, None)
    collecting = written_var.get()
    if collecting is not None and value:
        collecting.merge(ConsistencyToken.parse(value))  # the first response named these
    return JSONResponse(
        stored.body,
        status_code=stored.status_code,
        headers={**headers, "Idempotent-Replayed": "true"},
    )


_STORED_TOKEN = HEADER.lower()  # where a stored response keeps its token
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ConsistencyMiddleware:
    """Answers every successful API write with the client's consistency token.

    The token returned is the one the request carried (header and cookie, merged) plus
    the positions of the events this request's commits produced (collected in
    ``written_var`` by :meth:`~syllabus_shared.messaging.outbox.Outbox.seal`), as the
    ``Syllabus-Consistency`` header and the ``syllabus_consistency`` cookie
    (``Path=/api; HttpOnly; SameSite=Lax``). Reads and failed writes get neither.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in WRITE_METHODS
            or not scope["path"].startswith("/api/")
        ):
            await self.app(scope, receive, send)
            return
        written = ConsistencyToken()
        reset = written_var.set(written)

        async def send_with_token(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                value = _incoming(scope).merge(written).encode()
                message["headers"] = [
                    *message.get("headers", []),
                    (b"syllabus-consistency", value.encode()),
                    (
                        b"set-cookie",
                        f"{COOKIE}={value}; {COOKIE_ATTRIBUTES}".encode(),
                    ),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_token)
        finally:
            written_var.reset(reset)


def _incoming(scope: Scope) -> ConsistencyToken:
    """The token the request carried (a malformed one was refused before any write)."""
    header_name = HEADER.lower().encode()
    values: list[str] = []
    for name, value in scope.get("headers", []):
        if name == header_name:
            values.append(value.decode("latin-1"))
        elif name == b"cookie":
            cookie = cookie_parser(value.decode("latin-1")).get(COOKIE)
            if cookie:
                values.append(cookie)
    try:
        return ConsistencyToken.read(values)
    except MalformedToken:
        return ConsistencyToken()

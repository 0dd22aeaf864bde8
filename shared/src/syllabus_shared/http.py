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
            await session.execute(
                update(ik)
                .where(ik.c.scope == scope, ik.c.key == key)
                .values(
                    status_code=response.status_code,
                    body=json.loads(bytes(response.body)),
                    headers={
                        k: v
                        for k, v in response.headers.items()
                        if k.lower() in ("etag", "location")
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
    return JSONResponse(
        stored.body,
        status_code=stored.status_code,
        headers={**(stored.headers or {}), "Idempotent-Replayed": "true"},
    )

"""Cursor pagination: ``?limit=&cursor=`` in, ``{"items", "next_cursor"}`` out."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from syllabus_shared.problems import invalid

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class PageParams(BaseModel):
    limit: int
    after: dict[str, Any] | None


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid(["query", "cursor"], "cursor is not valid", status=400) from exc
    if not isinstance(value, dict):
        raise invalid(["query", "cursor"], "cursor is not valid", status=400)
    return value


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PageParams:
    """FastAPI dependency: the validated page request."""
    return PageParams(limit=limit, after=decode_cursor(cursor) if cursor else None)


def cursor_uuid(params: PageParams, key: str = "id") -> uuid.UUID | None:
    """The keyset position (a UUID) stored in the cursor, validated."""
    if params.after is None:
        return None
    try:
        return uuid.UUID(str(params.after[key]))
    except (KeyError, ValueError) as exc:
        raise invalid(["query", "cursor"], "cursor is not valid", status=400) from exc


def page_of(rows: list[T], params: PageParams, position: Any) -> Page[T]:
    """Build a page from ``limit + 1`` fetched rows; ``position(row)`` gives the cursor."""
    more = len(rows) > params.limit
    items = rows[: params.limit]
    next_cursor = encode_cursor(position(items[-1])) if more and items else None
    return Page[T](items=items, next_cursor=next_cursor)

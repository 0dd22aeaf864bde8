"""Ordered lists with positions ``1..n`` (course outlines, a module's posts).

Pure functions over a list of ids; callers lock the owning row and write the
result, so positions stay contiguous under concurrent requests.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from syllabus_shared.problems import Problem, invalid

Ids = list[uuid.UUID]


def insert_at(
    order: Sequence[uuid.UUID], item: uuid.UUID, position: int | None, field: str = "position"
) -> Ids:
    """Insert ``item`` at 1-based ``position`` (default: the end); the rest shift down."""
    n = len(order)
    if position is None:
        position = n + 1
    if not 1 <= position <= n + 1:
        raise invalid(["body", field], f"position must be between 1 and {n + 1}")
    result = list(order)
    result.insert(position - 1, item)
    return result


def move(
    order: Sequence[uuid.UUID], item: uuid.UUID, position: int, field: str = "position"
) -> Ids:
    """Move ``item`` to 1-based ``position``; the others close up around it."""
    n = len(order)
    if not 1 <= position <= n:
        raise invalid(["body", field], f"position must be between 1 and {n}")
    result = [x for x in order if x != item]
    result.insert(position - 1, item)
    return result


def remove(order: Sequence[uuid.UUID], item: uuid.UUID) -> Ids:
    return [x for x in order if x != item]


def replace_all(
    order: Sequence[uuid.UUID], wanted: Sequence[uuid.UUID], what: str, field: str
) -> Ids:
    """A full reorder: ``wanted`` must be exactly the current set (409 otherwise)."""
    if len(set(wanted)) != len(wanted):
        raise invalid(["body", field], f"{field} contains duplicates")
    if set(wanted) != set(order):
        missing = len(set(order) - set(wanted))
        extra = len(set(wanted) - set(order))
        raise Problem(
            409,
            f"{field} must list exactly the {what} ({missing} missing, {extra} unknown)",
            kind="order-mismatch",
        )
    return list(wanted)

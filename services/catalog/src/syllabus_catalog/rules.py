"""Catalog's rules that need no database: plain functions, tested without one."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable

from syllabus_shared.auth import Principal
from syllabus_shared.contracts import catalog as ev
from syllabus_shared.problems import conflict

# draft→published, published→archived, archived→published; anything else is a conflict.
STATUS_MOVES = {("draft", "published"), ("published", "archived"), ("archived", "published")}


def slugify(title: str) -> str:
    """A URL slug from a title: ASCII, lower case, words joined by '-', ≤ 80 chars."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:80].strip("-")
    return slug or "course"


def free_slug(base: str, taken: Iterable[str]) -> str:
    """``base``, or ``base-2``, ``base-3``, ... : the first one not ``taken``."""
    used = set(taken)
    if base not in used:
        return base
    n = 2
    while f"{base}-{n}" in used:
        n += 1
    return f"{base}-{n}"


def may_edit(who: Principal, creator_id: uuid.UUID | None) -> bool:
    """Owners and admins change a course or module."""
    return who.is_admin or creator_id == who.user_id


def status_move(current: str, wanted: str | None) -> type[ev.CourseState] | None:
    """The event a status change publishes, or None when it is no move; 409 when the
    move is not allowed."""
    if wanted is None or wanted == current:
        return None
    if (current, wanted) not in STATUS_MOVES:
        raise conflict(f"a {current} course cannot become {wanted}", kind="invalid-status-change")
    return ev.CoursePublished if wanted == "published" else ev.CourseArchived

"""Catalog's rules that need no database: plain functions, tested without one."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from syllabus_shared.auth import Principal
from syllabus_shared.contracts import catalog as ev
from syllabus_shared.problems import Problem, conflict, not_found

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


# Enrollment statuses that count as enrolled (enrollment_count; who may get an override).
ENROLLED = ("active", "completed")

# ``{kind}`` in an override's path → the override's ``kind`` (contracts.catalog.OverrideKind).
OVERRIDE_KINDS: dict[str, ev.OverrideKind] = {"groups": "group", "users": "user"}


def override_kind(path_kind: str) -> ev.OverrideKind:
    """The kind an override path names (``groups``, ``users``); any other is no such
    collection (404)."""
    kind = OVERRIDE_KINDS.get(path_kind)
    if kind is None:
        raise not_found(f"override collection '{path_kind}' (groups or users)")
    return kind


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


# ---------------------------------------------------------------- gating (prerequisites)

Requires = Mapping[uuid.UUID, Sequence[uuid.UUID]]


def _gating_problem(message: str, **extra: Any) -> Problem:
    return Problem(
        422,
        message,
        kind="validation-error",
        title="Validation failed",
        errors=[{"loc": ["body", "prerequisites"], "field": "prerequisites", "msg": message}],
        **extra,
    )


def find_cycle(requires: Requires, start: uuid.UUID) -> list[uuid.UUID] | None:
    """A shortest cycle through ``start`` in the "requires" graph, or None.

    ``requires[m]`` are the modules ``m`` requires. The result lists the modules of the
    cycle once each, starting at ``start``: each requires the next, the last requires
    ``start``. Breadth-first, so the cycle named is a shortest one.
    """
    came_from: dict[uuid.UUID, uuid.UUID] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in requires.get(node, ()):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return path[::-1]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return None


def cycle_text(cycle: Sequence[uuid.UUID], titles: Mapping[uuid.UUID, str]) -> str:
    """``'A' (id) → 'B' (id) → 'A' (id)``: the cycle closed on its first module."""
    return " → ".join(f"{titles[m]!r} ({m})" if m in titles else str(m) for m in [*cycle, cycle[0]])


def checked_prerequisites(
    module_id: uuid.UUID,
    wanted: Sequence[uuid.UUID],
    requires: Requires,
    titles: Mapping[uuid.UUID, str] | None = None,
) -> list[uuid.UUID]:
    """``wanted`` as ``module_id``'s prerequisites in a course whose attached modules are the
    keys of ``requires`` (each with its current prerequisites): de-duplicated in the order
    given, or 422 (field ``prerequisites``) when one is the module itself, one is not
    attached to the course, or they would form a cycle (the problem's ``cycle`` lists it).
    """
    result = list(dict.fromkeys(wanted))
    if module_id in result:
        raise _gating_problem(
            f"a module cannot be its own prerequisite ({module_id})", module_ids=[str(module_id)]
        )
    unknown = [m for m in result if m not in requires]
    if unknown:
        listed = ", ".join(str(m) for m in unknown)
        raise _gating_problem(
            f"prerequisites must be modules attached to this course; not attached: {listed}",
            module_ids=[str(m) for m in unknown],
        )
    graph = {**requires, module_id: result}
    cycle = find_cycle(graph, module_id)
    if cycle is not None:
        raise _gating_problem(
            f"prerequisites would form a cycle: {cycle_text(cycle, titles or {})}"
            " (each module requires the next)",
            cycle=[str(m) for m in cycle],
        )
    return result


def without_prerequisite(
    requires: Requires, detached: uuid.UUID
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The modules whose prerequisites name ``detached``, each with its list without it
    (what detaching ``detached`` from the course changes; the others stay as they are)."""
    return {
        m: [p for p in prereqs if p != detached]
        for m, prereqs in requires.items()
        if m != detached and detached in prereqs
    }

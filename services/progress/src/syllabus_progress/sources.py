"""An enrollment's sources: the student's own (``self_enrolled``) and the groups the
course follows that the student is a member of (computed, never stored: ``cohorts``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from syllabus_shared.contracts import progress as ev
from syllabus_shared.db import lock_for_transaction

Pair = tuple[uuid.UUID, uuid.UUID]  # (user_id, course_id)


def arrays(pairs: Iterable[Pair]) -> dict[str, list[str]]:
    """``pairs`` as the two arrays the set-based statements unnest."""
    users: list[str] = []
    courses: list[str] = []
    for user_id, course_id in pairs:
        users.append(str(user_id))
        courses.append(str(course_id))
    return {"users": users, "courses": courses}


# The groups holding each of the pairs (for the events' ``sources``).
_SOURCES = text("""
SELECT gm.user_id, f.course_id, array_agg(f.group_id ORDER BY f.group_id) AS group_ids
FROM unnest(CAST(:users AS uuid[]), CAST(:courses AS uuid[])) AS t(u, c)
JOIN course_groups f ON f.course_id = t.c AND f.following
JOIN group_members gm ON gm.group_id = f.group_id AND gm.user_id = t.u
GROUP BY gm.user_id, f.course_id
""")

# Each enrollment's own source and the groups holding it (for lists of enrollments).
_OF_ENROLLMENTS = text("""
SELECT e.id, e.self_enrolled,
       ARRAY(SELECT f.group_id FROM course_groups f
             JOIN group_members gm ON gm.group_id = f.group_id AND gm.user_id = e.user_id
             WHERE f.course_id = e.course_id AND f.following ORDER BY f.group_id) AS group_ids
FROM enrollments e WHERE e.id = ANY(CAST(:ids AS uuid[]))
""")


async def group_sources(
    session: AsyncSession, pairs: Sequence[Pair]
) -> dict[Pair, list[uuid.UUID]]:
    """The groups holding each of ``pairs`` now (only pairs some group holds)."""
    if not pairs:
        return {}
    rows = await session.execute(_SOURCES, arrays(pairs))
    return {(r.user_id, r.course_id): list(r.group_ids) for r in rows}


def sources(self_enrolled: bool, group_ids: Iterable[uuid.UUID]) -> list[ev.EnrollmentSource]:
    """An enrollment's sources, the student's own first."""
    found = [ev.EnrollmentSource(kind="self")] if self_enrolled else []
    found.extend(ev.EnrollmentSource(kind="group", group_id=g) for g in group_ids)
    return found


async def sources_of(
    conn: AsyncConnection | AsyncSession, enrollment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ev.EnrollmentSource]]:
    """The sources of each of ``enrollment_ids`` (one statement)."""
    if not enrollment_ids:
        return {}
    rows = await conn.execute(_OF_ENROLLMENTS, {"ids": [str(i) for i in enrollment_ids]})
    return {r.id: sources(r.self_enrolled, r.group_ids) for r in rows}


async def lock_groups(session: AsyncSession, group_ids: Iterable[uuid.UUID]) -> None:
    """The groups' advisory locks until the transaction ends, in one order everywhere."""
    for group_id in sorted(set(group_ids)):
        await lock_for_transaction(session, f"group:{group_id}")

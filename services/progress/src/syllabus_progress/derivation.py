"""Completion derived from facts: service functions for the facts progress keeps (the
student's marks, content's views, assessment's submissions and kept scores) and the ONE
statement that derives each (user, post)'s completion from the post's current rule.

``completions.completed`` is the derived completion (the ``completion`` aggregate): the
rule met by the facts, whatever the locks (a completion belongs to (user, post), locks to
(user, course): a module can be gated in one course and not in another). Each change of
it is ``version + 1`` and one PostCompleted/PostUncompleted through the outbox, in the
same transaction. Locks apply when reading (``rules.evaluate``): a post counts once its
rule is met AND it is unlocked.

:data:`DERIVE` serves one (user, post) (a fact arrived, a mark) and a whole post (its
rule changed: every student with a fact on it, set-based, one statement). Users whose
completion became true get their enrollments in courses containing the post queued for a
module/course decision (``decisions``); a completion turning false completes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from syllabus_shared.accounts import is_deleted
from syllabus_shared.contracts import assessment as ae
from syllabus_shared.contracts import content as pe
from syllabus_shared.contracts import progress as ev
from syllabus_shared.db import table_of
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_progress.models import PostView, Submission
from syllabus_progress.rules import MARK_DONE, MIN_SCORE, SUBMIT, VIEW

# The facts of (user, post) against the post's current rule; rows change only when the
# derived state does. New rows only for users whose facts complete the post.
# :user_id NULL: every user with a fact on the post.
DERIVE = text(f"""
WITH rule AS (
    SELECT p.rule, p.min_score FROM posts p WHERE p.post_id = :post_id AND NOT p.deleted
), users AS (
    SELECT user_id FROM completions WHERE post_id = :post_id
        AND (CAST(:user_id AS uuid) IS NULL OR user_id = CAST(:user_id AS uuid))
    UNION
    SELECT user_id FROM post_views WHERE post_id = :post_id
        AND (CAST(:user_id AS uuid) IS NULL OR user_id = CAST(:user_id AS uuid))
    UNION
    SELECT user_id FROM submissions WHERE post_id = :post_id
        AND (CAST(:user_id AS uuid) IS NULL OR user_id = CAST(:user_id AS uuid))
), derived AS (
    SELECT u.user_id, c.id AS existing,
           COALESCE(CASE (SELECT rule FROM rule)
               WHEN '{MARK_DONE}' THEN c.marked
               WHEN '{VIEW}' THEN v.user_id IS NOT NULL
               WHEN '{SUBMIT}' THEN s.submitted > 0
               WHEN '{MIN_SCORE}' THEN s.kept_score >= (SELECT min_score FROM rule)
           END, false) AS done
    FROM users u
    LEFT JOIN completions c ON c.user_id = u.user_id AND c.post_id = :post_id
    LEFT JOIN post_views v ON v.user_id = u.user_id AND v.post_id = :post_id
    LEFT JOIN LATERAL (
        SELECT count(*) AS submitted,
               max(su.score) FILTER (WHERE su.status = 'graded') AS kept_score
        FROM submissions su WHERE su.user_id = u.user_id AND su.post_id = :post_id
    ) s ON true
)
INSERT INTO completions AS c (id, user_id, post_id, completed, completed_at, marked,
                              version, created_at, updated_at)
SELECT gen_random_uuid(), d.user_id, :post_id, d.done, CASE WHEN d.done THEN now() END,
       false, 1, now(), now()
FROM derived d WHERE d.done OR d.existing IS NOT NULL
ON CONFLICT ON CONSTRAINT uq_completions_user_post DO UPDATE
    SET completed = EXCLUDED.completed,
        completed_at = EXCLUDED.completed_at,
        version = c.version + 1,
        updated_at = now()
    WHERE c.completed IS DISTINCT FROM EXCLUDED.completed
RETURNING c.id, c.user_id, c.version, c.completed, c.completed_at
""")

# Enrollments (active or completed) of ``users`` in courses that contain the post.
ENQUEUE = text("""
INSERT INTO pending_decisions (enrollment_id, since)
SELECT DISTINCT e.id, clock_timestamp()
FROM posts p
JOIN course_modules cm ON cm.module_id = p.module_id
JOIN enrollments e ON e.course_id = cm.course_id
WHERE p.post_id = :post_id AND e.user_id = ANY(:users) AND e.status IN ('active', 'completed')
ON CONFLICT (enrollment_id) DO UPDATE SET since = EXCLUDED.since, not_before = NULL
""")


async def derive(
    uow: UnitOfWork,
    post_id: uuid.UUID,
    user_id: uuid.UUID | None = None,
    *,
    queue: bool = True,
) -> list[Row[Any]]:
    """Re-derive (user_id's, or every student's) completion of ``post_id``; emit one
    event per changed row; with ``queue``, queue a decision for users it completed (a
    mark decides itself). Returns the changed rows (``id, user_id, version, completed,
    completed_at``)."""
    session = uow.session
    changed = list((await session.execute(DERIVE, {"post_id": post_id, "user_id": user_id})).all())
    events: list[tuple[Any, int]] = []
    for row in changed:
        event: ev.CompletionEvent
        if row.completed:
            event = ev.PostCompleted(
                completion_id=row.id,
                user_id=row.user_id,
                post_id=post_id,
                completed_at=row.completed_at,
            )
        else:
            event = ev.PostUncompleted(completion_id=row.id, user_id=row.user_id, post_id=post_id)
        events.append((event, row.version))
    await uow.publish_many(events)
    if queue:
        await enqueue(uow, post_id, [row.user_id for row in changed if row.completed])
    return changed


async def enqueue(uow: UnitOfWork, post_id: uuid.UUID, users: Sequence[uuid.UUID]) -> None:
    """Queue a module/course decision for ``users``' enrollments containing ``post_id``."""
    if users:
        await uow.session.execute(ENQUEUE, {"post_id": post_id, "users": list(users)})


# ---------------------------------------------------------------- facts from events


async def on_post_viewed(uow: UnitOfWork, event: pe.PostViewed) -> None:
    """A first view: kept once per (user, post) (the earliest, whatever the order).
    Nothing for a deleted account (its ``UserDeleted`` may have been applied first)."""
    async with uow:
        if await is_deleted(uow.session, uow.tables, event.user_id):
            return
        table = table_of(PostView)
        stmt = pg_insert(table).values(
            user_id=event.user_id,
            post_id=event.post_id,
            view_id=event.view_id,
            viewed_at=event.viewed_at,
        )
        await uow.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[table.c.user_id, table.c.post_id],
                set_={
                    "view_id": text("LEAST(post_views.view_id, EXCLUDED.view_id)"),
                    "viewed_at": text("LEAST(post_views.viewed_at, EXCLUDED.viewed_at)"),
                },
            )
        )
        await derive(uow, event.post_id, event.user_id)


async def on_submission(uow: UnitOfWork, event: ae.SubmissionState) -> None:
    """A submission's latest state (created, graded, regraded): the kept score is derived
    from every submission's (the highest graded), so their order never matters.
    Nothing for a deleted account (its ``UserDeleted`` may have been applied first)."""
    async with uow:
        if await is_deleted(uow.session, uow.tables, event.user_id):
            return
        table = table_of(Submission)
        stmt = pg_insert(table).values(
            submission_id=event.submission_id,
            user_id=event.user_id,
            post_id=event.post_id,
            status=event.status,
            score=event.score,
        )
        await uow.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[table.c.submission_id],
                set_={"status": stmt.excluded.status, "score": stmt.excluded.score},
            )
        )
        await derive(uow, event.post_id, event.user_id)


# ---------------------------------------------------------------- marks (the student's)

MARK = text("""
INSERT INTO completions AS c (id, user_id, post_id, completed, completed_at, marked, marked_at,
                              version, created_at, updated_at)
VALUES (:id, :user_id, :post_id, false, NULL, true, now(), 0, now(), now())
ON CONFLICT ON CONSTRAINT uq_completions_user_post DO UPDATE
    SET marked = true, marked_at = now()
    WHERE NOT c.marked
RETURNING c.id
""")
UNMARK = text("""
UPDATE completions SET marked = false, marked_at = NULL
WHERE user_id = :user_id AND post_id = :post_id AND marked
RETURNING id
""")


async def mark(
    uow: UnitOfWork, user_id: uuid.UUID, post_id: uuid.UUID, new_id: uuid.UUID
) -> list[Row[Any]]:
    """Mark (a fact) and re-derive; returns the changed completion rows. A row created by
    a mark starts at version 0, so its first completion is version 1. The caller decides
    module and course completion itself (nothing is queued)."""
    params = {"id": new_id, "user_id": user_id, "post_id": post_id}
    if (await uow.session.execute(MARK, params)).first() is None:
        return []
    return await derive(uow, post_id, user_id, queue=False)


async def unmark(uow: UnitOfWork, user_id: uuid.UUID, post_id: uuid.UUID) -> bool:
    """Unmark and re-derive; False when it was not marked."""
    params = {"user_id": user_id, "post_id": post_id}
    if (await uow.session.execute(UNMARK, params)).first() is None:
        return False
    await derive(uow, post_id, user_id, queue=False)
    return True

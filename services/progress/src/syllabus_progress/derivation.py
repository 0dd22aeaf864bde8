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
rule changed: every student with a fact on it, set-based, one statement);
:data:`DERIVE_PAIRS` and :data:`DERIVE_POSTS` the same for a batch of pairs or of posts. Users whose
completion became true get their enrollments in courses containing the post queued for a
module/course decision (``decisions``); a completion turning false completes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from syllabus_shared.accounts import deleted_among, is_deleted
from syllabus_shared.contracts import assessment as ae
from syllabus_shared.contracts import content as pe
from syllabus_shared.contracts import progress as ev
from syllabus_shared.db import array_literal, table_of
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


# DERIVE for given (user, post) pairs (each with a fact just recorded), any posts: one
# statement for a batch of facts. The same rule as DERIVE row for row; pairs distinct and
# in key order (no row is upserted twice; rows are locked in one order).
_PAIRS_GIVEN = """
WITH pairs AS (
    SELECT DISTINCT t.user_id, t.post_id
    FROM unnest(CAST(:user_ids AS uuid[]), CAST(:post_ids AS uuid[])) AS t(user_id, post_id)
)"""
# DERIVE with :user_id NULL for many posts at once (new posts, rules changed; a replay's
# every post): every user with a fact or a completion on one of them. Deleted (or
# unknown) posts are left as they are: a deletion re-derives nothing (its completions
# stay, as facts do), so neither does a replay that ends with the post deleted.
_PAIRS_OF_POSTS = """
WITH posts_given AS (
    SELECT p.post_id FROM posts p
    WHERE p.post_id = ANY(CAST(:post_ids AS uuid[])) AND NOT p.deleted
), pairs AS (
    SELECT c.user_id, c.post_id FROM completions c JOIN posts_given USING (post_id)
    UNION
    SELECT v.user_id, v.post_id FROM post_views v JOIN posts_given USING (post_id)
    UNION
    SELECT s.user_id, s.post_id FROM submissions s JOIN posts_given USING (post_id)
)"""
_DERIVE_PAIRS_BODY = f"""
, derived AS (
    SELECT pr.user_id, pr.post_id, c.id AS existing,
           COALESCE(CASE r.rule
               WHEN '{MARK_DONE}' THEN c.marked
               WHEN '{VIEW}' THEN v.user_id IS NOT NULL
               WHEN '{SUBMIT}' THEN s.submitted > 0
               WHEN '{MIN_SCORE}' THEN s.kept_score >= r.min_score
           END, false) AS done
    FROM pairs pr
    LEFT JOIN posts r ON r.post_id = pr.post_id AND NOT r.deleted
    LEFT JOIN completions c ON c.user_id = pr.user_id AND c.post_id = pr.post_id
    LEFT JOIN post_views v ON v.user_id = pr.user_id AND v.post_id = pr.post_id
    LEFT JOIN LATERAL (
        SELECT count(*) AS submitted,
               max(su.score) FILTER (WHERE su.status = 'graded') AS kept_score
        FROM submissions su WHERE su.user_id = pr.user_id AND su.post_id = pr.post_id
    ) s ON true
)
INSERT INTO completions AS c (id, user_id, post_id, completed, completed_at, marked,
                              version, created_at, updated_at)
SELECT gen_random_uuid(), d.user_id, d.post_id, d.done, CASE WHEN d.done THEN now() END,
       false, 1, now(), now()
FROM derived d WHERE d.done OR d.existing IS NOT NULL
ORDER BY d.user_id, d.post_id
ON CONFLICT ON CONSTRAINT uq_completions_user_post DO UPDATE
    SET completed = EXCLUDED.completed,
        completed_at = EXCLUDED.completed_at,
        version = c.version + 1,
        updated_at = now()
    WHERE c.completed IS DISTINCT FROM EXCLUDED.completed
RETURNING c.id, c.user_id, c.post_id, c.version, c.completed, c.completed_at
"""
DERIVE_PAIRS = text(_PAIRS_GIVEN + _DERIVE_PAIRS_BODY)
DERIVE_POSTS = text(_PAIRS_OF_POSTS + _DERIVE_PAIRS_BODY)

# ENQUEUE for (user, post) pairs. Each enrollment once (a user's pairs in several posts
# of one course name it several times; ``DISTINCT e.id, clock_timestamp()`` kept them
# all, the time differing, and ON CONFLICT refuses a row twice).
ENQUEUE_PAIRS = text("""
INSERT INTO pending_decisions (enrollment_id, since)
SELECT d.id, clock_timestamp() FROM (
    SELECT DISTINCT e.id
    FROM unnest(CAST(:user_ids AS uuid[]), CAST(:post_ids AS uuid[])) AS t(user_id, post_id)
    JOIN posts p ON p.post_id = t.post_id
    JOIN course_modules cm ON cm.module_id = p.module_id
    JOIN enrollments e ON e.course_id = cm.course_id AND e.user_id = t.user_id
    WHERE e.status IN ('active', 'completed')
) d ORDER BY d.id
ON CONFLICT (enrollment_id) DO UPDATE SET since = EXCLUDED.since, not_before = NULL
""")


def _completion_event(row: Row[Any], post_id: uuid.UUID) -> tuple[ev.CompletionEvent, int]:
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
    return event, row.version


# A fact's derivation and a rule change of the same post, applied at once by two consumers
# (or a request and a consumer), would each read in a snapshot without the other's write:
# the rule change's derivation misses the new fact, the fact's derivation uses the old
# rule, and the stored completion ends up disagreeing with both. A rule change writes the
# post's row (row-locked until it commits); a fact's derivation first takes the post's row
# in share mode, so one waits for the other and its next statement (a new snapshot in
# READ COMMITTED) sees what the other committed. Posts in key order (no cycles).
_LOCK_POSTS_SQL = """
SELECT count(*) FROM (
    SELECT 1 FROM posts WHERE post_id = ANY(CAST(:post_ids AS uuid[]))
    ORDER BY post_id FOR {mode}
) AS locked
"""
_LOCK_POSTS = text(_LOCK_POSTS_SQL.format(mode="SHARE"))
# A re-derivation of every student's completion of the posts (as a rule change's upsert).
_LOCK_POSTS_EXCLUSIVE = text(_LOCK_POSTS_SQL.format(mode="NO KEY UPDATE"))


async def lock_posts(uow: UnitOfWork, post_ids: Sequence[uuid.UUID]) -> None:
    """Share-lock the posts' rows until the transaction ends (before deriving from a new
    fact: see ``_LOCK_POSTS``). A request takes it before any other row lock."""
    await uow.session.execute(_LOCK_POSTS, {"post_ids": sorted(set(post_ids))})


async def derive_pairs(uow: UnitOfWork, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """:func:`derive` for (user, post) pairs, any posts, in three statements (the posts'
    lock, the derivation, the decisions queued for those it completed) and the events."""
    if not pairs:
        return
    await lock_posts(uow, [p for _, p in pairs])
    params = {"user_ids": [u for u, _ in pairs], "post_ids": [p for _, p in pairs]}
    await _derived(uow, DERIVE_PAIRS, params)


async def derive_posts(uow: UnitOfWork, post_ids: Sequence[uuid.UUID]) -> None:
    """:func:`derive` of every student's completion of each of ``post_ids`` (not deleted),
    set-based: two statements however many posts (the derivation, the decisions queued
    for those it completed) and the events. A replay defers it to its end, once for
    every post it re-derives (``projection.on_posts``)."""
    if post_ids:
        ids = sorted(set(post_ids))
        async with uow:
            # The posts' rows held against an account's deletion (it share-locks the
            # posts the user has facts on, ``service.lock_users_posts``): without it,
            # this statement's snapshot could still hold the facts that deletion removes,
            # and write their completions after it. (``on_posts`` already holds them.)
            await uow.session.execute(_LOCK_POSTS_EXCLUSIVE, {"post_ids": ids})
            await _derived(uow, DERIVE_POSTS, {"post_ids": array_literal(ids)})


async def _derived(uow: UnitOfWork, statement: Any, params: dict[str, Any]) -> None:
    session = uow.session
    changed = list((await session.execute(statement, params)).all())
    await uow.publish_many([_completion_event(row, row.post_id) for row in changed])
    done = [row for row in changed if row.completed]
    if done:
        await session.execute(
            ENQUEUE_PAIRS,
            {"user_ids": [r.user_id for r in done], "post_ids": [r.post_id for r in done]},
        )


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
    if user_id is not None:
        await lock_posts(uow, [post_id])  # a fact's derivation (a rule change holds it)
    changed = list((await session.execute(DERIVE, {"post_id": post_id, "user_id": user_id})).all())
    await uow.publish_many([_completion_event(row, post_id) for row in changed])
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
    await on_submissions(uow, [event])


async def on_submissions(uow: UnitOfWork, events: Sequence[ae.SubmissionState]) -> None:
    """:func:`on_submission` for a batch (each submission's newest state: the consumer
    applies only the newest event of an aggregate), set-based: the users' locks and
    deletions, every submission row, one derivation for every (user, post) touched."""
    async with uow:
        gone = await deleted_among(uow.session, uow.tables, [e.user_id for e in events])
        kept = [e for e in events if e.user_id not in gone]
        if not kept:
            return
        table = table_of(Submission)
        stmt = pg_insert(table).values(
            [
                {
                    "submission_id": e.submission_id,
                    "user_id": e.user_id,
                    "post_id": e.post_id,
                    "status": e.status,
                    "score": e.score,
                }
                for e in sorted(kept, key=lambda e: e.submission_id)
            ]
        )
        await uow.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[table.c.submission_id],
                set_={"status": stmt.excluded.status, "score": stmt.excluded.score},
            )
        )
        await derive_pairs(uow, sorted({(e.user_id, e.post_id) for e in kept}))


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

"""Groups a course follows, and enrollments held by them (issue 26; docs/progress.md,
"Sources").

An enrollment is active (or completed) exactly when a source holds it: the student's own
(``enrollments.self_enrolled``) or a group the course follows that the student is a member
of (``course_groups`` x ``group_members``, identity's memberships as its events said).
Group sources are never stored, so they cannot disagree with the memberships; every path
that changes a source (following, unfollowing, a membership beginning or ending, a group
deleted, a course published, a student dropping) changes that fact and then calls
:func:`reconcile` for the (user, course) pairs it may have touched. ``reconcile`` is
set-based (one INSERT ... SELECT for every enrollment that begins, one UPDATE for every one
that ends, however large the group) and publishes one enrollment event per change.

Dropping keeps completions, facts and grades (nothing is deleted); enrolling again
reactivates the same enrollment row (``completed`` if it had been), so they come back.

**No lost enrollment under concurrency**: a follow (a request), a membership change and a
course's publication (two consumers) each read what the others write. Each takes the
transaction-scoped advisory lock of every group it reads members of (sorted, so never a
deadlock) before reading: whichever comes second sees the first's commit (READ COMMITTED
takes each statement's snapshot after the lock is granted). Two sources reaching one
(user, course) at once meet on the enrollment row (``ON CONFLICT``, row locks): nobody is
enrolled twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from syllabus_shared.auth import Principal
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as ev
from syllabus_shared.db import utcnow
from syllabus_shared.groups import MembershipChange, forget_group, settle_group
from syllabus_shared.messaging.outbox import notices_quiet
from syllabus_shared.problems import not_found
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_progress import schemas
from syllabus_progress.models import GROUPS, Course
from syllabus_progress.rules import check_course_owner
from syllabus_progress.service import settle_course
from syllabus_progress.sources import Pair, arrays, lock_groups, sources

# A UUIDv7 made in SQL (the ids ``new_id`` makes in Python): the time in milliseconds over
# a random UUID's first 48 bits, and the version nibble set to 7.
_UUID7 = (
    "encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing"
    " substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)"
    " FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid"
)

# The candidate pairs (``:users``/``:courses``, zipped), and those of them some group
# source holds now (groups the course follows that the user is a member of), computed
# once for the whole set: hash joins, whatever the planner believes of tables filled a
# moment ago in the same transaction.
_PAIRS = """
WITH pairs AS MATERIALIZED (
    SELECT DISTINCT u AS user_id, c AS course_id
    FROM unnest(CAST(:users AS uuid[]), CAST(:courses AS uuid[])) AS t(u, c)
), holding AS MATERIALIZED (
    SELECT gm.user_id, f.course_id, array_agg(f.group_id ORDER BY f.group_id) AS group_ids
    FROM course_groups f
    JOIN group_members gm ON gm.group_id = f.group_id
    WHERE f.following
      AND f.course_id IN (SELECT course_id FROM pairs)
      AND gm.user_id IN (SELECT user_id FROM pairs)
    GROUP BY gm.user_id, f.course_id
)"""

_RETURNING = (
    "RETURNING e.id, e.user_id, e.course_id, e.status, e.enrolled_at, e.self_enrolled, e.version"
)

# Pairs a group holds, enrolled: new rows, or dropped rows reactivated. Only in published
# courses, never for a deleted account; an active row is left alone (nobody twice).
_ENROLL = text(f"""{_PAIRS}, enrolled AS (
INSERT INTO enrollments AS e
    (id, user_id, course_id, status, self_enrolled, enrolled_at, created_at, updated_at, version)
SELECT {_UUID7}, p.user_id, p.course_id, 'active', false, now(), now(), now(), 1
FROM pairs p
JOIN holding h ON h.user_id = p.user_id AND h.course_id = p.course_id
JOIN courses co ON co.course_id = p.course_id AND co.status = 'published' AND NOT co.deleted
WHERE NOT EXISTS (SELECT 1 FROM deleted_users d WHERE d.user_id = p.user_id)
ORDER BY p.user_id, p.course_id
ON CONFLICT (user_id, course_id) DO UPDATE
    SET status = CASE WHEN e.completed_at IS NULL THEN 'active' ELSE 'completed' END,
        enrolled_at = now(), dropped_at = NULL, updated_at = now(), version = e.version + 1
    WHERE e.status = 'dropped'
{_RETURNING}
)
SELECT n.*, h.group_ids FROM enrolled n
JOIN holding h ON h.user_id = n.user_id AND h.course_id = n.course_id
""")

# Pairs no source holds any more, dropped.
_DROP = text(f"""{_PAIRS}
UPDATE enrollments e
SET status = 'dropped', dropped_at = now(), updated_at = now(), version = e.version + 1
FROM pairs p
WHERE e.user_id = p.user_id AND e.course_id = p.course_id
  AND e.status IN ('active', 'completed') AND NOT e.self_enrolled
  AND NOT EXISTS (
      SELECT 1 FROM holding h WHERE h.user_id = e.user_id AND h.course_id = e.course_id
  )
{_RETURNING}
""")


# The candidates' enrollment rows, locked in one order (``complete_post`` locks by id too):
# the statements after it take their snapshots once every concurrent change to these rows
# committed, so a drop never judges by sources another transaction was changing.
_LOCK_PAIRS = text("""
SELECT e.id FROM enrollments e
JOIN (
    SELECT DISTINCT u, c FROM unnest(CAST(:users AS uuid[]), CAST(:courses AS uuid[])) AS t(u, c)
) p ON e.user_id = p.u AND e.course_id = p.c
ORDER BY e.id
FOR UPDATE OF e
""")

# Enrollments of the pairs whose module dates may have moved (their groups changed in a
# course with dates per group): decisions due again (``decisions``), as an override change
# makes them for the whole course.
_ENQUEUE_PAIRS = text("""
INSERT INTO pending_decisions (enrollment_id, since)
SELECT e.id, clock_timestamp() FROM enrollments e
JOIN (
    SELECT DISTINCT u, c FROM unnest(CAST(:users AS uuid[]), CAST(:courses AS uuid[])) AS t(u, c)
) p ON e.user_id = p.u AND e.course_id = p.c
WHERE e.status IN ('active', 'completed')
  AND EXISTS (SELECT 1 FROM unlock_overrides o WHERE o.course_id = e.course_id AND o.kind = 'group')
ON CONFLICT (enrollment_id) DO UPDATE SET since = EXCLUDED.since, not_before = NULL
""")


async def reconcile(
    uow: UnitOfWork, pairs: Sequence[Pair], *, enroll: bool = True, drop: bool = True
) -> int:
    """Make the enrollment of each of ``pairs`` agree with its sources: enroll (or
    reactivate) those a group holds, drop those nothing holds any more; one enrollment
    event for each that changed. Returns how many changed. A change that can only add
    sources passes ``drop=False`` (and one that can only remove them ``enroll=False``):
    one statement instead of two. The caller holds the locks of the groups involved
    (module docstring)."""
    if not pairs:
        return 0
    session = uow.session
    params = arrays(pairs)
    await session.execute(_LOCK_PAIRS, params)
    enrolled = (await session.execute(_ENROLL, params)).all() if enroll else []
    dropped = (await session.execute(_DROP, params)).all() if drop else []
    # A student's groups decide their dates: completion decisions are due again.
    await session.execute(_ENQUEUE_PAIRS, params)
    if not enrolled and not dropped:
        return 0
    events: list[tuple[Any, int]] = []
    for r in enrolled:
        events.append(
            (
                ev.EnrollmentCreated(
                    enrollment_id=r.id,
                    user_id=r.user_id,
                    course_id=r.course_id,
                    status=r.status,
                    enrolled_at=r.enrolled_at,
                    sources=sources(r.self_enrolled, r.group_ids),
                ),
                r.version,
            )
        )
    for r in dropped:
        events.append(
            (
                ev.EnrollmentDropped(
                    enrollment_id=r.id, user_id=r.user_id, course_id=r.course_id, status=r.status
                ),
                r.version,
            )
        )
    await uow.publish_many(events)
    return len(events)


# ---------------------------------------------------------------- what changes sources

_MEMBERS_OF = text("SELECT user_id FROM group_members WHERE group_id = :group_id")

_FOLLOWERS = text("""
SELECT group_id, course_id FROM course_groups
WHERE following AND group_id = ANY(CAST(:group_ids AS uuid[]))
""")

_FOLLOWED_BY = text("""
SELECT group_id FROM course_groups WHERE following AND course_id = :course_id
""")


async def members_changed(uow: UnitOfWork, change: MembershipChange) -> None:
    """Identity's memberships changed (the kernel applied them): each member who joined
    is enrolled in the courses following the group, each who left is dropped from them
    unless another source holds them. Runs in the consumer's transaction; the groups'
    locks are taken first."""
    session = uow.session
    await lock_groups(session, change.group_ids)
    followers: dict[uuid.UUID, list[uuid.UUID]] = {}
    rows = await session.execute(_FOLLOWERS, {"group_ids": [str(g) for g in change.group_ids]})
    for r in rows:
        followers.setdefault(r.group_id, []).append(r.course_id)
    pairs = [
        (user_id, course_id)
        for group_id, user_id in (*change.added, *change.removed)
        for course_id in followers.get(group_id, ())
    ]
    await reconcile(uow, pairs, enroll=bool(change.added), drop=bool(change.removed))


async def course_published(uow: UnitOfWork, course_id: uuid.UUID) -> None:
    """A course (now published, per the projection) enrolls the members of every group
    it follows (followed while a draft, or members who joined meanwhile)."""
    session = uow.session
    group_ids = list((await session.scalars(_FOLLOWED_BY, {"course_id": course_id})).all())
    if not group_ids:
        return
    await lock_groups(session, group_ids)
    members = await session.scalars(
        text("SELECT DISTINCT user_id FROM group_members WHERE group_id = ANY(:group_ids)"),
        {"group_ids": group_ids},
    )
    pairs: list[Pair] = [(user_id, course_id) for user_id in members]
    await reconcile(uow, pairs, drop=False)


async def on_group_deleted(uow: UnitOfWork, event: ie.GroupDeleted) -> None:
    """A deleted group: the kernel forgets it and its members; every course stops
    following it (``CourseGroupUnfollowed``) and its former members are dropped unless
    still held."""
    async with uow:
        session = uow.session
        await lock_groups(session, [event.group_id])
        change = await forget_group(session, GROUPS, event.group_id)
        now = utcnow()
        rows = (
            await session.execute(
                text("""
                UPDATE course_groups SET following = false, unfollowed_at = :now,
                       version = version + 1
                WHERE following AND group_id = :group_id
                RETURNING id, course_id, group_id, version
                """),
                {"now": now, "group_id": event.group_id},
            )
        ).all()
        await uow.publish_many(
            [
                (
                    ev.CourseGroupUnfollowed(
                        follow_id=r.id,
                        course_id=r.course_id,
                        group_id=r.group_id,
                        unfollowed_at=now,
                    ),
                    r.version,
                )
                for r in rows
            ]
        )
        await reconcile(
            uow,
            [(user_id, r.course_id) for _, user_id in change.removed for r in rows],
            enroll=False,
        )


# ---------------------------------------------------------------- following (the API)

_ENROLLED_MEMBERS = text("""
SELECT count(*) AS members,
       count(e.id) FILTER (WHERE e.status IN ('active', 'completed')) AS enrolled
FROM group_members gm
LEFT JOIN enrollments e ON e.user_id = gm.user_id AND e.course_id = :course_id
WHERE gm.group_id = :group_id
""")

# Whether a group exists, and whether ``user_id`` sees it as identity decides: its
# creator, or it follows a course they own.
_GROUP_SEEN = text("""
SELECT g.deleted,
       g.creator_id = :user_id OR EXISTS (
           SELECT 1 FROM course_groups f JOIN courses c ON c.course_id = f.course_id
           WHERE f.group_id = g.group_id AND f.following AND c.creator_id = :user_id
       ) AS seen
FROM known_groups g WHERE g.group_id = :group_id
""")

_FOLLOW = text("""
INSERT INTO course_groups AS f (id, course_id, group_id, following, followed_at, version)
VALUES (:id, :course_id, :group_id, true, :now, 1)
ON CONFLICT (course_id, group_id) DO UPDATE
    SET following = true, followed_at = :now, unfollowed_at = NULL, version = f.version + 1
    WHERE NOT f.following
RETURNING f.id, f.version, f.followed_at
""")

_UNFOLLOW = text("""
UPDATE course_groups SET following = false, unfollowed_at = :now, version = version + 1
WHERE course_id = :course_id AND group_id = :group_id AND following
RETURNING id, version
""")


async def _followable(
    uow: UnitOfWork, who: Principal, course_id: uuid.UUID, group_id: uuid.UUID
) -> None:
    """The caller may make the course follow the group: they own the course (or are an
    admin) and may see the group as identity decides (its creator, or it already follows
    a course they own): anyone else's group is 404, so a group's id alone lets nobody
    enroll its members or, through the follow, read them.

    Locks, in the order a publication being applied takes them (no deadlock): the
    course's row first (``on_course`` holds it until it commits, so either it sees this
    follow or this sees the course published), then the group's (so a deletion being
    applied is seen before the group is judged)."""
    session = uow.session
    check_course_owner(who, await session.get(Course, course_id, with_for_update=True))
    await lock_groups(session, [group_id])
    group = (
        await session.execute(_GROUP_SEEN, {"group_id": group_id, "user_id": who.user_id})
    ).first()
    if group is None or group.deleted or not (who.is_admin or group.seen):
        raise not_found("group")


async def _counts(uow: UnitOfWork, course_id: uuid.UUID, group_id: uuid.UUID) -> tuple[int, int]:
    row = (
        await uow.session.execute(_ENROLLED_MEMBERS, {"course_id": course_id, "group_id": group_id})
    ).one()
    return int(row.members), int(row.enrolled)


async def follow(
    uow: UnitOfWork, who: Principal, course_id: uuid.UUID, group_id: uuid.UUID
) -> tuple[schemas.CourseGroupFollow, bool]:
    """The course follows the group (owner, admin): every member is enrolled at once (a
    draft course: when published). Returns (the follow, newly followed)."""
    await settle_course(uow, course_id, enrollable=False)
    await settle_group(uow, GROUPS, group_id)
    async with uow:
        session = uow.session
        await _followable(uow, who, course_id, group_id)
        now = utcnow()
        row = (
            await session.execute(
                _FOLLOW,
                {
                    "id": ev.follow_id(course_id, group_id),
                    "course_id": course_id,
                    "group_id": group_id,
                    "now": now,
                },
            )
        ).first()
        if row is not None:
            followed_at = row.followed_at
            await uow.publish(
                ev.CourseGroupFollowed(
                    follow_id=row.id, course_id=course_id, group_id=group_id, followed_at=now
                ),
                sequence=row.version,
            )
            members = await session.scalars(_MEMBERS_OF, {"group_id": group_id})
            await reconcile(uow, [(user_id, course_id) for user_id in members], drop=False)
        else:
            followed_at = await session.scalar(
                text(
                    "SELECT followed_at FROM course_groups"
                    " WHERE course_id = :course_id AND group_id = :group_id"
                ),
                {"course_id": course_id, "group_id": group_id},
            )
        members_count, enrolled = await _counts(uow, course_id, group_id)
    body = schemas.CourseGroupFollow(
        course_id=course_id,
        group_id=group_id,
        followed_at=followed_at,
        members=members_count,
        enrolled=enrolled,
    )
    return body, row is not None


async def unfollow(
    uow: UnitOfWork, who: Principal, course_id: uuid.UUID, group_id: uuid.UUID
) -> None:
    """The course stops following the group: members no other source holds are dropped
    (their completions and grades stay). 404 when it did not follow it."""
    await settle_course(uow, course_id, enrollable=False)
    async with uow:
        session = uow.session
        check_course_owner(who, await session.get(Course, course_id))
        await lock_groups(session, [group_id])
        now = utcnow()
        row = (
            await session.execute(
                _UNFOLLOW, {"course_id": course_id, "group_id": group_id, "now": now}
            )
        ).first()
        if row is None:
            raise not_found("group followed by this course")
        await uow.publish(
            ev.CourseGroupUnfollowed(
                follow_id=row.id, course_id=course_id, group_id=group_id, unfollowed_at=now
            ),
            sequence=row.version,
        )
        members = await session.scalars(_MEMBERS_OF, {"group_id": group_id})
        await reconcile(uow, [(user_id, course_id) for user_id in members], enroll=False)


async def on_course(uow: UnitOfWork, event: ce.CourseState) -> None:
    """Catalog's course events (after the projection applied them): a published course
    enrolls the members of the groups it follows (followed while a draft, or joined)."""
    if event.status != "published" or notices_quiet.get():
        # A rebuild (``replay``) applies old course events again: enrollments are
        # progress's own data, never changed by a rebuild.
        return
    async with uow:
        await course_published(uow, event.course_id)

"""Progress read models: documents built for reading, each from ONE statement
(``evaluation``: enrollments, structure and facts), evaluated by ``rules.evaluate``.

The progress document (one student in one course; on the hot path, read on an autocommit
connection), the caller's enrollments with their percent, and a course's roster (with the
students' names, from the ``users`` projection).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from syllabus_shared.auth import Principal
from syllabus_shared.groups import settle_group
from syllabus_shared.pagination import Page, PageParams, cursor_uuid, encode_cursor
from syllabus_shared.problems import not_found
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_progress import schemas
from syllabus_progress.evaluation import Standing, standings, statement
from syllabus_progress.models import GROUPS, Course, User
from syllabus_progress.rules import check_course_owner, check_roster_access, percent
from syllabus_progress.service import settle_course
from syllabus_progress.sources import sources_of

# ---------------------------------------------------------------- the progress document

_DOCUMENT = statement(
    "SELECT * FROM enrollments WHERE user_id = :user_id AND course_id = :course_id"
)


async def progress_document(
    uow: UnitOfWork, who: Principal, course_id: uuid.UUID
) -> dict[str, Any]:
    """The progress document (``schemas.CourseProgress``) as plain data: one statement on
    an autocommit connection (no transaction), released before the document is built.

    Built as dicts, not models: the route serializes it once, without validating it again.
    """
    async with uow.read() as conn:
        found = await standings(conn, _DOCUMENT, {"user_id": who.user_id, "course_id": course_id})
    if not found:
        raise not_found("enrollment")
    return document(found[0])


def document(standing: Standing) -> dict[str, Any]:
    course = standing.course
    modules: list[dict[str, Any]] = []
    for m in course.modules:
        posts = []
        for index, p in enumerate(m.posts):
            f = p.facts
            title, kind = standing.posts[f.post_id]
            posts.append(
                {
                    "post_id": f.post_id,
                    "position": index + 1,
                    "title": title,
                    "kind": kind,
                    "completed": p.completed,
                    "completed_at": f.completed_at if p.completed else None,
                    "locked": p.locked,
                    "rule": f.rule,
                    "min_score": f.min_score,
                    "status": p.status,
                    "score": f.score,
                }
            )
        modules.append(
            {
                "module_id": m.facts.module_id,
                "position": len(modules) + 1,
                "title": standing.module_titles[m.facts.module_id],
                "completed_posts": m.done,
                "total_posts": m.total,
                "percent": percent(m.done, m.total),
                "state": m.state,
                "locks": m.locks,
                "posts": posts,
            }
        )
    return {
        "course_id": standing.course_id,
        "user_id": standing.user_id,
        "status": schemas.EnrollmentStatus(standing.status).value,
        "completed_posts": course.done,
        "total_posts": course.total,
        "percent": percent(course.done, course.total),
        "next_post_id": course.next_post_id,
        "modules": modules,
    }


async def course_progress(
    uow: UnitOfWork, who: Principal, course_id: uuid.UUID
) -> schemas.CourseProgress:
    """The progress document as a model (the route serves :func:`progress_document`)."""
    return schemas.CourseProgress.model_validate(await progress_document(uow, who, course_id))


# ---------------------------------------------------------------- enrollments and roster


def _next_cursor(ids: Sequence[uuid.UUID], page: PageParams) -> str | None:
    if len(ids) <= page.limit:
        return None
    return encode_cursor({"id": str(ids[page.limit - 1])})


_MY_ENROLLMENTS = statement(
    "SELECT * FROM enrollments WHERE user_id = :user_id"
    " AND (CAST(:after AS uuid) IS NULL OR id < CAST(:after AS uuid))"
    " ORDER BY id DESC LIMIT :limit",
    order="e.id DESC",
)
_ROSTER = statement(
    "SELECT * FROM enrollments WHERE course_id = :course_id"
    " AND (CAST(:after AS uuid) IS NULL OR id < CAST(:after AS uuid))"
    " AND (CAST(:group_id AS uuid) IS NULL OR user_id IN"
    "      (SELECT user_id FROM group_members WHERE group_id = CAST(:group_id AS uuid)))"
    " ORDER BY id DESC LIMIT :limit",
    order="e.id DESC",
)
# The enrolled members of the groups a course follows (``groups_summary``).
_FOLLOWED_MEMBERS = statement(
    "SELECT * FROM enrollments WHERE course_id = :course_id"
    " AND status IN ('active', 'completed') AND user_id IN"
    " (SELECT gm.user_id FROM group_members gm JOIN course_groups f"
    "  ON f.group_id = gm.group_id AND f.course_id = :course_id AND f.following)"
)
_FOLLOWED_GROUPS = text("""
SELECT f.group_id, COALESCE(g.name, '') AS name, f.followed_at,
       count(gm.user_id) AS members,
       count(e.id) FILTER (WHERE e.status IN ('active', 'completed')) AS enrolled,
       count(e.id) FILTER (WHERE e.status = 'completed') AS completed,
       array_agg(gm.user_id) FILTER (WHERE e.status IN ('active', 'completed')) AS enrolled_ids
FROM course_groups f
LEFT JOIN known_groups g ON g.group_id = f.group_id
LEFT JOIN group_members gm ON gm.group_id = f.group_id
LEFT JOIN enrollments e ON e.user_id = gm.user_id AND e.course_id = f.course_id
WHERE f.course_id = :course_id AND f.following
GROUP BY f.group_id, g.name, f.followed_at
ORDER BY lower(COALESCE(g.name, '')), f.group_id
""")


_NO_NAMES: tuple[str | None, str | None] = (None, None)


async def _names(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[str | None, str | None]]:
    """(username, display_name) of each of ``user_ids`` that progress knows (a left join
    by primary key: unknown users are simply absent)."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(col(User.user_id), col(User.username), col(User.display_name)).where(
            col(User.user_id).in_(user_ids)
        )
    )
    return {r.user_id: (r.username, r.display_name) for r in rows}


async def my_enrollments(
    uow: UnitOfWork, who: Principal, page: PageParams
) -> Page[schemas.EnrollmentWithProgress]:
    """The caller's enrollments, newest first, each with its percent (the same evaluation
    as the document, locks included): one statement."""
    params = {"user_id": who.user_id, "after": cursor_uuid(page), "limit": page.limit + 1}
    async with uow.read() as conn:
        found = await standings(conn, _MY_ENROLLMENTS, params)
    async with uow.read() as conn:
        held = await sources_of(conn, [s.enrollment_id for s in found[: page.limit]])
    items = [
        schemas.EnrollmentWithProgress(
            id=s.enrollment_id,
            user_id=s.user_id,
            course_id=s.course_id,
            status=schemas.EnrollmentStatus(s.status),
            enrolled_at=s.enrolled_at,
            completed_at=s.completed_at,
            version=s.version,
            percent=percent(s.course.done, s.course.total),
            sources=schemas.api_sources(held.get(s.enrollment_id, [])),
        )
        for s in found[: page.limit]
    ]
    return Page[schemas.EnrollmentWithProgress](
        items=items, next_cursor=_next_cursor([s.enrollment_id for s in found], page)
    )


async def roster(
    uow: UnitOfWork,
    who: Principal,
    course_id: uuid.UUID,
    page: PageParams,
    group_id: uuid.UUID | None = None,
) -> Page[schemas.StudentProgress]:
    """Every enrolled student's progress in a course (owner or admin), with their names:
    one statement a page after the access check, and one look-up of the page's names by
    primary key in ``users`` (kept from identity's events). A student whose registration
    has not reached progress yet is listed with null names, not left out.

    First waits (bounded, before the transaction) while the course may still be on its way
    into the projection (``service.settle_course``).
    """
    if not uow.is_open:
        await settle_course(uow, course_id, enrollable=False)
    if group_id is not None:
        await settle_group(uow, GROUPS, group_id)  # 404 unknown; one just created waited for
    params = {
        "course_id": course_id,
        "after": cursor_uuid(page),
        "limit": page.limit + 1,
        "group_id": group_id,
    }
    async with uow:
        session = uow.session
        check_roster_access(who, await session.get(Course, course_id))
        found = await standings(session, _ROSTER, params)
        names = await _names(session, [s.user_id for s in found[: page.limit]])
    items = [
        schemas.StudentProgress(
            user_id=s.user_id,
            username=username,
            display_name=display_name,
            status=schemas.EnrollmentStatus(s.status),
            completed_posts=s.course.done,
            total_posts=s.course.total,
            percent=percent(s.course.done, s.course.total),
        )
        for s in found[: page.limit]
        for username, display_name in [names.get(s.user_id, _NO_NAMES)]
    ]
    return Page[schemas.StudentProgress](
        items=items, next_cursor=_next_cursor([s.enrollment_id for s in found], page)
    )


async def groups_summary(
    uow: UnitOfWork, who: Principal, course_id: uuid.UUID, *, average: bool = True
) -> list[schemas.CourseGroupSummary]:
    """The groups the course follows (owner, admin), each with its members and how many
    are enrolled and completed (one aggregate statement), and their average percent (the
    roster's evaluation of every enrolled member, so the numbers agree with it: the costly
    part, skipped with ``average=False`` — a page that only names the groups)."""
    if not uow.is_open:
        await settle_course(uow, course_id, enrollable=False)
    async with uow:
        session = uow.session
        check_course_owner(who, await session.get(Course, course_id))
        groups = (await session.execute(_FOLLOWED_GROUPS, {"course_id": course_id})).all()
        wanted = average and any(g.enrolled for g in groups)
        found = (
            await standings(session, _FOLLOWED_MEMBERS, {"course_id": course_id}) if wanted else []
        )
    by_user = {s.user_id: s for s in found}
    summaries = []
    for g in groups:
        mean: float | None = None
        if wanted:
            percents = [
                percent(s.course.done, s.course.total)
                for u in g.enrolled_ids or ()
                if (s := by_user.get(u)) is not None
            ]
            mean = round(sum(percents) / len(percents), 2) if percents else None
        summaries.append(
            schemas.CourseGroupSummary(
                group_id=g.group_id,
                name=g.name,
                followed_at=g.followed_at,
                members=g.members,
                enrolled=g.enrolled,
                completed=g.completed,
                average_percent=mean,
            )
        )
    return summaries

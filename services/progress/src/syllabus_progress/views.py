"""Progress read models: documents built for reading, each from ONE statement.

The progress document (one student in one course; on the hot path, read on an autocommit
connection), the caller's enrollments with their percent, and a course's roster.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, func, select, true
from sqlmodel import col
from syllabus_shared.auth import Principal
from syllabus_shared.pagination import Page, PageParams, cursor_uuid, encode_cursor
from syllabus_shared.problems import not_found
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_progress import schemas
from syllabus_progress.models import (
    Completion,
    Course,
    CourseModule,
    Enrollment,
    Module,
    ModulePost,
    Post,
    table_of,
)
from syllabus_progress.rules import check_roster_access, percent
from syllabus_progress.service import (
    enrollment_counts,
    module_present,
    post_counts,
    settle_course,
)

# ---------------------------------------------------------------- the progress document


def _document_statement() -> Select[*tuple[Any, ...]]:
    """The whole progress document in ONE statement: the enrollment, and LATERAL to it the
    course's modules and counted posts in order, with the user's completions.

    Modules follow the outline; posts follow their module's ``module_posts`` order when
    listed there, else their own ``position`` after the listed ones (a post event can arrive
    before the reorder event). Missing rows never hide anything: a module without a
    ``modules`` row shows with an empty title.

    No enrollment: no row. An enrollment in a course without modules: one row whose module
    columns are NULL. One statement is one snapshot, so it needs no transaction. Built once
    (bound parameters ``user_id`` and ``course_id``): building a select of this size costs
    more Python than running it.
    """
    e = table_of(Enrollment)
    unlisted = col(ModulePost.position).is_(None)
    structure = (
        select(
            col(CourseModule.position).label("module_position"),
            col(CourseModule.module_id),
            func.coalesce(col(Module.title), "").label("module_title"),
            col(Post.post_id),
            col(Post.title),
            col(Post.kind),
            col(Completion.id).label("completion_id"),
            col(Completion.completed_at),
            unlisted.label("unlisted"),
            func.coalesce(col(ModulePost.position), col(Post.position)).label("post_position"),
        )
        .select_from(CourseModule)
        .outerjoin(Module, col(Module.module_id) == col(CourseModule.module_id))
        .outerjoin(Post, and_(col(Post.module_id) == col(CourseModule.module_id), post_counts()))
        .outerjoin(
            ModulePost,
            and_(
                col(ModulePost.module_id) == col(Post.module_id),
                col(ModulePost.post_id) == col(Post.post_id),
            ),
        )
        .outerjoin(
            Completion,
            and_(
                col(Completion.post_id) == col(Post.post_id),
                col(Completion.user_id) == e.c.user_id,
                col(Completion.completed).is_(True),
            ),
        )
        .where(col(CourseModule.course_id) == e.c.course_id, module_present())
        .lateral("structure")
    )
    s = structure.c
    return (
        select(
            e.c.status,
            s.module_id,
            s.module_title,
            s.post_id,
            s.title,
            s.kind,
            s.completion_id,
            s.completed_at,
        )
        .select_from(e)
        .outerjoin(structure, true())
        .where(e.c.user_id == bindparam("user_id"), e.c.course_id == bindparam("course_id"))
        .order_by(s.module_position, s.module_id, s.unlisted, s.post_position, s.post_id)
    )


_DOCUMENT = _document_statement()


async def progress_document(
    uow: UnitOfWork, who: Principal, course_id: uuid.UUID
) -> dict[str, Any]:
    """The progress document (``schemas.CourseProgress``) as plain data: one statement on
    an autocommit connection (no transaction), released before the document is built.

    Built as dicts, not models: the route serializes it once, without validating it again.
    """
    async with uow.read() as conn:
        rows = (
            await conn.execute(_DOCUMENT, {"user_id": who.user_id, "course_id": course_id})
        ).all()
    if not rows:
        raise not_found("enrollment")
    return _document(rows, who, course_id)


def _document(rows: Sequence[Row[Any]], who: Principal, course_id: uuid.UUID) -> dict[str, Any]:
    modules: list[dict[str, Any]] = []
    module: dict[str, Any] = {}
    posts: list[dict[str, Any]] = []
    next_post_id: uuid.UUID | None = None
    done = total = 0
    for row in rows:
        if row.module_id is None:
            continue  # enrolled in a course without modules
        if not modules or module["module_id"] != row.module_id:
            posts = []
            module = {
                "module_id": row.module_id,
                "position": len(modules) + 1,
                "title": row.module_title,
                "completed_posts": 0,
                "total_posts": 0,
                "percent": 0.0,
                "posts": posts,
            }
            modules.append(module)
        if row.post_id is None:
            continue  # a module without counted posts
        completed = row.completion_id is not None
        posts.append(
            {
                "post_id": row.post_id,
                "position": len(posts) + 1,
                "title": row.title,
                "kind": row.kind,
                "completed": completed,
                "completed_at": row.completed_at if completed else None,
            }
        )
        module["total_posts"] += 1
        if completed:
            module["completed_posts"] += 1
        elif next_post_id is None:
            next_post_id = row.post_id
    for m in modules:
        m["percent"] = percent(m["completed_posts"], m["total_posts"])
        done += m["completed_posts"]
        total += m["total_posts"]
    return {
        "course_id": course_id,
        "user_id": who.user_id,
        "status": schemas.EnrollmentStatus(rows[0].status).value,
        "completed_posts": done,
        "total_posts": total,
        "percent": percent(done, total),
        "next_post_id": next_post_id,
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


async def my_enrollments(
    uow: UnitOfWork, who: Principal, page: PageParams
) -> Page[schemas.EnrollmentWithProgress]:
    """The caller's enrollments, newest first, each with its percent: one statement."""
    counts = enrollment_counts()
    stmt = (
        select(Enrollment, counts.c.total, counts.c.done)
        .join(counts, true())
        .where(col(Enrollment.user_id) == who.user_id)
    )
    after = cursor_uuid(page)
    if after is not None:
        stmt = stmt.where(col(Enrollment.id) < after)
    async with uow:
        rows = (
            await uow.session.execute(
                stmt.order_by(col(Enrollment.id).desc()).limit(page.limit + 1)
            )
        ).all()
    items = [
        schemas.EnrollmentWithProgress(
            **schemas.EnrollmentPublic.model_validate(r.Enrollment).model_dump(),
            percent=percent(r.done, r.total),
        )
        for r in rows[: page.limit]
    ]
    return Page[schemas.EnrollmentWithProgress](
        items=items, next_cursor=_next_cursor([r.Enrollment.id for r in rows], page)
    )


async def roster(
    uow: UnitOfWork, who: Principal, course_id: uuid.UUID, page: PageParams
) -> Page[schemas.StudentProgress]:
    """Every enrolled student's progress in a course (owner or admin): one statement a page.

    First waits (bounded, before the transaction) while the course may still be on its way
    into the projection (``service.settle_course``).
    """
    if not uow.is_open:
        await settle_course(uow, course_id, enrollable=False)
    counts = enrollment_counts()
    stmt = (
        select(
            col(Enrollment.id),
            col(Enrollment.user_id),
            col(Enrollment.status),
            counts.c.total,
            counts.c.done,
        )
        .join(counts, true())
        .where(col(Enrollment.course_id) == course_id)
    )
    after = cursor_uuid(page)
    if after is not None:
        stmt = stmt.where(col(Enrollment.id) < after)
    async with uow:
        session = uow.session
        check_roster_access(who, await session.get(Course, course_id))
        rows = (
            await session.execute(stmt.order_by(col(Enrollment.id).desc()).limit(page.limit + 1))
        ).all()
    items = [
        schemas.StudentProgress(
            user_id=r.user_id,
            status=schemas.EnrollmentStatus(r.status),
            completed_posts=r.done,
            total_posts=r.total,
            percent=percent(r.done, r.total),
        )
        for r in rows[: page.limit]
    ]
    return Page[schemas.StudentProgress](
        items=items, next_cursor=_next_cursor([r.id for r in rows], page)
    )

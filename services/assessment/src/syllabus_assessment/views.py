"""Assessment read models: a student's grades in a course and a course's gradebook (a JSON
page, or the whole of it as CSV, streamed from a server-side cursor), its rows with the
students' names (the ``users`` projection, kept from identity's events).

Both are computed when read from the projection and ``post_grades``, so they follow
structure changes as soon as their events are applied. A course's gradable posts are the
published, not deleted ``assignment`` and ``quiz`` posts of the (non-deleted) modules
attached to it, in course order: modules by their position in the course, posts by their
module's ``module_posts`` order when listed there, else by their own ``position`` after the
listed ones (a post event can arrive before the reorder event).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Select,
    Text,
    Uuid,
    and_,
    bindparam,
    cast,
    func,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col
from syllabus_shared import groups
from syllabus_shared.auth import Principal
from syllabus_shared.db import table_of
from syllabus_shared.pagination import PageParams, cursor_uuid, encode_cursor
from syllabus_shared.problems import not_found
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_assessment import schemas
from syllabus_assessment.models import (
    GROUPS,
    Course,
    CourseModule,
    Enrollment,
    Module,
    ModulePost,
    Post,
    PostGrade,
    Submission,
    User,
)
from syllabus_assessment.rules import (
    ENROLLED,
    GRADABLE,
    PUBLISHED,
    check_gradebook_access,
    percent,
    post_status,
    round2,
)
from syllabus_assessment.service import (
    effective_due_at,
    module_present,
    settle_course,
    settle_enrollment,
)

# Rows fetched per round trip from the gradebook's server-side cursor.
CSV_BATCH = 500


@dataclass(frozen=True)
class GradablePost:
    post_id: uuid.UUID
    module_id: uuid.UUID
    title: str
    kind: str
    max_points: int


def _gradable_posts_statement() -> Select[*tuple[Any, ...]]:
    """The course's gradable posts in course order (bound parameter ``course_id``)."""
    unlisted = col(ModulePost.position).is_(None)
    return (
        select(
            col(Post.post_id),
            col(Post.module_id),
            col(Post.title),
            col(Post.kind),
            func.coalesce(col(Post.max_points), 0).label("max_points"),
        )
        .select_from(CourseModule)
        .outerjoin(Module, col(Module.module_id) == col(CourseModule.module_id))
        .join(
            Post,
            and_(
                col(Post.module_id) == col(CourseModule.module_id),
                col(Post.status) == PUBLISHED,
                col(Post.deleted).is_(False),
                col(Post.kind).in_(GRADABLE),
            ),
        )
        .outerjoin(
            ModulePost,
            and_(
                col(ModulePost.module_id) == col(Post.module_id),
                col(ModulePost.post_id) == col(Post.post_id),
            ),
        )
        .where(col(CourseModule.course_id) == bindparam("course_id"), module_present())
        .order_by(
            col(CourseModule.position),
            col(CourseModule.module_id),
            unlisted,
            func.coalesce(col(ModulePost.position), col(Post.position)),
            col(Post.post_id),
        )
    )


_GRADABLE_POSTS = _gradable_posts_statement()


async def gradable_posts(conn: AsyncConnection, course_id: uuid.UUID) -> list[GradablePost]:
    rows = (await conn.execute(_GRADABLE_POSTS, {"course_id": course_id})).all()
    return [GradablePost(r.post_id, r.module_id, r.title, r.kind, r.max_points) for r in rows]


# ---------------------------------------------------------------- a student's grades


async def my_grades(
    uow: UnitOfWork, who: Principal, course_id: uuid.UUID
) -> schemas.GradesDocument:
    """The caller's grades in a course they are enrolled in (404 otherwise): one entry per
    gradable post, in course order.

    First waits (bounded, before reading) while the caller may have just enrolled.
    """
    await settle_enrollment(uow, who, course_id)
    async with uow:
        conn = await uow.session.connection()
        enrolled = await conn.scalar(
            select(
                select(col(Enrollment.enrollment_id))
                .where(
                    col(Enrollment.user_id) == who.user_id,
                    col(Enrollment.course_id) == course_id,
                    col(Enrollment.status).in_(ENROLLED),
                )
                .exists()
            )
        )
        if not enrolled:
            raise not_found("enrollment")
        posts = await gradable_posts(conn, course_id)
        # One statement: per post, the caller's grade row (if any) and their due date
        # (``effective_due_at``: their own, their groups', or the post's).
        post, g = table_of(Post), table_of(PostGrade)
        rows = {
            r.post_id: r
            for r in (
                await conn.execute(
                    select(
                        post.c.post_id,
                        g.c.attempts_used,
                        g.c.status,
                        g.c.late,
                        g.c.kept_score,
                        effective_due_at(
                            who.user_id, post.c.post_id, post.c.module_id, post.c.due_at
                        ).label("due_at"),
                    )
                    .select_from(post)
                    .outerjoin(g, and_(g.c.post_id == post.c.post_id, g.c.user_id == who.user_id))
                    .where(post.c.post_id.in_([p.post_id for p in posts]))
                )
            ).all()
        }
    entries = []
    earned = Decimal(0)
    for p in posts:
        r = rows.get(p.post_id)
        graded = r if r is not None and r.status is not None else None
        attempts_used = graded.attempts_used if graded else 0
        kept: Decimal | None = graded.kept_score if graded else None
        if kept is not None:
            earned += kept
        entries.append(
            schemas.PostGradeEntry(
                post_id=p.post_id,
                module_id=p.module_id,
                title=p.title,
                kind=p.kind,
                max_points=p.max_points,
                kept_score=None if kept is None else float(kept),
                status=schemas.GradeStatus(
                    post_status(attempts_used, graded.status if graded else None)
                ),
                attempts_used=attempts_used,
                late=bool(graded.late) if graded else False,
                due_at=r.due_at if r is not None else None,
            )
        )
    possible = sum(p.max_points for p in posts)
    return schemas.GradesDocument(
        course_id=course_id,
        user_id=who.user_id,
        earned=float(round2(earned)),
        possible=possible,
        percent=percent(earned, possible),
        posts=entries,
    )


# ---------------------------------------------------------------- the gradebook


async def _gradebook_course(uow: UnitOfWork, who: Principal, course_id: uuid.UUID) -> None:
    """404/403 unless the caller is the course's owner or an admin."""
    async with uow.read() as conn:
        course = (
            await conn.execute(
                select(
                    col(Course.deleted),
                    col(Course.creator_id),
                    col(Course.status),
                    col(Course.visibility),
                ).where(col(Course.course_id) == course_id)
            )
        ).first()
    check_gradebook_access(
        who,
        course is not None,
        bool(course and course.deleted),
        course.creator_id if course else None,
        bool(course and course.status == PUBLISHED and course.visibility == "public"),
    )


async def settle_group(uow: UnitOfWork, group_id: uuid.UUID) -> None:
    """404 unless identity's group is known here (the kernel's rule, waiting for one
    minted a moment ago)."""
    await groups.settle_group(uow, GROUPS, group_id)


def in_group(user_id: Any, group_id: Any) -> ColumnElement[bool]:
    """``user_id`` (a column of the outer query) is now a member of ``group_id``."""
    members = GROUPS.members
    return (
        select(members.c.user_id)
        .where(members.c.group_id == group_id, members.c.user_id == user_id)
        .exists()
    )


def _students_statement(
    *, cells: bool, after: uuid.UUID | None = None, group: bool = False
) -> Select[Any]:
    """One row per student enrolled in the course (bound ``course_id``), by ``user_id``
    (after ``after``; with ``group``, only the current members of the bound
    ``group_id``), with their names, their totals over the posts ``post_ids`` (a bound
    array, in course order) and, with ``cells``, their kept scores as CSV cells in that
    order (``7.50,,10.00``: empty when none).

    A LATERAL over ``unnest(post_ids) WITH ORDINALITY`` joined to ``post_grades`` by its
    key: rows leave in ``user_id`` order without a sort of the whole course, so a
    server-side cursor hands out the first ones at once. The names come from ``users``
    by its primary key, a LEFT JOIN: a student whose registration has not arrived yet
    is listed with null names, not left out. Built once per shape.
    """
    enrolled = select(col(Enrollment.user_id)).where(
        col(Enrollment.course_id) == bindparam("course_id"),
        col(Enrollment.status).in_(ENROLLED),
    )
    if after is not None:
        enrolled = enrolled.where(col(Enrollment.user_id) > after)
    if group:
        enrolled = enrolled.where(in_group(col(Enrollment.user_id), bindparam("group_id")))
    e = enrolled.distinct().subquery("e")
    p = (
        func.unnest(bindparam("post_ids", type_=ARRAY(Uuid())))
        .table_valued("post_id", with_ordinality="ord")
        .render_derived("p")
    )
    g = table_of(PostGrade)
    columns: list[Any] = [
        func.coalesce(func.sum(g.c.kept_score), 0).label("earned"),
        func.count(g.c.post_id).filter(g.c.status == "graded").label("graded"),
        func.count(g.c.post_id)
        .filter(g.c.status == "submitted", g.c.attempts_used > 0)
        .label("submitted"),
    ]
    if cells:
        # numeric(8, 2) as text is the score with its 2 decimals ("7.50").
        cell = func.coalesce(cast(g.c.kept_score, Text), "")
        columns.append(
            func.array_to_string(func.array_agg(aggregate_order_by(cell, p.c.ord)), ",").label(
                "cells"
            )
        )
    totals = (
        select(*columns)
        .select_from(p)
        .outerjoin(g, and_(g.c.user_id == e.c.user_id, g.c.post_id == p.c.post_id))
        .lateral("totals")
    )
    u = table_of(User)
    out = [
        e.c.user_id,
        u.c.username,
        u.c.display_name,
        totals.c.earned,
        totals.c.graded,
        totals.c.submitted,
    ]
    if cells:
        out.append(totals.c.cells)
    return (
        select(*out)
        .select_from(e)
        .join(totals, true())
        .outerjoin(u, u.c.user_id == e.c.user_id)
        .order_by(e.c.user_id)
    )


_GRADEBOOK_CSV = _students_statement(cells=True)
_GRADEBOOK_CSV_GROUP = _students_statement(cells=True, group=True)


async def gradebook(
    uow: UnitOfWork,
    who: Principal,
    course_id: uuid.UUID,
    page: PageParams,
    *,
    group_id: uuid.UUID | None = None,
) -> schemas.GradebookPage:
    """A page of the course's gradebook (owner or admin): one row per enrolled student
    (with ``group_id``: per enrolled current member of that group; an unknown group 404),
    ordered by ``user_id``, each with its cells (one per gradable post, in the page's
    ``posts`` order: a table needs no other call). The cells are one look-up of the page's
    students' ``post_grades`` rows by key, in the same transaction as the totals."""
    await settle_course(uow, course_id)
    await _gradebook_course(uow, who, course_id)
    if group_id is not None:
        await settle_group(uow, group_id)
    async with uow:
        conn = await uow.session.connection()
        posts = await gradable_posts(conn, course_id)
        post_ids = [p.post_id for p in posts]
        stmt = _students_statement(
            cells=False, after=cursor_uuid(page, "user_id"), group=group_id is not None
        )
        params: dict[str, Any] = {"course_id": course_id, "post_ids": post_ids}
        if group_id is not None:
            params["group_id"] = group_id
        rows = (await conn.execute(stmt.limit(page.limit + 1), params)).all()
        shown = rows[: page.limit]
        grades: dict[tuple[uuid.UUID, uuid.UUID], Any] = {}
        if shown and post_ids:
            found = await conn.execute(
                select(
                    col(PostGrade.user_id),
                    col(PostGrade.post_id),
                    col(PostGrade.attempts_used),
                    col(PostGrade.status),
                    col(PostGrade.late),
                    col(PostGrade.kept_score),
                ).where(
                    col(PostGrade.user_id).in_([r.user_id for r in shown]),
                    col(PostGrade.post_id).in_(post_ids),
                )
            )
            grades = {(g.user_id, g.post_id): g for g in found.all()}
    possible = sum(p.max_points for p in posts)
    items = [_row(r, possible, posts, grades) for r in shown]
    more = len(rows) > page.limit
    return schemas.GradebookPage(
        items=items,
        next_cursor=encode_cursor({"user_id": str(items[-1].user_id)}) if more else None,
        posts=[
            schemas.GradebookColumn(
                post_id=p.post_id,
                module_id=p.module_id,
                title=p.title,
                kind=p.kind,
                max_points=p.max_points,
            )
            for p in posts
        ],
    )


def _cells(
    user_id: uuid.UUID, posts: list[GradablePost], grades: dict[tuple[uuid.UUID, uuid.UUID], Any]
) -> list[schemas.GradebookCell]:
    cells = []
    for p in posts:
        g = grades.get((user_id, p.post_id))
        cells.append(
            schemas.GradebookCell(
                post_id=p.post_id,
                kept_score=None if g is None or g.kept_score is None else float(g.kept_score),
                status=schemas.GradeStatus(
                    post_status(g.attempts_used if g else 0, g.status if g else None)
                ),
                late=bool(g.late) if g else False,
            )
        )
    return cells


def _row(
    r: Any,
    possible: int,
    posts: list[GradablePost],
    grades: dict[tuple[uuid.UUID, uuid.UUID], Any],
) -> schemas.GradebookRow:
    earned = Decimal(r.earned)
    return schemas.GradebookRow(
        user_id=r.user_id,
        username=r.username,
        display_name=r.display_name,
        earned=float(round2(earned)),
        possible=possible,
        percent=percent(earned, possible),
        graded=r.graded,
        submitted=r.submitted,
        missing=max(len(posts) - r.graded - r.submitted, 0),
        scores=_cells(r.user_id, posts, grades),
    )


# ---------------------------------------------------------------- a course's grading queue


async def course_submissions(
    uow: UnitOfWork,
    who: Principal,
    course_id: uuid.UUID,
    page: PageParams,
    *,
    status: schemas.SubmissionStatus | None = None,
    group_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """A course's submissions, oldest first (its owner or an admin, like its gradebook):
    every submission to a post of a (non-deleted) module attached to the course, by a
    student enrolled in it (active or completed), with the student's names and the post's
    title; ``status=submitted`` is the queue of work waiting for a grade; ``group_id``
    keeps the submissions of that group's current members (an unknown group 404).

    One statement: the submissions of the course's posts (``ix_submissions_post_id_id``)
    in id order (UUIDv7: the order they arrived), after the cursor's id.
    """
    await settle_course(uow, course_id)
    await _gradebook_course(uow, who, course_id)
    if group_id is not None:
        await settle_group(uow, group_id)
    enrolled = (
        select(col(Enrollment.enrollment_id))
        .where(
            col(Enrollment.course_id) == course_id,
            col(Enrollment.user_id) == col(Submission.user_id),
            col(Enrollment.status).in_(ENROLLED),
        )
        .exists()
    )
    stmt = (
        select(Submission, col(User.username), col(User.display_name), col(Post.title))
        .join(Post, col(Post.post_id) == col(Submission.post_id))
        .join(
            CourseModule,
            and_(
                col(CourseModule.module_id) == col(Post.module_id),
                col(CourseModule.course_id) == course_id,
            ),
        )
        .outerjoin(Module, col(Module.module_id) == col(Post.module_id))
        .outerjoin(User, col(User.user_id) == col(Submission.user_id))
        .where(col(Post.deleted).is_(False), module_present(), enrolled)
    )
    if status is not None:
        stmt = stmt.where(col(Submission.status) == status.value)
    if group_id is not None:
        stmt = stmt.where(in_group(col(Submission.user_id), group_id))
    after = cursor_uuid(page)
    if after is not None:
        stmt = stmt.where(col(Submission.id) > after)
    stmt = stmt.order_by(col(Submission.id)).limit(page.limit + 1)
    async with uow:
        rows = (await uow.session.execute(stmt)).all()
    # Plain documents, like a post's list: each has the fields of its kind only.
    items = [
        {
            **schemas.submission_document(submission),
            "username": username,
            "display_name": display_name,
            "post_title": title,
        }
        for submission, username, display_name, title in rows[: page.limit]
    ]
    more = len(rows) > page.limit
    return {
        "items": items,
        "next_cursor": encode_cursor({"id": str(items[-1]["id"])}) if more else None,
    }


# ---------------------------------------------------------------- the gradebook as CSV


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


_QUOTED = frozenset(',"\r\n')


def _text(value: str | None) -> str:
    """A text cell as ``csv`` would write it (quoted when it must be; empty for none),
    safe from formulas: the names on each row, without a writer per row."""
    if value is None:
        return ""
    value = _cell(value)
    if _QUOTED.isdisjoint(value):
        return value
    return '"' + value.replace('"', '""') + '"'


async def gradebook_csv(
    uow: UnitOfWork, who: Principal, course_id: uuid.UUID, *, group_id: uuid.UUID | None = None
) -> AsyncIterator[str]:
    """The whole gradebook as CSV, for a ``StreamingResponse``: a header row, then one row
    per enrolled student (with ``group_id``: per enrolled current member of that group) by
    ``user_id``: ``user_id``, ``username``, ``display_name``
    (empty while unknown), a column per gradable post in course order (the kept score,
    empty when none), then ``earned``, ``possible`` and ``percent``.

    Access is checked here, before anything is streamed (so a refusal is a problem
    document); the rows come from a server-side cursor, ``CSV_BATCH`` at a time, so the
    file is never whole in memory.
    """
    await settle_course(uow, course_id)
    await _gradebook_course(uow, who, course_id)
    if group_id is not None:
        await settle_group(uow, group_id)
    return _csv_rows(uow, course_id, group_id)


async def _csv_rows(
    uow: UnitOfWork, course_id: uuid.UUID, group_id: uuid.UUID | None
) -> AsyncIterator[str]:
    header = io.StringIO()
    async with uow.db.engine.connect() as conn, conn.begin():
        # One transaction: the header's posts and the rows are one snapshot. JIT compiling
        # the statement costs more than it saves at any course size.
        await conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        await conn.exec_driver_sql("SET LOCAL jit = off")
        posts = await gradable_posts(conn, course_id)
        possible = sum(p.max_points for p in posts)
        csv.writer(header, lineterminator="\r\n").writerow(
            ["user_id", "username", "display_name"]
            + [_cell(f"{p.title} ({p.post_id})") for p in posts]
            + ["earned", "possible", "percent"]
        )
        yield header.getvalue()
        params: dict[str, Any] = {"course_id": course_id, "post_ids": [p.post_id for p in posts]}
        statement = _GRADEBOOK_CSV
        if group_id is not None:
            statement, params["group_id"] = _GRADEBOOK_CSV_GROUP, group_id
        result = await conn.stream(statement.execution_options(yield_per=CSV_BATCH), params)
        async for batch in result.partitions():
            # Every cell but the names is a UUID or a number: nothing to quote.
            lines = []
            for r in batch:
                earned = Decimal(r.earned)
                names = [_text(r.username), _text(r.display_name)]
                scores = [r.cells] if posts else []
                totals = [
                    f"{round2(earned):.2f}",
                    str(possible),
                    f"{percent(earned, possible):.2f}",
                ]
                lines.append(",".join([str(r.user_id), *names, *scores, *totals]))
            yield "\r\n".join(lines) + "\r\n"

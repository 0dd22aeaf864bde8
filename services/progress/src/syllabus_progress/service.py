"""Progress rules, queries and transactions. Every change records its event in the outbox.

Everything is answered from this service's own database: its enrollments and completions
and the course-structure projection (see ``handlers``). A post counts toward a course when
it is published, not deleted, and sits in a (non-deleted) module currently attached to the
course; a completion belongs to (user, post), so a module shared by two courses counts in
both.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    exists,
    func,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import LateralFromClause
from syllabus_shared.auth import Principal
from syllabus_shared.consistency import recently_minted
from syllabus_shared.contracts import progress as ev
from syllabus_shared.db import Database, utcnow
from syllabus_shared.http import check_if_match
from syllabus_shared.ids import new_id
from syllabus_shared.messaging.outbox import Outbox
from syllabus_shared.pagination import Page, PageParams, cursor_uuid, encode_cursor
from syllabus_shared.problems import conflict, forbidden, not_found
from syllabus_shared.runtime import Runtime

from syllabus_progress import schemas
from syllabus_progress.models import (
    Completion,
    Course,
    CourseModule,
    Enrollment,
    Module,
    ModulePost,
    Post,
)

# Enrollments that may complete posts ("completed" ones may keep marking more).
ENROLLED = ("active", "completed")


def percent(done: int, total: int) -> float:
    """100 * done / total rounded half-up to 2 decimals; 0 when there is nothing to do."""
    if total <= 0:
        return 0.0
    exact = Decimal(100 * done) / Decimal(total)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------- what counts


def _post_counts() -> ColumnElement[bool]:
    return and_(Post.status == "published", Post.deleted.is_(False))


def _module_present() -> ColumnElement[bool]:
    # A module we have no row for yet still counts (its events may lag); a deleted one not.
    return Module.deleted.is_not(True)


def _enrollment_counts() -> LateralFromClause:
    """Per enrollment (correlated): the course's counted posts and how many the user completed.

    A LATERAL subquery, so a page of enrollments and their progress is one statement.
    """
    return (
        select(
            func.count(Post.post_id).label("total"),
            func.count(Completion.id).label("done"),
        )
        .select_from(CourseModule)
        .join(Post, and_(Post.module_id == CourseModule.module_id, _post_counts()))
        .outerjoin(Module, Module.module_id == CourseModule.module_id)
        .outerjoin(
            Completion,
            and_(
                Completion.post_id == Post.post_id,
                Completion.user_id == Enrollment.user_id,
                Completion.completed.is_(True),
            ),
        )
        .where(CourseModule.course_id == Enrollment.course_id, _module_present())
        .lateral("counts")
    )


# ---------------------------------------------------------------- read-your-writes


async def _course(db: Database, course_id: uuid.UUID) -> Course | None:
    async with db.transaction() as session:
        return await session.get(Course, course_id)


async def settle_course(rt: Runtime, course_id: uuid.UUID, *, enrollable: bool) -> None:
    """Wait (bounded) while the course may still be on its way into the projection.

    Unknown and minted recently: its CourseCreated may be in flight. With ``enrollable``,
    also while it is known but not (yet) published and public: publication happens later
    than creation, so publish→enroll needs the wait whatever the course's age. The cost is
    that a genuinely draft (or private) course answers only after the bounded wait.
    """

    async def settled() -> bool:
        course = await _course(rt.db, course_id)
        if course is None:
            return not recently_minted(course_id)
        if course.deleted or not enrollable:
            return True
        return course.status == "published" and course.visibility == "public"

    await rt.wait_for_projection(settled)


async def settle_post(rt: Runtime, who: Principal, post_id: uuid.UUID) -> None:
    """Wait (bounded) while completing ``post_id`` may only be refused because events lag.

    An unknown post minted recently may be in flight (create post→complete); a known draft
    may be being published; a published post whose module is in none of the caller's
    enrolled courses may be waiting for an attach event. A caller enrolled nowhere cannot be
    helped by any event, so is answered at once.
    """

    async def settled() -> bool:
        # One statement (one snapshot), so no transaction: the post, and whether the caller
        # is enrolled anywhere and in a course containing the post's module.
        async with rt.db.read() as conn:
            post = (
                await conn.execute(_SETTLE_POST, {"post_id": post_id, "user_id": who.user_id})
            ).first()
        if post is None:
            return not recently_minted(post_id)
        if post.deleted:
            return True
        if post.status != "published":
            return False
        return not post.enrolled or bool(post.containing)

    await rt.wait_for_projection(settled)


def _settle_post_statement() -> Select[*tuple[Any, ...]]:
    user_id: BindParameter[uuid.UUID] = bindparam("user_id")
    return select(
        Post.deleted,
        Post.status,
        exists()
        .where(Enrollment.user_id == user_id, Enrollment.status.in_(ENROLLED))
        .label("enrolled"),
        exists()
        .where(
            Enrollment.user_id == user_id,
            Enrollment.status.in_(ENROLLED),
            CourseModule.course_id == Enrollment.course_id,
            CourseModule.module_id == Post.module_id,
        )
        .label("containing"),
    ).where(Post.post_id == bindparam("post_id"))


_SETTLE_POST = _settle_post_statement()


# ---------------------------------------------------------------- enrollments


def _enrollment_event(
    enrollment: Enrollment, cls: type[ev._EnrollmentEvent]
) -> ev._EnrollmentEvent:
    common: dict[str, Any] = {
        "enrollment_id": enrollment.id,
        "user_id": enrollment.user_id,
        "course_id": enrollment.course_id,
        "status": enrollment.status,
    }
    if cls is ev.EnrollmentCreated:
        return ev.EnrollmentCreated(**common, enrolled_at=enrollment.enrolled_at)
    if cls is ev.CourseCompleted:
        assert enrollment.completed_at is not None
        return ev.CourseCompleted(**common, completed_at=enrollment.completed_at)
    return ev.EnrollmentDropped(**common)


async def enroll(
    session: AsyncSession, outbox: Outbox, who: Principal, course_id: uuid.UUID
) -> Enrollment:
    """Enroll the caller; a dropped enrollment is reactivated.

    Reactivating an enrollment that had been completed brings it back ``completed`` (it keeps
    its ``completed_at``), so CourseCompleted stays once per enrollment.
    """
    course = await session.get(Course, course_id)
    if course is None or course.deleted or course.visibility != "public":
        raise not_found("course")
    if course.status != "published":
        raise conflict(f"the course is {course.status}, not published", kind="course-not-published")
    now = utcnow()
    enrollment = await session.scalar(
        select(Enrollment)
        .where(Enrollment.user_id == who.user_id, Enrollment.course_id == course_id)
        .with_for_update()
    )
    if enrollment is None:
        enrollment = Enrollment(
            user_id=who.user_id, course_id=course_id, status="active", enrolled_at=now
        )
        try:
            async with session.begin_nested():  # a concurrent enroll may insert it first
                session.add(enrollment)
                await session.flush()
        except IntegrityError:
            raise conflict("you are already enrolled in this course", "already-enrolled") from None
    elif enrollment.status != "dropped":
        raise conflict("you are already enrolled in this course", "already-enrolled")
    else:
        enrollment.status = "completed" if enrollment.completed_at else "active"
        enrollment.enrolled_at = now
        enrollment.dropped_at = None
        enrollment.touch()
        await session.flush()
    await outbox.add(
        session, _enrollment_event(enrollment, ev.EnrollmentCreated), sequence=enrollment.version
    )
    return enrollment


async def drop(
    session: AsyncSession,
    outbox: Outbox,
    who: Principal,
    course_id: uuid.UUID,
    if_match: str | None = None,
) -> None:
    enrollment = await session.scalar(
        select(Enrollment)
        .where(
            Enrollment.user_id == who.user_id,
            Enrollment.course_id == course_id,
            Enrollment.status.in_(ENROLLED),
        )
        .with_for_update()
    )
    if enrollment is None:
        raise not_found("enrollment")
    check_if_match(if_match, enrollment.version)
    enrollment.status = "dropped"
    enrollment.dropped_at = utcnow()
    enrollment.touch()
    await session.flush()
    await outbox.add(
        session, _enrollment_event(enrollment, ev.EnrollmentDropped), sequence=enrollment.version
    )


async def my_enrollments(
    session: AsyncSession, who: Principal, page: PageParams
) -> Page[schemas.EnrollmentWithProgress]:
    """The caller's enrollments, newest first, each with its percent: one statement."""
    counts = _enrollment_counts()
    stmt = (
        select(Enrollment, counts.c.total, counts.c.done)
        .join(counts, true())
        .where(Enrollment.user_id == who.user_id)
    )
    after = cursor_uuid(page)
    if after is not None:
        stmt = stmt.where(Enrollment.id < after)
    rows = (await session.execute(stmt.order_by(Enrollment.id.desc()).limit(page.limit + 1))).all()
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


def _next_cursor(ids: Sequence[uuid.UUID], page: PageParams) -> str | None:
    if len(ids) <= page.limit:
        return None
    return encode_cursor({"id": str(ids[page.limit - 1])})


# ---------------------------------------------------------------- completions


async def complete_post(
    session: AsyncSession, outbox: Outbox, who: Principal, post_id: uuid.UUID
) -> tuple[schemas.CompletionPublic, bool]:
    """Mark ``post_id`` complete for the caller; returns (completion, newly completed).

    The caller's enrollments in courses containing the post are row-locked first, so two
    completions racing for the last posts of a course serialize: the second sees the first
    and completes the course exactly once.
    """
    post = await session.get(Post, post_id)
    if post is None:
        raise not_found("post")
    if post.deleted or post.status != "published":
        raise forbidden("only a published post can be completed")
    enrollments = list(
        (
            await session.scalars(
                select(Enrollment)
                .join(
                    CourseModule,
                    and_(
                        CourseModule.course_id == Enrollment.course_id,
                        CourseModule.module_id == post.module_id,
                    ),
                )
                .where(Enrollment.user_id == who.user_id, Enrollment.status.in_(ENROLLED))
                .order_by(Enrollment.id)
                .with_for_update(of=Enrollment)
            )
        ).all()
    )
    if not enrollments:
        raise forbidden("you are not enrolled in a course that contains this post")
    now = utcnow()
    insert = pg_insert(Completion).values(
        id=new_id(),
        user_id=who.user_id,
        post_id=post_id,
        completed=True,
        completed_at=now,
        version=1,
        created_at=now,
        updated_at=now,
    )
    marked = (
        await session.execute(
            insert.on_conflict_do_update(
                constraint="uq_completions_user_post",
                set_={
                    "completed": True,
                    "completed_at": now,
                    "version": Completion.version + 1,
                    "updated_at": now,
                },
                where=Completion.completed.is_(False),
            ).returning(Completion.id, Completion.version, Completion.completed_at)
        )
    ).first()
    if marked is None:  # already complete: nothing changes, nothing is emitted
        completed_at = await session.scalar(
            select(Completion.completed_at).where(
                Completion.user_id == who.user_id, Completion.post_id == post_id
            )
        )
    else:
        completed_at = marked.completed_at
        await outbox.add(
            session,
            ev.PostCompleted(
                completion_id=marked.id,
                user_id=who.user_id,
                post_id=post_id,
                completed_at=marked.completed_at,
            ),
            sequence=marked.version,
        )
    await _complete_courses(session, outbox, [e for e in enrollments if e.status == "active"])
    body = schemas.CompletionPublic(
        post_id=post_id, user_id=who.user_id, completed=True, completed_at=completed_at
    )
    return body, marked is not None


async def _complete_courses(
    session: AsyncSession, outbox: Outbox, enrollments: Sequence[Enrollment]
) -> None:
    """Active enrollments whose percent has reached 100 become completed (CourseCompleted)."""
    if not enrollments:
        return
    counts = _enrollment_counts()
    rows = await session.execute(
        select(Enrollment.id, counts.c.total, counts.c.done)
        .join(counts, true())
        .where(Enrollment.id.in_([e.id for e in enrollments]))
    )
    by_id = {e.id: e for e in enrollments}
    for row in rows:
        if row.total == 0 or row.done < row.total:
            continue
        enrollment = by_id[row.id]
        enrollment.status = "completed"
        enrollment.completed_at = utcnow()
        enrollment.touch()
        await session.flush()
        await outbox.add(
            session, _enrollment_event(enrollment, ev.CourseCompleted), sequence=enrollment.version
        )


async def uncomplete_post(
    session: AsyncSession, outbox: Outbox, who: Principal, post_id: uuid.UUID
) -> None:
    """Unmark: the row stays (``completed`` false, version + 1). 404 when not completed."""
    unmarked = (
        await session.execute(
            update(Completion)
            .where(
                Completion.user_id == who.user_id,
                Completion.post_id == post_id,
                Completion.completed.is_(True),
            )
            .values(
                completed=False,
                completed_at=None,
                version=Completion.version + 1,
                updated_at=utcnow(),
            )
            .returning(Completion.id, Completion.version)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if unmarked is None:
        raise not_found("completion")
    await outbox.add(
        session,
        ev.PostUncompleted(completion_id=unmarked.id, user_id=who.user_id, post_id=post_id),
        sequence=unmarked.version,
    )


# ---------------------------------------------------------------- progress views


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
    e = cast(Table, Enrollment.__table__)
    unlisted = ModulePost.position.is_(None)
    structure = (
        select(
            CourseModule.position.label("module_position"),
            CourseModule.module_id,
            func.coalesce(Module.title, "").label("module_title"),
            Post.post_id,
            Post.title,
            Post.kind,
            Completion.id.label("completion_id"),
            Completion.completed_at,
            unlisted.label("unlisted"),
            func.coalesce(ModulePost.position, Post.position).label("post_position"),
        )
        .select_from(CourseModule)
        .outerjoin(Module, Module.module_id == CourseModule.module_id)
        .outerjoin(Post, and_(Post.module_id == CourseModule.module_id, _post_counts()))
        .outerjoin(
            ModulePost,
            and_(ModulePost.module_id == Post.module_id, ModulePost.post_id == Post.post_id),
        )
        .outerjoin(
            Completion,
            and_(
                Completion.post_id == Post.post_id,
                Completion.user_id == e.c.user_id,
                Completion.completed.is_(True),
            ),
        )
        .where(CourseModule.course_id == e.c.course_id, _module_present())
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
    conn: AsyncConnection, who: Principal, course_id: uuid.UUID
) -> dict[str, Any]:
    """The progress document (``schemas.CourseProgress``) as plain data: one statement.

    Built as dicts, not models: the route serializes it once, without validating it again.
    """
    rows = (await conn.execute(_DOCUMENT, {"user_id": who.user_id, "course_id": course_id})).all()
    if not rows:
        raise not_found("enrollment")
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
    session: AsyncSession, who: Principal, course_id: uuid.UUID
) -> schemas.CourseProgress:
    """The progress document as a model (the route serves :func:`progress_document`)."""
    document = await progress_document(await session.connection(), who, course_id)
    return schemas.CourseProgress.model_validate(document)


async def roster(
    session: AsyncSession, who: Principal, course_id: uuid.UUID, page: PageParams
) -> Page[schemas.StudentProgress]:
    """Every enrolled student's progress in a course (owner or admin): one statement a page."""
    course = await session.get(Course, course_id)
    if course is None or course.deleted:
        raise not_found("course")
    if not (who.is_admin or course.creator_id == who.user_id):
        if course.status == "published" and course.visibility == "public":
            raise forbidden("only the course's owner or an admin may see its roster")
        raise not_found("course")
    counts = _enrollment_counts()
    stmt = (
        select(Enrollment.id, Enrollment.user_id, Enrollment.status, counts.c.total, counts.c.done)
        .join(counts, true())
        .where(Enrollment.course_id == course_id)
    )
    after = cursor_uuid(page)
    if after is not None:
        stmt = stmt.where(Enrollment.id < after)
    rows = (await session.execute(stmt.order_by(Enrollment.id.desc()).limit(page.limit + 1))).all()
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

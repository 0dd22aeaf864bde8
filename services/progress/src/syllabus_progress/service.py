"""Progress commands and transactions (enroll, drop, complete, uncomplete), the
read-your-writes waits before them, and the rules that need SQL ("what counts" as SQL).
Every change records its event through the unit of work's outbox.

Everything is answered from this service's own database: its enrollments and completions
and the course-structure projection (written by ``projection``). A post counts toward a
course when it is published, not deleted, and sits in a (non-deleted) module currently
attached to the course (``rules.post_counts``, ``rules.module_counts``); a completion
belongs to (user, post), so a module shared by two courses counts in both.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    delete,
    exists,
    select,
    union,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import col
from syllabus_shared.accounts import (
    deleted_flag,
    lock_users,
    refuse_deleted,
    remembering_names,
)
from syllabus_shared.auth import Principal, unauthorized
from syllabus_shared.consistency import recently_minted
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as ev
from syllabus_shared.db import utcnow
from syllabus_shared.groups import forget_memberships
from syllabus_shared.http import check_if_match
from syllabus_shared.ids import new_id
from syllabus_shared.problems import Problem, forbidden, not_found, not_yet_visible
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_progress import derivation, schemas
from syllabus_progress.decisions import Decider, decide, decision_due, enqueue, standings_of
from syllabus_progress.evaluation import Standing, with_done
from syllabus_progress.models import (
    GROUPS,
    Completion,
    Course,
    CourseModule,
    Enrollment,
    ModuleCompletion,
    PendingDecision,
    Post,
    PostView,
    Submission,
    UnlockOverride,
    User,
)
from syllabus_progress.rules import (
    ENROLLED,
    already_enrolled,
    check_completable,
    check_enrollable,
    check_markable,
    course_settled,
    held_by_groups,
    locked_problem,
    post_settled,
    reactivated_status,
)
from syllabus_progress.sources import group_sources, lock_groups, sources_of

# ---------------------------------------------------------------- read-your-writes


async def settle_course(uow: UnitOfWork, course_id: uuid.UUID, *, enrollable: bool) -> None:
    """Wait (bounded) while the course may still be on its way into the projection
    (``rules.course_settled``). Call before opening ``uow``: waiting holds no connection.

    The cost is that a genuinely draft (or private) course answers only after the
    bounded wait when ``enrollable``. A course minted recently and still unknown after the
    wait is a 503 with ``Retry-After`` (its event may be on its way), not a 404.
    """
    unknown = False

    async def settled() -> bool:
        nonlocal unknown
        async with uow.db.transaction() as session:
            course = await session.get(Course, course_id)
        unknown = course is None
        return course_settled(
            course, enrollable=enrollable, recently_minted=recently_minted(course_id)
        )

    if not await uow.wait_for(settled) and unknown and recently_minted(course_id):
        raise not_yet_visible("course", course_id)


async def settle_post(uow: UnitOfWork, who: Principal, post_id: uuid.UUID) -> None:
    """Wait (bounded) while completing ``post_id`` may only be refused because events lag
    (``rules.post_settled``). Call before opening ``uow``: waiting holds no connection.
    A post minted recently and still unknown after the wait is a 503 (not yet visible)."""
    unknown = False

    async def settled() -> bool:
        nonlocal unknown
        # One statement (one snapshot), so no transaction: the post, and whether the caller
        # is enrolled anywhere and in a course containing the post's module.
        async with uow.read() as conn:
            post = (
                await conn.execute(_SETTLE_POST, {"post_id": post_id, "user_id": who.user_id})
            ).first()
        unknown = post is None
        if post is None:
            return post_settled(
                False,
                False,
                "",
                enrolled=False,
                containing=False,
                recently_minted=recently_minted(post_id),
            )
        return post_settled(
            True,
            post.deleted,
            post.status,
            enrolled=post.enrolled,
            containing=bool(post.containing),
            recently_minted=False,
        )

    if not await uow.wait_for(settled) and unknown and recently_minted(post_id):
        raise not_yet_visible("post", post_id)


def _settle_post_statement() -> Select[*tuple[Any, ...]]:
    user_id: BindParameter[uuid.UUID] = bindparam("user_id")
    enrolled = and_(col(Enrollment.user_id) == user_id, col(Enrollment.status).in_(ENROLLED))
    return select(
        col(Post.deleted),
        col(Post.status),
        exists().where(enrolled).label("enrolled"),
        exists()
        .where(
            enrolled,
            col(CourseModule.course_id) == col(Enrollment.course_id),
            col(CourseModule.module_id) == col(Post.module_id),
        )
        .label("containing"),
    ).where(col(Post.post_id) == bindparam("post_id"))


_SETTLE_POST = _settle_post_statement()


# ---------------------------------------------------------------- enrollments


def _enrollment_event(
    enrollment: Enrollment,
    cls: type[ev.EnrollmentEvent],
    sources: Sequence[ev.EnrollmentSource] | None = None,
) -> ev.EnrollmentEvent:
    common: dict[str, Any] = {
        "enrollment_id": enrollment.id,
        "user_id": enrollment.user_id,
        "course_id": enrollment.course_id,
        "status": enrollment.status,
    }
    if sources is not None:
        common["sources"] = list(sources)
    if cls is ev.EnrollmentCreated:
        return ev.EnrollmentCreated(**common, enrolled_at=enrollment.enrolled_at)
    if cls is ev.CourseCompleted:
        assert enrollment.completed_at is not None
        return ev.CourseCompleted(**common, completed_at=enrollment.completed_at)
    return ev.EnrollmentDropped(**common)


async def enroll(uow: UnitOfWork, who: Principal, course_id: uuid.UUID) -> schemas.EnrollmentPublic:
    """Enroll the caller (the ``self`` source): a new enrollment, a dropped one
    reactivated (``rules.reactivated_status``), or one a group already holds gaining the
    student's own source (so leaving the group no longer drops it). 409 when the caller
    already enrolled themselves."""
    # Before the transaction: a publish a moment ago may still be on its way to us.
    await settle_course(uow, course_id, enrollable=True)
    async with uow:
        session = uow.session
        await refuse_deleted(uow, who.user_id)
        check_enrollable(await session.get(Course, course_id))
        now = utcnow()
        mine = (
            select(Enrollment)
            .where(col(Enrollment.user_id) == who.user_id, col(Enrollment.course_id) == course_id)
            .with_for_update()
        )
        enrollment = await session.scalar(mine)
        publish = True
        if enrollment is None:
            enrollment = Enrollment(
                user_id=who.user_id,
                course_id=course_id,
                status="active",
                self_enrolled=True,
                enrolled_at=now,
            )
            try:
                async with session.begin_nested():  # a concurrent enroll may insert it first
                    session.add(enrollment)
                    await session.flush()
                inserted = True
            except IntegrityError:
                # Inserted meanwhile (the student's other request, or a group's): decide
                # on that row, as if it had been there.
                if enrollment in session:
                    session.expunge(enrollment)
                inserted = False
                enrollment = await session.scalar(mine)
                assert enrollment is not None
        else:
            inserted = False
        if inserted:
            pass  # a new enrollment: its event below
        elif enrollment.status in ENROLLED:
            if enrollment.self_enrolled:
                raise already_enrolled()
            # Held by a group: the student's own source is added; the status is unchanged,
            # so nothing downstream needs an event (docs/progress.md, "Sources").
            enrollment.self_enrolled = True
            enrollment.touch()
            publish = False
            await session.flush()
        else:
            enrollment.status = reactivated_status(enrollment.completed_at)
            enrollment.self_enrolled = True
            enrollment.enrolled_at = now
            enrollment.dropped_at = None
            enrollment.touch()
            await session.flush()
        found = (await sources_of(session, [enrollment.id]))[enrollment.id]
        if publish:
            await uow.publish(
                _enrollment_event(enrollment, ev.EnrollmentCreated, found),
                sequence=enrollment.version,
            )
        body = schemas.EnrollmentPublic.model_validate(enrollment)
        return body.model_copy(update={"sources": schemas.api_sources(found)})


async def drop(
    uow: UnitOfWork, who: Principal, course_id: uuid.UUID, if_match: str | None = None
) -> None:
    """Drop the caller's own source. The enrollment ends when no group holds it too; one
    that only groups hold cannot be dropped (409 naming them)."""
    async with uow:
        session = uow.session
        enrollment = await session.scalar(
            select(Enrollment)
            .where(
                col(Enrollment.user_id) == who.user_id,
                col(Enrollment.course_id) == course_id,
                col(Enrollment.status).in_(ENROLLED),
            )
            .with_for_update()
        )
        if enrollment is None:
            raise not_found("enrollment")
        check_if_match(if_match, enrollment.version)
        held = (await group_sources(session, [(who.user_id, course_id)])).get(
            (who.user_id, course_id), []
        )
        if held and not enrollment.self_enrolled:
            raise held_by_groups(held)
        enrollment.self_enrolled = False
        enrollment.touch()
        if not held:
            enrollment.status = "dropped"
            enrollment.dropped_at = utcnow()
        await session.flush()
        if not held:
            await uow.publish(
                _enrollment_event(enrollment, ev.EnrollmentDropped, []),
                sequence=enrollment.version,
            )


# ---------------------------------------------------------------- completions (marks)


async def complete_post(
    uow: UnitOfWork, who: Principal, post_id: uuid.UUID, decider: Decider | None = None
) -> tuple[schemas.CompletionPublic, bool]:
    """Mark ``post_id`` done for the caller; returns (completion, newly completed).

    When refused because the post, its publication or its module's attachment may still
    be on their way, waits for them (bounded, outside the transaction: :func:`settle_post`)
    and tries once more. The caller's
    enrollments in courses containing the post are row-locked first, so two marks racing
    for the last posts of a course serialize: the second sees the first and completes the
    course exactly once. Refused: a post whose rule is not ``mark_done`` (409 naming it),
    a post locked in every one of those courses (403 with ``locks``). Module and course
    completion are decided at once when the structure consumers are caught up
    (``decider``), else queued (``decisions``).
    """
    if uow.is_open:
        return await _complete_post(uow, who, post_id, decider)
    try:
        return await _complete_post(uow, who, post_id, decider)
    except Problem as refused:
        # Refused for a post unknown, unpublished or outside the caller's courses: events
        # on their way may change that, so wait for them (bounded) and try once more. A
        # request that succeeds never pays for that read.
        if refused.status not in (403, 404) or refused.kind == "locked":
            raise
    await settle_post(uow, who, post_id)
    return await _complete_post(uow, who, post_id, decider)


async def _complete_post(
    uow: UnitOfWork, who: Principal, post_id: uuid.UUID, decider: Decider | None
) -> tuple[schemas.CompletionPublic, bool]:
    async with uow:
        session = uow.session
        # The caller's lock, then the post and whether the account was deleted meanwhile
        # in one statement (read after the lock is granted: no write skew with deletion).
        await lock_users(session, [who.user_id])
        found = (
            await session.execute(
                select(Post, deleted_flag(uow.tables, who.user_id))
                .where(col(Post.post_id) == post_id)
                # Share-locked before any other row (derivation.lock_posts: a rule
                # change of the post waits for this mark, or this mark for it).
                .with_for_update(read=True, of=Post)
            )
        ).first()
        if found is None:
            await refuse_deleted(uow, who.user_id)
            raise not_found("post")
        post, gone = found
        if gone:
            raise unauthorized("this account was deleted")
        check_completable(post.deleted, post.status)
        enrollments = list(
            (
                await session.scalars(
                    select(col(Enrollment.id))
                    .join(
                        CourseModule,
                        and_(
                            col(CourseModule.course_id) == col(Enrollment.course_id),
                            col(CourseModule.module_id) == post.module_id,
                        ),
                    )
                    .where(
                        col(Enrollment.user_id) == who.user_id,
                        col(Enrollment.status).in_(ENROLLED),
                    )
                    .order_by(col(Enrollment.id))
                    .with_for_update(of=Enrollment)
                )
            ).all()
        )
        if not enrollments:
            raise forbidden("you are not enrolled in a course that contains this post")
        check_markable(post.rule)
        before = await standings_of(session, enrollments)
        check_unlocked(post_id, before)
        changed = await derivation.mark(uow, who.user_id, post_id, new_id())
        mine = [row for row in changed if row.user_id == who.user_id]
        completed_at = (
            mine[0].completed_at
            if mine
            else await session.scalar(  # already marked: nothing changed, read it
                select(col(Completion.completed_at)).where(
                    col(Completion.user_id) == who.user_id, col(Completion.post_id) == post_id
                )
            )
        )
        # Marked and unlocked, so done: the standings after it, without reading again.
        now = utcnow()
        undecided = [a for a in (with_done(b, post_id, now) for b in before) if decision_due(a)]
        if undecided:
            if decider is not None and await decider.caught_up():
                await decide(uow, undecided)
            else:
                await enqueue(uow, [s.enrollment_id for s in undecided])
    body = schemas.CompletionPublic(
        post_id=post_id, user_id=who.user_id, completed=True, completed_at=completed_at
    )
    return body, any(row.completed for row in changed)


def check_unlocked(post_id: uuid.UUID, found: Sequence[Standing]) -> None:
    """403 with ``locks`` when the post is locked in every course (of the caller's) that
    shows it; the reasons of all of them, each once."""
    states = [st for s in found if (st := s.course.post(post_id)) is not None]
    if states and all(st.locked for st in states):
        locks: list[dict[str, Any]] = []
        for st in states:
            locks.extend(lock for lock in st.locks if lock not in locks)
        raise locked_problem(locks)


async def uncomplete_post(uow: UnitOfWork, who: Principal, post_id: uuid.UUID) -> None:
    """Unmark: the row stays (``marked`` false; a changed completion is version + 1).
    409 naming the rule when the post is not ``mark_done``; 404 when not marked."""
    async with uow:
        post = await uow.session.scalar(
            select(Post)
            .where(col(Post.post_id) == post_id)
            .with_for_update(read=True)  # as a mark does (derivation.lock_posts)
        )
        if post is not None and not post.deleted:
            check_markable(post.rule)
        if not await derivation.unmark(uow, who.user_id, post_id):
            raise not_found("completion")


# ---------------------------------------------------------------- users' names (identity)


# The ``users`` projection: names as identity's events carry them (rosters show them).
on_user, on_users = remembering_names(User)


# ---------------------------------------------------------------- deleted accounts


async def lock_users_posts(uow: UnitOfWork, event: ie.UserDeleted) -> None:
    """Before a deletion takes the user's lock (``accounts.forgetting(first=…)``): the
    posts the user has facts on, share-locked. A rule change re-deriving every student's
    completion of a post holds the post's row, so it either committed before the
    cascade (its rows are deleted) or derives after it, from the facts it deleted. Taken
    before the user's lock, as writers take them (a consumer's batch upserts a post, then
    checks a user): the other order deadlocks."""
    user_id = event.user_id
    async with uow:
        await derivation.lock_posts(
            uow,
            list(
                await uow.session.scalars(
                    union(
                        select(col(Completion.post_id)).where(col(Completion.user_id) == user_id),
                        select(col(PostView.post_id)).where(col(PostView.user_id) == user_id),
                        select(col(Submission.post_id)).where(col(Submission.user_id) == user_id),
                    )
                )
            ),
        )


async def forget_user(uow: UnitOfWork, event: ie.UserDeleted) -> None:
    """A deleted account (identity's ``UserDeleted``, after ``accounts.forgetting``
    recorded it): its enrollments (with their module completions and pending decisions),
    completions, the facts they were derived from (views, submissions) and its names are
    deleted; courses it owned stay in the projection without an owner.

    No event is published for what is deleted: every service that keeps a copy (catalog's
    and assessment's enrollments, content's completions) applies ``UserDeleted`` itself,
    and handlers skip a deleted account's events that arrive later. Idempotent."""
    user_id = event.user_id
    async with uow:
        session = uow.session
        # The groups' locks the user's memberships name: a follow or a publication
        # enrolling a group's members holds them, so it either committed before this
        # (its enrollment of the user is deleted below) or reads the memberships after.
        await lock_groups(
            session,
            await session.scalars(
                select(GROUPS.members.c.group_id).where(GROUPS.members.c.user_id == user_id)
            ),
        )
        # Enrollments first: a decision in flight holds its enrollment's row lock, so its
        # module completions are committed (and deleted below) before this goes on.
        enrollment_ids = list(
            (
                await session.scalars(
                    delete(Enrollment)
                    .where(col(Enrollment.user_id) == user_id)
                    .returning(col(Enrollment.id))
                )
            ).all()
        )
        if enrollment_ids:
            await session.execute(
                delete(ModuleCompletion).where(
                    col(ModuleCompletion.enrollment_id).in_(enrollment_ids)
                )
            )
            await session.execute(
                delete(PendingDecision).where(
                    col(PendingDecision.enrollment_id).in_(enrollment_ids)
                )
            )
        for model in (Completion, PostView, Submission, User):
            await session.execute(delete(model).where(col(model.user_id) == user_id))
        await forget_memberships(session, GROUPS, user_id)
        await session.execute(
            delete(UnlockOverride).where(
                col(UnlockOverride.kind) == "user", col(UnlockOverride.target_id) == user_id
            )
        )
        await session.execute(
            update(Course)
            .where(col(Course.creator_id) == user_id)
            .values(creator_id=None)
            .execution_options(synchronize_session=False)
        )

"""Assessment commands and transactions (submit, grade), the reads of single submissions,
the read-your-writes waits before them, and the projection writers (catalog's, content's,
progress's and identity's events, mapped in ``handlers``). Every change records its event
through the unit of work's outbox.

Everything is decided from this service's own database: its submissions and kept grades,
and the projection of course structure and enrollments. A student may submit to a post
when it is published and sits in a (non-deleted) module attached to a published course in
which the student is actively enrolled (``_ENROLLED_FOR_MODULE``).

Locks, so that no attempt number is given twice and no grade is lost: a submit locks the
student's ``post_grades`` row for the post (created on the first attempt) before counting
attempts; a grade locks the submission, then that ``post_grades`` row, and recomputes the
kept score from the submissions. The two never wait on each other in opposite orders.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Uuid,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from syllabus_shared.accounts import (
    deleted_among,
    is_deleted,
    refuse_deleted,
    remembering_names,
)
from syllabus_shared.auth import Principal, unauthorized
from syllabus_shared.consistency import recently_minted
from syllabus_shared.contracts import assessment as ev
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import content as pe
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as pr
from syllabus_shared.db import lock_for_transaction, table_of, upsert, upsert_many, utcnow
from syllabus_shared.groups import forget_memberships
from syllabus_shared.http import check_if_match
from syllabus_shared.ids import new_id
from syllabus_shared.messaging.outbox import STAGED_INSERT, STAGED_RETURNING
from syllabus_shared.pagination import PageParams, cursor_uuid
from syllabus_shared.problems import conflict, forbidden, not_found, not_yet_visible
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_assessment import schemas
from syllabus_assessment.models import (
    GROUPS,
    Course,
    CourseModule,
    DueOverride,
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
    PUBLISHED,
    PostFacts,
    check_answers,
    check_attempts_left,
    check_score,
    check_submission_shape,
    check_submittable,
    grade_quiz,
    is_grader,
    is_late,
    kept_score,
    submit_settled,
)

# ---------------------------------------------------------------- what counts, as SQL


def module_present() -> ColumnElement[bool]:
    """A module we have no row for yet (its events may lag) still counts; a deleted one not."""
    return col(Module.deleted).is_not(True)


def enrolled_for_module(
    user_id: uuid.UUID | ColumnElement[uuid.UUID], module_id: uuid.UUID | ColumnElement[uuid.UUID]
) -> ColumnElement[bool]:
    """Is ``user_id`` actively enrolled in a published course that has ``module_id``
    attached (the module not deleted)? ``module_id`` may be a column of the outer query
    (``Post.module_id``): the condition then correlates to it."""
    return (
        select(col(Enrollment.enrollment_id))
        .join(Course, col(Course.course_id) == col(Enrollment.course_id))
        .join(CourseModule, col(CourseModule.course_id) == col(Enrollment.course_id))
        .outerjoin(Module, col(Module.module_id) == col(CourseModule.module_id))
        .where(
            col(Enrollment.user_id) == user_id,
            col(Enrollment.status).in_(ENROLLED),
            col(Course.status) == PUBLISHED,
            col(Course.deleted).is_(False),
            col(CourseModule.module_id) == module_id,
            module_present(),
        )
        .exists()
    )


def effective_due_at(
    user_id: uuid.UUID | ColumnElement[uuid.UUID],
    post_id: ColumnElement[uuid.UUID],
    module_id: ColumnElement[uuid.UUID],
    default: ColumnElement[dt.datetime | None],
) -> ColumnElement[dt.datetime | None]:
    """The one rule for a student's due date on a post, as SQL (columns of the outer
    query's ``posts`` row: ``post_id``, ``module_id``, its ``due_at`` as ``default``):

    1. the student's own override (``kind`` user), even when stricter than the post's;
    2. else the latest ``due_at`` among the overrides of groups the student is a member of
       now and that follow a course containing the post (its module attached to it), even
       when stricter than the post's;
    3. else the post's own ``due_at`` (null: no due date).

    Two scalar subqueries by primary key (``due_overrides`` by post, ``group_members`` and
    ``course_groups`` by key, ``course_modules`` by module), so folded into the statement
    that reads the post it costs no round trip."""
    o = table_of(DueOverride)
    own = o.alias("own_due")
    group = o.alias("group_due")
    members, follows = GROUPS.members, GROUPS.follows
    assert follows is not None
    cm = table_of(CourseModule)
    mine = (
        select(own.c.due_at)
        .where(own.c.post_id == post_id, own.c.kind == "user", own.c.target_id == user_id)
        .scalar_subquery()
    )
    followed = (
        select(follows.c.group_id)
        .join(cm, cm.c.course_id == follows.c.course_id)
        .where(follows.c.group_id == group.c.target_id, cm.c.module_id == module_id)
        # Two levels down from the post's row: correlate to it explicitly.
        .correlate_except(follows, cm)
        .exists()
    )
    groups = (
        select(func.max(group.c.due_at))
        .join(
            members,
            and_(members.c.group_id == group.c.target_id, members.c.user_id == user_id),
        )
        .where(group.c.post_id == post_id, group.c.kind == "group", followed)
        .scalar_subquery()
    )
    return func.coalesce(mine, groups, default)


# ---------------------------------------------------------------- read-your-writes


async def settle_submit(uow: UnitOfWork, who: Principal, post_id: uuid.UUID) -> None:
    """Wait (bounded) while a submission to ``post_id`` may only be refused because events
    lag (``rules.submit_settled``): the post just created or published, the caller just
    enrolled, its module just attached. Call before opening ``uow``: waiting holds no
    connection. A refusal that no event can change is answered at once; a post minted
    recently and still unknown after the wait is a 503 (not yet visible), not a 404."""
    unknown = False

    async def settled() -> bool:
        nonlocal unknown
        # One statement (one snapshot), so no transaction: the post, and whether the caller
        # is enrolled in a published course containing its module.
        async with uow.read() as conn:
            post = (
                await conn.execute(
                    select(
                        col(Post.deleted),
                        col(Post.status),
                        col(Post.kind),
                        enrolled_for_module(who.user_id, table_of(Post).c.module_id).label(
                            "enrolled"
                        ),
                    ).where(col(Post.post_id) == post_id)
                )
            ).first()
        unknown = post is None
        if post is None:
            return submit_settled(
                False, False, "", "", enrolled=False, recently_minted=recently_minted(post_id)
            )
        return submit_settled(
            True,
            post.deleted,
            post.status,
            post.kind,
            enrolled=bool(post.enrolled),
            recently_minted=False,
        )

    if not await uow.wait_for(settled) and unknown and recently_minted(post_id):
        raise not_yet_visible("post", post_id)


async def settle_course(uow: UnitOfWork, course_id: uuid.UUID) -> None:
    """Wait (bounded) while a course minted a moment ago is not in the projection yet;
    still unknown after the wait: 503 (not yet visible), not 404."""
    if not recently_minted(course_id):
        return

    async def known() -> bool:
        async with uow.read() as conn:
            return (
                await conn.scalar(
                    select(col(Course.course_id)).where(col(Course.course_id) == course_id)
                )
            ) is not None

    if not await uow.wait_for(known):
        raise not_yet_visible("course", course_id)


async def settle_enrollment(uow: UnitOfWork, who: Principal, course_id: uuid.UUID) -> None:
    """Wait (bounded) while the caller is not enrolled in the course but could just have
    enrolled (the course is published, or minted a moment ago and not known yet: still
    unknown after the wait, 503)."""
    unknown = False

    async def settled() -> bool:
        nonlocal unknown
        async with uow.read() as conn:
            row = (
                await conn.execute(
                    select(
                        col(Course.status),
                        col(Course.deleted),
                        exists()
                        .where(
                            col(Enrollment.user_id) == who.user_id,
                            col(Enrollment.course_id) == course_id,
                            col(Enrollment.status).in_(ENROLLED),
                        )
                        .label("enrolled"),
                    ).where(col(Course.course_id) == course_id)
                )
            ).first()
        unknown = row is None
        if row is None:
            return not recently_minted(course_id)
        return bool(row.enrolled) or row.deleted or row.status != PUBLISHED

    if not await uow.wait_for(settled) and unknown and recently_minted(course_id):
        raise not_yet_visible("course", course_id)


# ---------------------------------------------------------------- graders


async def _course_owners_for(
    session: AsyncSession, student_id: uuid.UUID, module_id: uuid.UUID
) -> list[uuid.UUID | None]:
    """Owners of the courses that contain ``module_id`` and in which the student is enrolled."""
    rows = await session.scalars(
        select(col(Course.creator_id))
        .join(CourseModule, col(CourseModule.course_id) == col(Course.course_id))
        .join(Enrollment, col(Enrollment.course_id) == col(Course.course_id))
        .where(
            col(CourseModule.module_id) == module_id,
            col(Enrollment.user_id) == student_id,
            col(Enrollment.status).in_(ENROLLED),
            col(Course.deleted).is_(False),
        )
    )
    return list(rows.all())


async def _module_owner(session: AsyncSession, module_id: uuid.UUID) -> uuid.UUID | None:
    module = await session.get(Module, module_id)
    return None if module is None or module.deleted else module.creator_id


async def _may_grade(session: AsyncSession, who: Principal, submission: Submission) -> bool:
    if who.is_admin:
        return True
    post = await session.get(Post, submission.post_id)
    if post is None:
        return False
    return is_grader(
        who,
        await _module_owner(session, post.module_id),
        await _course_owners_for(session, submission.user_id, post.module_id),
    )


# ---------------------------------------------------------------- submissions


def submission_event(
    submission: Submission | NewSubmission, cls: type[ev.SubmissionState], kept: Decimal | None
) -> ev.SubmissionState:
    return cls(
        submission_id=submission.id,
        post_id=submission.post_id,
        user_id=submission.user_id,
        attempt=submission.attempt,
        status=submission.status,
        score=None if submission.score is None else float(submission.score),
        max_points=submission.max_points,
        late=submission.late,
        submitted_at=submission.submitted_at,
        graded_at=submission.graded_at,
        grader_id=submission.grader_id,
        kept_score=None if kept is None else float(kept),
    )


async def _locked_grade(session: AsyncSession, user_id: uuid.UUID, post_id: uuid.UUID) -> PostGrade:
    """The student's ``post_grades`` row for the post, created if new, row-locked."""
    await session.execute(
        pg_insert(PostGrade)
        .values(
            user_id=user_id,
            post_id=post_id,
            attempts_used=0,
            status="submitted",
            late=False,
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    grade = await session.scalar(
        select(PostGrade)
        .where(col(PostGrade.user_id) == user_id, col(PostGrade.post_id) == post_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert grade is not None
    return grade


@dataclass(slots=True)
class NewSubmission:
    """A submission just written (what its document and event are made of: the columns
    of ``submissions`` it was inserted with), without an ORM instance to build."""

    post_id: uuid.UUID
    user_id: uuid.UUID
    attempt: int
    kind: str
    status: str
    submitted_at: dt.datetime
    due_at: dt.datetime | None
    late: bool
    max_points: int
    id: uuid.UUID = field(default_factory=new_id)
    version: int = 1
    answers: list[Any] | None = None
    results: list[Any] | None = None
    body: str | None = None
    links: list[Any] | None = None
    score: Decimal | None = None
    feedback: str | None = None
    graded_at: dt.datetime | None = None
    grader_id: uuid.UUID | None = None


class MaySettle(Exception):
    """A submission refused only because events may still be on their way (the post
    just created or published, the caller just enrolled): the route waits
    (:func:`settle_submit`, holding no connection) and tries once more."""


def _submit_read() -> Select[Any]:
    """ONE statement opening a submission's transaction: the caller's lock (shared; see
    ``syllabus_shared.accounts``), the post, whether the caller may submit to it, their
    due date for it (``effective_due_at``), and their ``post_grades`` row, created when
    new and row-locked (``ON CONFLICT DO UPDATE`` locks the row it finds), so attempts of
    one student at one post queue here. The deleted-account check is in the write that
    follows, whose snapshot is taken after this statement was granted the lock."""
    posts = table_of(Post)
    grades = table_of(PostGrade)
    user_id = bindparam("user_id", type_=Uuid)
    post_id = bindparam("post_id", type_=Uuid)
    upsert_stmt = pg_insert(grades).from_select(
        ["user_id", "post_id", "attempts_used", "status", "late", "updated_at"],
        select(
            user_id,
            posts.c.post_id,
            literal(0),
            literal("submitted"),
            false(),
            func.now(),
        ).where(posts.c.post_id == post_id, posts.c.kind.in_(("quiz", "assignment"))),
    )
    grade = (
        upsert_stmt.on_conflict_do_update(
            index_elements=["user_id", "post_id"],
            set_={"attempts_used": grades.c.attempts_used},  # changes nothing; locks the row
        )
        .returning(grades.c.attempts_used, grades.c.kept_score)
        .cte("grade")
    )
    locked = select(
        func.pg_advisory_xact_lock_shared(
            func.hashtextextended(literal("syllabus.user:") + cast(user_id, String), 0)
        ).label("locked")
    ).cte("locked")
    return (
        select(
            posts,
            enrolled_for_module(user_id, posts.c.module_id).label("enrolled"),
            effective_due_at(user_id, posts.c.post_id, posts.c.module_id, posts.c.due_at).label(
                "effective_due_at"
            ),
            grade.c.attempts_used.label("attempts_used"),
            grade.c.kept_score.label("kept_score"),
        )
        .select_from(posts.join(locked, true()).outerjoin(grade, true()))
        .where(posts.c.post_id == post_id)
    )


_SUBMIT_READ = _submit_read()

# ONE statement writing an accepted submission: the submission, the student's standing
# and the event (outbox row + the relay's wake-up), none of them when the account was
# deleted (read here, after the lock of the statement before: no write skew).
_SUBMIT_WRITE = text(f"""
WITH gone AS (
    SELECT EXISTS (SELECT FROM deleted_users WHERE user_id = :user_id) AS gone
),
added AS (
    INSERT INTO submissions (id, created_at, updated_at, version, post_id, user_id, attempt,
        kind, status, answers, results, body, links, submitted_at, due_at, late, score,
        max_points, graded_at)
    SELECT :id, :now, :now, 1, :post_id, :user_id, :attempt, :kind, :status,
        CAST(:answers AS jsonb), CAST(:results AS jsonb), :body, CAST(:links AS jsonb),
        :now, :due_at, :late, :score, :max_points, :graded_at
    FROM gone WHERE NOT gone.gone
    RETURNING id
),
standing AS (
    UPDATE post_grades SET attempts_used = :attempt, status = :status, late = :late,
        kept_score = :kept_score, updated_at = :now
    WHERE user_id = :user_id AND post_id = :post_id AND EXISTS (SELECT FROM added)
),
told AS (
    {STAGED_INSERT} FROM added {STAGED_RETURNING}
)
SELECT (SELECT gone FROM gone) AS gone, (SELECT count(*) FROM told) AS told
""")


async def submit(
    uow: UnitOfWork,
    who: Principal,
    post_id: uuid.UUID,
    data: schemas.SubmissionCreate,
    *,
    settled: bool = False,
) -> NewSubmission:
    """Record the caller's next attempt at ``post_id``; a quiz is graded at once.

    Three round trips inside the transaction (the read, the write, the seal with its
    COMMIT). A refusal that events still on their way could lift raises
    :class:`MaySettle` unless ``settled`` (the caller has waited: :func:`settle_submit`).
    """
    async with uow:
        session = uow.session
        conn = await session.connection()  # Core statements: no ORM execution layer
        found = (
            await conn.execute(_SUBMIT_READ, {"user_id": who.user_id, "post_id": post_id})
        ).first()
        post = None if found is None else found
        enrolled = found is not None and bool(found.enrolled)
        if not settled and not submit_settled(
            post is not None,
            post is not None and post.deleted,
            "" if post is None else post.status,
            "" if post is None else post.kind,
            enrolled=enrolled,
            recently_minted=recently_minted(post_id),
        ):
            raise MaySettle
        check_submittable(
            None if post is None else PostFacts(post.deleted, post.status, post.kind), enrolled
        )
        assert post is not None
        check_submission_shape(post.kind, answers=data.answers, body=data.body, links=data.links)
        if post.max_points is None or (post.kind == "quiz" and not post.answer_key):
            raise conflict(
                "this post cannot be graded yet (its points or answer key are not known)",
                kind="not-gradable",
            )
        if post.kind == "quiz":
            assert data.answers is not None and post.answer_key is not None
            # The key decides how many answers there are (question_count says the same).
            check_answers(data.answers, len(post.answer_key), post.choice_counts)
        used = int(post.attempts_used)
        check_attempts_left(post.kind, post.attempts, used)
        now = utcnow()
        due_at = post.effective_due_at
        submission = NewSubmission(
            post_id=post_id,
            user_id=who.user_id,
            attempt=used + 1,
            kind=post.kind,
            status="submitted",
            submitted_at=now,
            due_at=due_at,
            late=is_late(now, due_at),
            max_points=post.max_points,
        )
        if post.kind == "quiz":
            assert data.answers is not None and post.answer_key is not None
            graded = grade_quiz(data.answers, post.answer_key, post.max_points)
            submission.answers = list(data.answers)
            submission.results = graded.results
            submission.score = graded.score
            submission.status = "graded"
            submission.graded_at = now
        else:
            submission.body = data.body
            submission.links = list(data.links or [])
        kept = kept_score([post.kept_score, submission.score])
        staged = uow.outbox.stage(
            session,
            submission_event(submission, ev.SubmissionCreated, kept),
            sequence=submission.version,
        )
        written = (
            await conn.execute(
                _SUBMIT_WRITE,
                {
                    "user_id": who.user_id,
                    "post_id": post_id,
                    "id": submission.id,
                    "now": now,
                    "attempt": submission.attempt,
                    "kind": submission.kind,
                    "status": submission.status,
                    "answers": _json_or_none(submission.answers),
                    "results": _json_or_none(submission.results),
                    "body": submission.body,
                    "links": _json_or_none(submission.links),
                    "due_at": due_at,
                    "late": submission.late,
                    "score": submission.score,
                    "max_points": submission.max_points,
                    "graded_at": submission.graded_at,
                    "kept_score": kept,
                    **staged,
                },
            )
        ).one()
        if written.gone:
            # A token accepted a moment before the deletion reached this process.
            raise unauthorized("this account was deleted")
        assert written.told == 1
        return submission


def _json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


async def get_submission(uow: UnitOfWork, who: Principal, submission_id: uuid.UUID) -> Submission:
    """The submission, for its student and its graders (404 for anyone else)."""
    async with uow:
        session = uow.session
        submission = await session.get(Submission, submission_id)
        if submission is None:
            raise not_found("submission")
        if submission.user_id != who.user_id and not await _may_grade(session, who, submission):
            raise not_found("submission")
        return submission


async def list_submissions(
    uow: UnitOfWork,
    who: Principal,
    post_id: uuid.UUID,
    page: PageParams,
    *,
    user_id: uuid.UUID | None = None,
    status: schemas.SubmissionStatus | None = None,
) -> list[tuple[Submission, str | None, str | None]]:
    """A post's submissions, newest first (``limit + 1`` rows), each with its student's
    username and display name (null while identity's event has not arrived): all of them
    for admins and the module's owner; for a course owner, those of students enrolled in
    their courses containing the post; always the caller's own."""
    async with uow:
        session = uow.session
        post = await session.get(Post, post_id)
        if post is None:
            raise not_found("post")
        stmt = (
            select(Submission, col(User.username), col(User.display_name))
            .outerjoin(User, col(User.user_id) == col(Submission.user_id))
            .where(col(Submission.post_id) == post_id)
        )
        if not (who.is_admin or await _module_owner(session, post.module_id) == who.user_id):
            students = (
                select(col(Enrollment.user_id))
                .join(Course, col(Course.course_id) == col(Enrollment.course_id))
                .join(CourseModule, col(CourseModule.course_id) == col(Enrollment.course_id))
                .where(
                    col(Course.creator_id) == who.user_id,
                    col(Course.deleted).is_(False),
                    col(CourseModule.module_id) == post.module_id,
                    col(Enrollment.status).in_(ENROLLED),
                )
            )
            stmt = stmt.where(
                or_(col(Submission.user_id) == who.user_id, col(Submission.user_id).in_(students))
            )
        if user_id is not None:
            stmt = stmt.where(col(Submission.user_id) == user_id)
        if status is not None:
            stmt = stmt.where(col(Submission.status) == status.value)
        after = cursor_uuid(page)
        if after is not None:
            stmt = stmt.where(col(Submission.id) < after)
        stmt = stmt.order_by(col(Submission.id).desc()).limit(page.limit + 1)
        return [(row[0], row[1], row[2]) for row in await session.execute(stmt)]


async def grade(
    uow: UnitOfWork,
    who: Principal,
    submission_id: uuid.UUID,
    data: schemas.GradeInput,
    if_match: str | None = None,
) -> Submission:
    """Grade (or regrade: a quiz too, to override) a submission; graders only.

    The score is checked against the post's current ``max_points`` (the submission's own
    when the post is gone) and the student's kept score is recomputed from every graded
    submission, so a lowered regrade lowers it too.
    """
    async with uow:
        session = uow.session
        await refuse_deleted(uow, who.user_id)  # its grader: no write skew with the cascade
        submission = await session.scalar(
            select(Submission)
            .where(col(Submission.id) == submission_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if submission is None:
            raise not_found("submission")
        if not await _may_grade(session, who, submission):
            if submission.user_id == who.user_id:
                raise forbidden("only a grader may grade a submission")
            raise not_found("submission")
        check_if_match(if_match, submission.version)
        post = await session.get(Post, submission.post_id)
        max_points = submission.max_points
        if post is not None and not post.deleted and post.max_points:
            max_points = post.max_points
        score = check_score(Decimal(str(data.score)), max_points)
        now = utcnow()
        submission.score = score
        submission.max_points = max_points
        submission.status = "graded"
        submission.feedback = data.feedback
        submission.grader_id = who.user_id
        submission.graded_at = now
        submission.touch()
        await session.flush()
        kept = await _recompute_grade(session, submission.user_id, submission.post_id)
        await uow.publish(
            submission_event(submission, ev.SubmissionGraded, kept), sequence=submission.version
        )
        return submission


async def _recompute_grade(
    session: AsyncSession, user_id: uuid.UUID, post_id: uuid.UUID
) -> Decimal | None:
    """Rewrite the student's ``post_grades`` row from their submissions; the kept score."""
    grade = await _locked_grade(session, user_id, post_id)
    summary = (
        await session.execute(
            select(
                func.max(col(Submission.score)).label("kept"),
                func.max(col(Submission.attempt)).label("attempts"),
            ).where(col(Submission.user_id) == user_id, col(Submission.post_id) == post_id)
        )
    ).one()
    latest = (
        await session.execute(
            select(col(Submission.status), col(Submission.late))
            .where(col(Submission.user_id) == user_id, col(Submission.post_id) == post_id)
            .order_by(col(Submission.attempt).desc())
            .limit(1)
        )
    ).one()
    grade.kept_score = summary.kept
    grade.attempts_used = summary.attempts
    grade.status = latest.status
    grade.late = latest.late
    grade.updated_at = utcnow()
    await session.flush()
    return grade.kept_score


# ---------------------------------------------------------------- projection (catalog, content,
# progress): each writes the state its event carries. The consumer runner (kernel) dedupes by
# event id and applies only events newer than anything applied for their aggregate. Rows never
# wait for a parent; a deleting event writes a tombstone whose columns are reset, so a row
# depends on its aggregate's newest event alone; outline events for a deleted course are
# ignored and CourseDeleted drops the course's outline, both under one per-course lock.


async def _lock_course(session: AsyncSession, course_id: uuid.UUID) -> None:
    """Serialize a course's CourseDeleted with its outline events (they are two aggregates)."""
    await lock_for_transaction(session, f"assessment:course:{course_id}")


def _first_of_each(items: list[tuple[uuid.UUID, int]]) -> list[tuple[uuid.UUID, int]]:
    """Drop repeated ids (first wins): a malformed order must not fail on the primary key."""
    seen: set[uuid.UUID] = set()
    out = []
    for item_id, position in items:
        if item_id not in seen:
            seen.add(item_id)
            out.append((item_id, position))
    return out


async def _creator(uow: UnitOfWork, creator_id: uuid.UUID | None) -> uuid.UUID | None:
    """The owner an event names, or None when that account was deleted (an event from
    before the deletion, arriving late or replayed, does not bring it back)."""
    if creator_id is None or await is_deleted(uow.session, uow.tables, creator_id):
        return None
    return creator_id


async def on_course(uow: UnitOfWork, event: ce.CourseState) -> None:
    async with uow:
        await upsert(
            uow.session,
            Course,
            {
                "course_id": event.course_id,
                "status": event.status,
                "visibility": event.visibility,
                "creator_id": await _creator(uow, event.creator_id),
                "deleted": False,
            },
        )


async def on_course_deleted(uow: UnitOfWork, event: ce.CourseDeleted) -> None:
    async with uow:
        session = uow.session
        await _lock_course(session, event.course_id)
        await upsert(
            session,
            Course,
            {
                "course_id": event.course_id,
                "status": "draft",
                "visibility": "private",
                "creator_id": None,
                "deleted": True,
            },
        )
        await session.execute(
            delete(CourseModule).where(col(CourseModule.course_id) == event.course_id)
        )


async def on_outline(uow: UnitOfWork, event: ce.OutlineEvent) -> None:
    """Replace the course's module order with the one the event carries."""
    async with uow:
        session = uow.session
        await _lock_course(session, event.course_id)
        deleted = await session.scalar(
            select(col(Course.deleted)).where(col(Course.course_id) == event.course_id)
        )
        if deleted:
            return
        await session.execute(
            delete(CourseModule).where(col(CourseModule.course_id) == event.course_id)
        )
        rows = [
            {"course_id": event.course_id, "module_id": module_id, "position": position}
            for module_id, position in _first_of_each(
                [(m.module_id, m.position) for m in event.modules]
            )
        ]
        if rows:
            await session.execute(insert(CourseModule), rows)


async def on_module(uow: UnitOfWork, event: ce.ModuleState) -> None:
    async with uow:
        await upsert(
            uow.session,
            Module,
            {
                "module_id": event.module_id,
                "creator_id": await _creator(uow, event.creator_id),
                "deleted": False,
            },
        )


async def on_module_deleted(uow: UnitOfWork, event: ce.ModuleDeleted) -> None:
    async with uow:
        await upsert(
            uow.session,
            Module,
            {"module_id": event.module_id, "creator_id": None, "deleted": True},
        )


async def on_post(uow: UnitOfWork, event: pe.PostState) -> None:
    async with uow:
        await upsert(
            uow.session,
            Post,
            {
                "post_id": event.post_id,
                "module_id": event.module_id,
                "title": event.title,
                "kind": event.kind,
                "status": event.status,
                "position": event.position,
                "max_points": event.max_points,
                "answer_key": event.answer_key,
                "question_count": event.question_count,
                "choice_counts": event.choice_counts,
                "due_at": event.due_at,
                "attempts": event.attempts,
                "deleted": False,
            },
        )


async def on_post_deleted(uow: UnitOfWork, event: pe.PostDeleted) -> None:
    async with uow:
        await upsert(
            uow.session,
            Post,
            {
                "post_id": event.post_id,
                "module_id": event.module_id,
                "title": "",
                "kind": "",
                "status": "draft",
                "position": 0,
                "max_points": None,
                "answer_key": None,
                "question_count": None,
                "choice_counts": None,
                "due_at": None,
                "attempts": None,
                "deleted": True,
            },
        )


async def on_posts_reordered(uow: UnitOfWork, event: pe.ModulePostsReordered) -> None:
    """Replace the module's post order with the one the event carries."""
    async with uow:
        session = uow.session
        await session.execute(
            delete(ModulePost).where(col(ModulePost.module_id) == event.module_id)
        )
        rows = [
            {"module_id": event.module_id, "post_id": post_id, "position": position}
            for post_id, position in _first_of_each([(p.post_id, p.position) for p in event.posts])
        ]
        if rows:
            await session.execute(insert(ModulePost), rows)


async def on_enrollments(uow: UnitOfWork, events: Sequence[pr.EnrollmentEvent]) -> None:
    """Who is enrolled where (progress's enrollment events carry the status after them):
    one upsert however many (a group followed enrolls thousands at once). Nothing for a
    deleted account (its ``UserDeleted`` may have been applied first)."""
    async with uow:
        gone = await deleted_among(uow.session, uow.tables, {e.user_id for e in events})
        await upsert_many(
            uow.session,
            Enrollment,
            [
                {
                    "enrollment_id": e.enrollment_id,
                    "user_id": e.user_id,
                    "course_id": e.course_id,
                    "status": e.status,
                }
                for e in events
                if e.user_id not in gone
            ],
        )


async def on_enrollment(uow: UnitOfWork, event: pr.EnrollmentEvent) -> None:
    await on_enrollments(uow, [event])


# ---------------------------------------------------------------- due dates (content)


async def on_due_override_set(uow: UnitOfWork, event: pe.DueOverrideSet) -> None:
    """A post's due date for a group or a student, as content set it (the newest event of
    the override wins: the consumer applies only newer ones). Nothing for a deleted
    account (its ``UserDeleted`` may have been applied first)."""
    async with uow:
        session = uow.session
        if event.kind == "user" and await is_deleted(session, uow.tables, event.target_id):
            return
        await upsert(
            session,
            DueOverride,
            {
                "post_id": event.post_id,
                "kind": event.kind,
                "target_id": event.target_id,
                "due_at": event.due_at,
            },
        )


async def on_due_override_removed(uow: UnitOfWork, event: pe.DueOverrideRemoved) -> None:
    async with uow:
        await uow.session.execute(
            delete(DueOverride).where(
                col(DueOverride.post_id) == event.post_id,
                col(DueOverride.kind) == event.kind,
                col(DueOverride.target_id) == event.target_id,
            )
        )


# ---------------------------------------------------------------- users' names (identity)


# The ``users`` projection: names as identity's events carry them (gradebooks, submission
# lists).
on_user, on_users = remembering_names(User)


# ---------------------------------------------------------------- deleted accounts


async def forget_user(uow: UnitOfWork, event: ie.UserDeleted) -> None:
    """A deleted account (identity's ``UserDeleted``, after ``accounts.forgetting``
    recorded it): its submissions, kept grades, projected enrollments, names, group
    memberships and the due dates set for it alone are deleted (so gradebooks and rosters
    no longer list it); the courses and modules it owned stay
    without an owner (admins grade there), and grades it gave stay without a grader.

    No event for what is deleted: content and progress apply ``UserDeleted`` themselves
    (``submission_count``, the facts). Idempotent: a second run changes nothing."""
    user_id = event.user_id
    async with uow:
        session = uow.session
        # Grade rows first, in the order a submit or a grade takes them (post_grades is
        # the lock both hold while they change a student's submissions on a post).
        await session.execute(
            select(col(PostGrade.post_id))
            .where(col(PostGrade.user_id) == user_id)
            .order_by(col(PostGrade.post_id))
            .with_for_update()
        )
        await session.execute(delete(Submission).where(col(Submission.user_id) == user_id))
        await session.execute(delete(PostGrade).where(col(PostGrade.user_id) == user_id))
        await session.execute(delete(Enrollment).where(col(Enrollment.user_id) == user_id))
        await session.execute(delete(User).where(col(User.user_id) == user_id))
        # Identity removed its memberships with the account (no GroupMemberRemoved).
        await forget_memberships(session, GROUPS, user_id)
        await session.execute(
            delete(DueOverride).where(
                col(DueOverride.kind) == "user", col(DueOverride.target_id) == user_id
            )
        )
        for model in (Course, Module):
            await session.execute(
                update(model)
                .where(col(model.creator_id) == user_id)
                .values(creator_id=None)
                .execution_options(synchronize_session=False)
            )
        await session.execute(
            update(Submission)
            .where(col(Submission.grader_id) == user_id)
            .values(grader_id=None)
            .execution_options(synchronize_session=False)
        )

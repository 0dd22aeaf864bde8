"""Content transactions and the rules that need SQL. Every change records its events
through the unit of work (``uow.publish``); rules without I/O are in ``rules``."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Uuid,
    and_,
    delete,
    exists,
    func,
    literal,
    or_,
    true,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from syllabus_shared import ordering
from syllabus_shared.accounts import deleted_among, is_deleted, refuse_deleted
from syllabus_shared.auth import Principal, Role
from syllabus_shared.consistency import recently_minted
from syllabus_shared.contracts import assessment as ae
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import content as ev
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as pe
from syllabus_shared.contracts.catalog import OverrideKind, override_id
from syllabus_shared.db import Database, upsert_many, utcnow
from syllabus_shared.http import check_if_match
from syllabus_shared.ids import new_id
from syllabus_shared.messaging.tables import KernelTables
from syllabus_shared.pagination import PageParams
from syllabus_shared.problems import (
    forbidden,
    invalid,
    not_found,
    not_yet_visible,
    require_present,
)
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_content import rules, schemas
from syllabus_content.models import (
    GRADABLE,
    GROUPS,
    Completion,
    CourseModule,
    DueOverride,
    Enrollment,
    KnownCourse,
    KnownModule,
    Post,
    PostView,
    Submission,
)

# ---------------------------------------------------------------- read-your-writes


class ModuleLookup:
    """Read-your-writes checks, batched: "has the projection heard of module X yet?"

    A start-up part (one per process). Every request waiting for a module re-checks
    whenever the projection changes; one change wakes them all at once. Their checks are
    gathered into one query instead of one each, so many waiters do not starve the
    consumer that is about to answer them.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: dict[uuid.UUID, list[asyncio.Future[bool]]] = {}
        self._batch: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()  # strong references while they run

    async def known(self, module_id: uuid.UUID) -> bool:
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(module_id, []).append(answer)
        if self._batch is None:
            self._batch = asyncio.create_task(self._answer_batch())
            self._running.add(self._batch)
            self._batch.add_done_callback(self._running.discard)
        return await answer

    async def _answer_batch(self) -> None:
        await asyncio.sleep(0)  # let the other waiters woken by the same change join
        pending, self._pending, self._batch = self._pending, {}, None
        try:
            async with self.db.read() as conn:  # one statement: no transaction needed
                rows = await conn.scalars(
                    select(KnownModule.module_id).where(col(KnownModule.module_id).in_(pending))
                )
                known = set(rows.all())
        except Exception as exc:
            for answers in pending.values():
                for answer in answers:
                    if not answer.done():
                        answer.set_exception(exc)
            return
        for module_id, answers in pending.items():
            for answer in answers:
                if not answer.done():  # a waiter may have gone (client disconnected)
                    answer.set_result(module_id in known)


async def await_module(uow: UnitOfWork, lookup: ModuleLookup, module_id: uuid.UUID) -> None:
    """Read-your-writes: a module catalog created a moment ago may not be in our
    projection yet; wait for it (bounded, woken by every applied event).

    Only an id minted recently can still be in flight: any other is answered at once
    (a module content never heard of is then a 404); one still unknown after the wait is
    a 503 with ``Retry-After`` (not yet visible), not a 404. Called before the
    transaction, so waiting holds no connection (unless an Idempotency-Key's transaction
    is already open).
    """
    if not recently_minted(module_id):
        return
    if not await uow.wait_for(lambda: lookup.known(module_id)):
        raise not_yet_visible("module", module_id)


# ---------------------------------------------------------------- visibility


def course_visible_to(who: Principal | None) -> ColumnElement[bool]:
    """Guests and students: published public courses; instructors also their own; admins all."""
    public = and_(col(KnownCourse.status) == "published", col(KnownCourse.visibility) == "public")
    if who is None:
        return public
    if who.is_admin:
        return true()
    return or_(public, col(KnownCourse.creator_id) == who.user_id)


async def module_visible(
    session: AsyncSession, who: Principal | None, module_id: uuid.UUID
) -> bool:
    """Whether the module is attached to a (not deleted) course the caller may see."""
    used = (
        select(CourseModule.module_id)
        .join(KnownCourse, col(KnownCourse.course_id) == col(CourseModule.course_id))
        .where(
            CourseModule.module_id == module_id,
            col(KnownCourse.deleted).is_(False),
            course_visible_to(who),
        )
    )
    return bool(await session.scalar(select(exists(used))))


async def _module(
    session: AsyncSession, module_id: uuid.UUID, *, lock: bool = False
) -> KnownModule:
    """The module; 404 when content has not heard of it or it was deleted. A module
    whose creator's account was deleted (``creator_id`` null) is still there: admins
    manage it."""
    stmt = select(KnownModule).where(KnownModule.module_id == module_id)
    if lock:
        stmt = stmt.with_for_update()
    module = await session.scalar(stmt)
    if module is None or module.deleted:
        raise not_found("module")
    return module


async def _module_for_edit(
    session: AsyncSession, who: Principal, module_id: uuid.UUID
) -> KnownModule:
    """The module, row-locked: every change of its posts' order is serialised on it.

    Modules are visible to every instructor (catalog's rule), so a non-owner gets 403.
    """
    module = await _module(session, module_id, lock=True)
    if not rules.may_edit(who, module.creator_id):
        raise forbidden("only the module's owner or an admin may change its posts")
    return module


# ---------------------------------------------------------------- reading


async def _readable_module(
    session: AsyncSession, who: Principal | None, module_id: uuid.UUID
) -> tuple[KnownModule, bool]:
    """The module and whether the caller sees everything in it (drafts, quiz answers)."""
    module = await _module(session, module_id)
    if rules.may_edit(who, module.creator_id):
        return module, True
    if await module_visible(session, who, module_id):
        return module, False
    raise not_found("module")


async def list_posts(
    uow: UnitOfWork,
    lookup: ModuleLookup,
    who: Principal | None,
    module_id: uuid.UUID,
    page: PageParams,
) -> tuple[list[Post], bool]:
    """One page of the module's posts by position, and whether answers may be shown."""
    await await_module(uow, lookup, module_id)
    async with uow:
        session = uow.session
        _, full = await _readable_module(session, who, module_id)
        after = rules.cursor_position(page)
        stmt = select(Post).where(Post.module_id == module_id)
        if not full:
            stmt = stmt.where(Post.status == "published")
        if after is not None:
            stmt = stmt.where(Post.position > after)
        rows = await session.scalars(stmt.order_by(col(Post.position)).limit(page.limit + 1))
        return list(rows.all()), full


async def get_post(uow: UnitOfWork, who: Principal | None, post_id: uuid.UUID) -> tuple[Post, bool]:
    """The post if the caller may see it, and whether they see everything in it.

    A student's reading is a view: the first one of each (student, post) is recorded and
    published as ``PostViewed``, in this same transaction (``_record_view``). Listing a
    module's posts is not a view (``list_posts`` records nothing).
    """
    async with uow:
        session = uow.session
        post = await session.get(Post, post_id)
        if post is None:
            raise not_found("post")
        module = await session.get(KnownModule, post.module_id)
        if module is not None and rules.may_edit(who, module.creator_id):
            full = True
        elif post.status == "published" and await module_visible(session, who, post.module_id):
            full = False
        else:
            raise not_found("post")
        if who is not None and who.role is Role.student:
            await _record_view(uow, post, who.user_id)
        return post, full


async def _record_view(uow: UnitOfWork, post: Post, user_id: uuid.UUID) -> None:
    """The student's first view of the post: one INSERT ... ON CONFLICT DO NOTHING on the
    (post, user) key; only the insert that wins publishes ``PostViewed`` (sequence 1 of its
    ``post_view`` aggregate), so concurrent first reads publish one event. Later reads
    find the key and write nothing (an index probe, no row, no event)."""
    view_id, viewed_at = new_id(), dt.datetime.now(dt.UTC)
    # Inserted only while the post still exists, share-locking it in the same statement:
    # a delete (which locks the post FOR UPDATE before deleting its views) either runs
    # first, and nothing is inserted, or waits for this commit and deletes this view too.
    # Nor for a deleted account (a token still in flight when its deletion committed; a
    # best effort without the user's lock: the race with the deletion's own transaction
    # is the token-validity window, which the kernel closes right after it).
    deleted_users = uow.tables.deleted_users
    still_there = (
        sa_select(
            col(Post.id),
            literal(user_id, Uuid),
            literal(view_id, Uuid),
            literal(viewed_at, DateTime(timezone=True)),
        )
        .where(
            col(Post.id) == post.id,
            ~exists().where(deleted_users.c.user_id == user_id),
        )
        .with_for_update(read=True, of=Post)
    )
    inserted = await uow.session.scalar(
        pg_insert(PostView)
        .from_select(["post_id", "user_id", "view_id", "viewed_at"], still_there)
        .on_conflict_do_nothing(index_elements=[col(PostView.post_id), col(PostView.user_id)])
        .returning(col(PostView.view_id))
    )
    if inserted is None:
        return
    await uow.publish(
        ev.PostViewed(view_id=view_id, post_id=post.id, user_id=user_id, viewed_at=viewed_at),
        sequence=1,
    )


# ---------------------------------------------------------------- order


async def _current_order(session: AsyncSession, module_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Post.id).where(Post.module_id == module_id).order_by(col(Post.position))
    )
    return list(rows.all())


async def _write_order(
    uow: UnitOfWork,
    module: KnownModule,
    before: Sequence[uuid.UUID],
    after: Sequence[uuid.UUID],
) -> None:
    """Persist a new order (only rows that moved; the caller inserts or deletes the post
    that came or went) and record ``ModulePostsReordered`` with the whole order."""
    session = uow.session
    moved = rules.moved_rows(before, after)
    if moved:
        await session.execute(update(Post), moved)  # bulk UPDATE by primary key
    module.posts_order_version += 1
    await session.flush()
    await uow.publish(
        rules.posts_reordered(module.module_id, after), sequence=module.posts_order_version
    )


async def _order_entries(
    session: AsyncSession, module_id: uuid.UUID
) -> list[schemas.PostOrderEntry]:
    rows = await session.execute(
        sa_select(
            col(Post.id), col(Post.position), col(Post.title), col(Post.kind), col(Post.status)
        )
        .where(col(Post.module_id) == module_id)
        .order_by(col(Post.position))
    )
    return [
        schemas.PostOrderEntry(
            post_id=r.id, position=r.position, title=r.title, kind=r.kind, status=r.status
        )
        for r in rows
    ]


# ---------------------------------------------------------------- writing


async def create_post(
    uow: UnitOfWork,
    lookup: ModuleLookup,
    who: Principal,
    module_id: uuid.UUID,
    data: schemas.PostCreate,
) -> Post:
    kind = data.content.kind
    completion = rules.checked_completion(kind, data.content.model_dump(), data.completion)
    await await_module(uow, lookup, module_id)
    async with uow:
        session = uow.session
        await refuse_deleted(uow, who.user_id)  # its creator: no write skew with the cascade
        module = await _module_for_edit(session, who, module_id)
        before = await _current_order(session, module_id)
        post_id = new_id()
        after = ordering.insert_at(before, post_id, data.position)
        post = Post(
            id=post_id,
            module_id=module_id,
            title=data.title,
            position=after.index(post_id) + 1,
            status=data.status.value,
            kind=kind,
            content=data.content.model_dump(mode="json"),
            completion_rule=completion.rule.value,
            completion_min_score=completion.min_score,
            creator_id=who.user_id,
        )
        session.add(post)
        await session.flush()
        await session.refresh(post)
        await uow.publish(rules.post_state(post, ev.PostCreated), sequence=post.version)
        await _write_order(uow, module, before, after)
        return post


async def _post_for_edit(
    session: AsyncSession, who: Principal, post_id: uuid.UUID
) -> tuple[Post, KnownModule]:
    """The post and its module, both row-locked (module first, like every order change).

    404 when the caller may not see the post; 403 when they see it but may not change it.
    """
    module_id = await session.scalar(select(Post.module_id).where(Post.id == post_id))
    if module_id is None:
        raise not_found("post")
    module = await session.scalar(
        select(KnownModule).where(KnownModule.module_id == module_id).with_for_update()
    )
    post = await session.scalar(select(Post).where(Post.id == post_id).with_for_update())
    if post is None or module is None:  # deleted while we waited for the lock
        raise not_found("post")
    if not rules.may_edit(who, module.creator_id):
        if post.status == "published" and await module_visible(session, who, module_id):
            raise forbidden("only the module's owner or an admin may change its posts")
        raise not_found("post")
    return post, module


async def update_post(
    uow: UnitOfWork,
    who: Principal,
    post_id: uuid.UUID,
    data: schemas.PostUpdate,
    if_match: str | None,
) -> Post:
    """Change title, content (same kind), status and/or position: one post event at most
    (status changes win: PostPublished/PostUnpublished carry the whole state), plus
    ModulePostsReordered when the order changed. The position is the module's order,
    not the post's own state, so a move alone does not bump the post's version."""
    require_present(
        {name: getattr(data, name) for name in data.model_fields_set},
        "title",
        "content",
        "status",
        "position",
        "completion",
    )
    async with uow:
        session = uow.session
        post, module = await _post_for_edit(session, who, post_id)
        check_if_match(if_match, post.version)
        edit = rules.apply_edit(post, data)
        if edit.changed:
            post.touch()
            await session.flush()
        if data.position is not None:
            before = await _current_order(session, module.module_id)
            after = ordering.move(before, post.id, data.position)
            if after != before:
                await _write_order(uow, module, before, after)
                await session.refresh(post)
        event = rules.edit_event(post, edit)
        if event is not None:
            await uow.publish(event, sequence=post.version)
        return post


async def delete_post(
    uow: UnitOfWork, who: Principal, post_id: uuid.UUID, if_match: str | None
) -> None:
    async with uow:
        session = uow.session
        post, module = await _post_for_edit(session, who, post_id)
        check_if_match(if_match, post.version)
        before = await _current_order(session, module.module_id)
        await uow.publish(
            ev.PostDeleted(post_id=post.id, module_id=post.module_id), sequence=post.version + 1
        )
        await _remove_due_overrides(uow, [post_id])  # their rows go with the post
        await session.delete(post)
        await session.execute(delete(PostView).where(col(PostView.post_id) == post_id))
        await session.flush()
        await _write_order(uow, module, before, ordering.remove(before, post_id))


async def reorder_posts(
    uow: UnitOfWork,
    lookup: ModuleLookup,
    who: Principal,
    module_id: uuid.UUID,
    data: schemas.ReorderPosts,
) -> list[schemas.PostOrderEntry]:
    await await_module(uow, lookup, module_id)
    async with uow:
        session = uow.session
        module = await _module_for_edit(session, who, module_id)
        before = await _current_order(session, module_id)
        after = ordering.replace_all(before, data.post_ids, "module's posts", "post_ids")
        if after != before:
            await _write_order(uow, module, before, after)
        return await _order_entries(session, module_id)


# ---------------------------------------------------------------- due overrides


async def _post_for_overrides(
    session: AsyncSession, who: Principal, post_id: uuid.UUID
) -> tuple[Post, uuid.UUID | None]:
    """The post, key-share-locked (a concurrent delete waits, or runs first and this is a
    404), for one of its graders: admins and the module's owner (``None``: every course
    containing the post is theirs to judge by), or the owner of a course containing it
    (that owner's id: only their courses). 403 for other callers who see the post, else
    404."""
    post = await session.scalar(
        select(Post).where(Post.id == post_id).with_for_update(read=True, key_share=True)
    )
    if post is None:
        raise not_found("post")
    module = await session.get(KnownModule, post.module_id)
    if module is not None and rules.may_edit(who, module.creator_id):
        return post, None
    owns_a_course = (
        select(CourseModule.course_id)
        .join(KnownCourse, col(KnownCourse.course_id) == col(CourseModule.course_id))
        .where(
            CourseModule.module_id == post.module_id,
            col(KnownCourse.deleted).is_(False),
            KnownCourse.creator_id == who.user_id,
        )
    )
    if await session.scalar(select(exists(owns_a_course))):
        return post, who.user_id
    if post.status == "published" and await module_visible(session, who, post.module_id):
        raise forbidden("only the post's graders may change its due dates")
    raise not_found("post")


async def _require_target(
    session: AsyncSession,
    tables: KernelTables,
    post: Post,
    course_owner: uuid.UUID | None,
    kind: OverrideKind,
    target_id: uuid.UUID,
) -> None:
    """422 unless the override's target is in a course containing the post (of those the
    caller grades by, for a course's owner): a student enrolled in it (active or
    completed), a group it follows. Progress's events, projected here; a client's
    consistency token makes its own enrollments and follows visible first."""
    courses = (
        select(CourseModule.course_id)
        .join(KnownCourse, col(KnownCourse.course_id) == col(CourseModule.course_id))
        .where(CourseModule.module_id == post.module_id, col(KnownCourse.deleted).is_(False))
    )
    if course_owner is not None:
        courses = courses.where(KnownCourse.creator_id == course_owner)
    scope = "containing this post" + (" that you own" if course_owner is not None else "")
    if kind == "user":
        found = select(Enrollment.enrollment_id).where(
            Enrollment.user_id == target_id,
            col(Enrollment.status).in_(rules.ENROLLED),
            col(Enrollment.course_id).in_(courses),
        )
        # A deleted account is enrolled nowhere; its lock (held to the end) keeps its
        # deletion from committing between this check and the override's write.
        if await is_deleted(session, tables, target_id) or not await session.scalar(
            select(exists(found))
        ):
            raise invalid(["path", "id"], f"user {target_id} is enrolled in no course {scope}")
        return
    follows = GROUPS.follows
    assert follows is not None
    followed = sa_select(follows.c.group_id).where(
        follows.c.group_id == target_id, follows.c.course_id.in_(courses)
    )
    if not await session.scalar(select(exists(followed))):
        raise invalid(["path", "id"], f"group {target_id} is followed by no course {scope}")


def _due_override_event(row: DueOverride, cls: type[ev.DueOverrideEvent]) -> ev.DueOverrideEvent:
    fields = {
        "override_id": row.id,
        "post_id": row.post_id,
        "kind": row.kind,
        "target_id": row.target_id,
    }
    if cls is ev.DueOverrideSet:
        return ev.DueOverrideSet(**fields, due_at=row.due_at)
    return cls(**fields)


async def set_due_override(
    uow: UnitOfWork,
    who: Principal,
    post_id: uuid.UUID,
    kind: OverrideKind,
    target_id: uuid.UUID,
    data: schemas.DueOverrideBody,
) -> tuple[DueOverride, bool]:
    """Set (or replace) a gradable post's due time for a group or a student; True when
    there was none (created). The same time again changes nothing (no event)."""
    async with uow:
        session = uow.session
        post, course_owner = await _post_for_overrides(session, who, post_id)
        if post.kind not in GRADABLE:
            raise invalid(
                ["path", "post_id"],
                f"a {post.kind} post has no due date; only assignments and quizzes do",
            )
        await _require_target(session, uow.tables, post, course_owner, kind, target_id)
        the_id = override_id(post_id, post_id, kind, target_id)
        # Two first settings at once: one inserts, the other finds its row (locked below).
        inserted = await session.scalar(
            pg_insert(DueOverride)
            .values(
                id=the_id,
                post_id=post_id,
                kind=kind,
                target_id=target_id,
                due_at=data.due_at,
                active=True,
            )
            .on_conflict_do_nothing(index_elements=[col(DueOverride.id)])
            .returning(col(DueOverride.id))
        )
        row = await session.scalar(
            select(DueOverride)
            .where(DueOverride.id == the_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        assert row is not None
        created = inserted is not None or not row.active
        if inserted is None:
            if row.active and row.due_at == data.due_at:
                return row, False
            if not row.active:  # set again after a removal: a new override, same version line
                row.created_at = utcnow()
            row.active, row.due_at = True, data.due_at
            row.touch()
            await session.flush()
        await uow.publish(_due_override_event(row, ev.DueOverrideSet), sequence=row.version)
        return row, created


async def remove_due_override(
    uow: UnitOfWork, who: Principal, post_id: uuid.UUID, kind: OverrideKind, target_id: uuid.UUID
) -> None:
    """Remove an override (404 when there is none): the row stays, inactive, so setting
    it again continues its version."""
    async with uow:
        session = uow.session
        await _post_for_overrides(session, who, post_id)
        row = await session.scalar(
            select(DueOverride)
            .where(DueOverride.id == override_id(post_id, post_id, kind, target_id))
            .with_for_update()
        )
        if row is None or not row.active:
            raise not_found("override")
        row.active, row.due_at = False, None
        row.touch()
        await session.flush()
        await uow.publish(_due_override_event(row, ev.DueOverrideRemoved), sequence=row.version)


async def list_due_overrides(
    uow: UnitOfWork, who: Principal, post_id: uuid.UUID
) -> list[DueOverride]:
    """The post's overrides, each listed on its own: groups first, then students, oldest
    first. Its graders only."""
    async with uow:
        session = uow.session
        await _post_for_overrides(session, who, post_id)
        rows = await session.scalars(
            select(DueOverride)
            .where(DueOverride.post_id == post_id, col(DueOverride.active))
            .order_by(col(DueOverride.kind), col(DueOverride.created_at), col(DueOverride.id))
        )
        return list(rows.all())


async def _remove_due_overrides(uow: UnitOfWork, post_ids: Sequence[uuid.UUID]) -> None:
    """The posts' active overrides removed, each with its ``DueOverrideRemoved``: one
    statement and one batch of events (before the posts are deleted, their rows with
    them)."""
    if not post_ids:
        return
    removed = await uow.session.execute(
        update(DueOverride)
        .where(col(DueOverride.post_id).in_(post_ids), col(DueOverride.active))
        .values(
            active=False,
            due_at=None,
            version=col(DueOverride.version) + 1,
            updated_at=func.now(),
        )
        .returning(
            col(DueOverride.id),
            col(DueOverride.post_id),
            col(DueOverride.kind),
            col(DueOverride.target_id),
            col(DueOverride.version),
        )
        .execution_options(synchronize_session=False)
    )
    await uow.publish_many(
        [
            (
                ev.DueOverrideRemoved(
                    override_id=r.id, post_id=r.post_id, kind=r.kind, target_id=r.target_id
                ),
                r.version,
            )
            for r in removed
        ]
    )


# ---------------------------------------------------------------- enrollments


async def record_enrollment(uow: UnitOfWork, event: pe.EnrollmentEvent) -> None:
    await record_enrollments(uow, [event])


async def record_enrollments(uow: UnitOfWork, events: Sequence[pe.EnrollmentEvent]) -> None:
    """Enrollments' latest states (one upsert however many; the consumer passes the
    newest of each). Nothing for a deleted account: its ``UserDeleted`` may have been
    applied first."""
    async with uow:
        session = uow.session
        gone = await deleted_among(session, uow.tables, {e.user_id for e in events})
        await upsert_many(
            session,
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


# ---------------------------------------------------------------- catalog projection


async def _creator(uow: UnitOfWork, creator_id: uuid.UUID | None) -> uuid.UUID | None:
    """The creator an event names, or None when that account was deleted (an event from
    before the deletion, arriving late or replayed, does not bring it back). Inside the
    transaction: ``is_deleted`` holds the user's lock until it ends (no write skew with
    a concurrent ``forget_user``)."""
    if creator_id is None or await is_deleted(uow.session, uow.tables, creator_id):
        return None
    return creator_id


async def record_module(uow: UnitOfWork, event: ce.ModuleState) -> None:
    """A module's latest state (newer than anything applied: the consumer checks)."""
    async with uow:
        creator_id = await _creator(uow, event.creator_id)
        stmt = pg_insert(KnownModule).values(
            module_id=event.module_id, creator_id=creator_id, title=event.title
        )
        await uow.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[col(KnownModule.module_id)],
                # A tombstone stays one: nothing newer than a deletion exists for a module.
                set_={"creator_id": creator_id, "title": event.title},
            )
        )


async def forget_module(uow: UnitOfWork, event: ce.ModuleDeleted) -> None:
    """Catalog deleted the module: tombstone it and delete its posts, each with PostDeleted.

    In the consumer's transaction, the deletions and their events commit together (or not
    at all).
    """
    module_id = event.module_id
    stmt = pg_insert(KnownModule).values(module_id=module_id, deleted=True)
    async with uow:
        session = uow.session
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[col(KnownModule.module_id)], set_={"deleted": True}
            )
        )
        module = await session.scalar(
            select(KnownModule)
            .where(KnownModule.module_id == module_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        assert module is not None
        posts = list(
            (
                await session.scalars(
                    select(Post)
                    .where(Post.module_id == module_id)
                    .order_by(col(Post.position))
                    .with_for_update()
                )
            ).all()
        )
        if not posts:
            return
        for post in posts:
            await uow.publish(
                ev.PostDeleted(post_id=post.id, module_id=module_id), sequence=post.version + 1
            )
        await _remove_due_overrides(uow, [p.id for p in posts])
        await session.execute(
            delete(PostView).where(col(PostView.post_id).in_([p.id for p in posts]))
        )
        await session.execute(delete(Post).where(col(Post.module_id) == module_id))
        await _write_order(uow, module, [p.id for p in posts], [])


async def record_course(uow: UnitOfWork, event: ce.CourseState) -> None:
    async with uow:
        values = {
            "status": event.status,
            "visibility": event.visibility,
            "creator_id": await _creator(uow, event.creator_id),
        }
        stmt = pg_insert(KnownCourse).values(course_id=event.course_id, **values)
        await uow.session.execute(
            stmt.on_conflict_do_update(index_elements=[col(KnownCourse.course_id)], set_=values)
        )


async def forget_course(uow: UnitOfWork, event: ce.CourseDeleted) -> None:
    """Tombstone the course (so a late outline event is ignored) and drop its links."""
    stmt = pg_insert(KnownCourse).values(course_id=event.course_id, deleted=True)
    async with uow:
        session = uow.session
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[col(KnownCourse.course_id)], set_={"deleted": True}
            )
        )
        await session.execute(
            delete(CourseModule).where(col(CourseModule.course_id) == event.course_id)
        )


async def record_outline(uow: UnitOfWork, event: ce.OutlineEvent) -> None:
    """Replace the course's modules with the event's whole list (unless the course is gone)."""
    async with uow:
        session = uow.session
        deleted = await session.scalar(
            select(KnownCourse.deleted).where(KnownCourse.course_id == event.course_id)
        )
        if deleted:
            return
        await session.execute(
            delete(CourseModule).where(col(CourseModule.course_id) == event.course_id)
        )
        if event.modules:
            await session.execute(
                pg_insert(CourseModule)
                .values(
                    [
                        {
                            "course_id": event.course_id,
                            "module_id": m.module_id,
                            "position": m.position,
                        }
                        for m in event.modules
                    ]
                )
                .on_conflict_do_nothing()
            )


# ---------------------------------------------------------------- completion counts


async def record_completed(uow: UnitOfWork, event: pe.PostCompleted) -> None:
    await _record_completions(uow, [event], completed=True)


async def record_uncompleted(uow: UnitOfWork, event: pe.PostUncompleted) -> None:
    await _record_completions(uow, [event], completed=False)


async def record_completed_many(uow: UnitOfWork, events: Sequence[pe.PostCompleted]) -> None:
    await _record_completions(uow, events, completed=True)


async def record_uncompleted_many(uow: UnitOfWork, events: Sequence[pe.PostUncompleted]) -> None:
    await _record_completions(uow, events, completed=False)


async def _record_completions(
    uow: UnitOfWork, events: Sequence[pe.CompletionEvent], *, completed: bool
) -> None:
    """Apply completions' latest states and recount their posts (idempotent, never
    +1/-1), one or many at once (a consumer that fell behind): one check for deleted
    accounts (nothing for a deleted account: its ``UserDeleted`` may have been applied
    first), the posts locked in id order (so each count starts after any concurrent
    recount committed: a statement's snapshot is taken when it starts), one upsert, one
    recount per post."""
    async with uow:
        session = uow.session
        gone = await deleted_among(session, uow.tables, {e.user_id for e in events})
        latest = [e for e in events if e.user_id not in gone]
        if not latest:
            return
        post_ids = sorted({e.post_id for e in latest})
        await session.execute(
            select(Post.id)
            .where(col(Post.id).in_(post_ids))
            .order_by(col(Post.id))
            .with_for_update()
        )
        await upsert_many(
            session,
            Completion,
            [
                {
                    "completion_id": e.completion_id,
                    "post_id": e.post_id,
                    "completed": completed,
                    "user_id": e.user_id,
                }
                for e in latest
            ],
        )
        await _recount_completions(session, post_ids)


async def _recount_completions(session: AsyncSession, post_ids: Sequence[uuid.UUID]) -> None:
    """Each post's ``completion_count`` from its completion rows (posts locked)."""
    counted = (
        select(func.count())
        .select_from(Completion)
        .where(Completion.post_id == Post.id, col(Completion.completed).is_(True))
        .scalar_subquery()
    )
    await session.execute(
        update(Post)
        .where(col(Post.id).in_(post_ids))
        .values(completion_count=counted)
        .execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------- submission counts


async def record_submission(uow: UnitOfWork, event: ae.SubmissionCreated) -> None:
    """Remember who submitted to which post and recount the post's distinct submitters
    (idempotent: a redelivered submission is one row; never +1)."""
    await record_submissions(uow, [event])


async def record_submissions(uow: UnitOfWork, events: Sequence[ae.SubmissionCreated]) -> None:
    """:func:`record_submission` for a batch: four statements whatever its size (the
    users' locks and deletions, the posts locked in key order, every row, the recount)."""
    async with uow:
        session = uow.session
        gone = await deleted_among(session, uow.tables, [e.user_id for e in events])
        # A deleted account's submission, arriving late or replayed: nothing.
        kept = [e for e in events if e.user_id not in gone]
        if not kept:
            return
        post_ids = sorted({e.post_id for e in kept})
        # Lock the posts first (in key order), so the count below starts after any
        # concurrent recount committed (as for completions).
        await session.execute(
            sa_select(col(Post.id))
            .where(col(Post.id).in_(post_ids))
            .order_by(col(Post.id))
            .with_for_update()
        )
        await session.execute(
            pg_insert(Submission)
            .values(
                [
                    {"submission_id": e.submission_id, "post_id": e.post_id, "user_id": e.user_id}
                    for e in kept
                ]
            )
            .on_conflict_do_nothing(index_elements=[col(Submission.submission_id)])
        )
        await _recount_submissions(session, post_ids)


async def _recount_submissions(session: AsyncSession, post_ids: Sequence[uuid.UUID]) -> None:
    """Each post's ``submission_count`` (distinct submitters) from its rows (posts locked)."""
    counted = (
        select(func.count(func.distinct(col(Submission.user_id))))
        .where(Submission.post_id == Post.id)
        .scalar_subquery()
    )
    await session.execute(
        update(Post)
        .where(col(Post.id).in_(post_ids))
        .values(submission_count=counted)
        .execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------- deleted accounts


async def forget_user(uow: UnitOfWork, event: ie.UserDeleted) -> None:
    """A deleted account (identity's ``UserDeleted``, after ``accounts.forgetting``
    recorded it): its posts stay with ``creator_id`` null (a new version, no event: every
    consumer applies ``UserDeleted`` itself), the projected modules and courses it owned
    lose their owner (admins manage them), and its views, completions and submissions
    are deleted, their posts recounted; its enrollments and its own due overrides go.
    Idempotent: a second run changes nothing."""
    user_id = event.user_id
    async with uow:
        session = uow.session
        await session.execute(
            update(KnownModule)
            .where(col(KnownModule.creator_id) == user_id)
            .values(creator_id=None)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(KnownCourse)
            .where(col(KnownCourse.creator_id) == user_id)
            .values(creator_id=None)
            .execution_options(synchronize_session=False)
        )
        touched = (
            sa_select(col(Completion.post_id))
            .where(col(Completion.user_id) == user_id)
            .union(sa_select(col(Submission.post_id)).where(col(Submission.user_id) == user_id))
        )
        # Lock the posts whose counts change in id order (recounts lock one post each).
        post_ids = list(
            (
                await session.scalars(
                    select(Post.id)
                    .where(col(Post.id).in_(touched))
                    .order_by(col(Post.id))
                    .with_for_update()
                )
            ).all()
        )
        await session.execute(
            update(Post)
            .where(col(Post.creator_id) == user_id)
            .values(creator_id=None, version=col(Post.version) + 1, updated_at=func.now())
            .execution_options(synchronize_session=False)
        )
        await session.execute(delete(PostView).where(col(PostView.user_id) == user_id))
        await session.execute(delete(Completion).where(col(Completion.user_id) == user_id))
        await session.execute(delete(Submission).where(col(Submission.user_id) == user_id))
        await session.execute(delete(Enrollment).where(col(Enrollment.user_id) == user_id))
        # Their own due overrides go too, without events (every consumer applies
        # UserDeleted itself); overrides of their groups stay.
        await session.execute(
            delete(DueOverride).where(
                col(DueOverride.kind) == "user", col(DueOverride.target_id) == user_id
            )
        )
        if post_ids:
            await _recount_completions(session, post_ids)
            await _recount_submissions(session, post_ids)

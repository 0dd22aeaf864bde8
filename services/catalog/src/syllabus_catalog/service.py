"""Catalog rules and transactions. Every change records its event in the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from syllabus_shared import ordering
from syllabus_shared.accounts import deleted_among, is_deleted, refuse_deleted
from syllabus_shared.auth import Principal
from syllabus_shared.contracts import catalog as ev
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as pe
from syllabus_shared.db import upsert_many, utcnow
from syllabus_shared.http import check_if_match
from syllabus_shared.pagination import PageParams, cursor_uuid
from syllabus_shared.problems import conflict, forbidden, invalid, not_found, require_present
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_catalog import schemas
from syllabus_catalog.models import (
    GROUPS,
    Course,
    CourseModule,
    EnrollmentCount,
    Module,
    UnlockOverride,
)
from syllabus_catalog.rules import (
    ENROLLED,
    checked_prerequisites,
    free_slug,
    may_edit,
    slugify,
    status_move,
    without_prerequisite,
)

# ---------------------------------------------------------------- visibility


def course_visible_to(who: Principal | None) -> ColumnElement[bool]:
    """Guests and students: published public courses; instructors also their own; admins all."""
    public = and_(col(Course.status) == "published", col(Course.visibility) == "public")
    if who is None:
        return public
    if who.is_admin:
        return true()
    return or_(public, col(Course.creator_id) == who.user_id)


async def _visible_course(
    session: AsyncSession, who: Principal | None, course_id: uuid.UUID
) -> Course:
    course = await session.scalar(
        select(Course).where(col(Course.id) == course_id, course_visible_to(who))
    )
    if course is None:
        raise not_found("course")
    return course


async def get_course(uow: UnitOfWork, who: Principal | None, course_id: uuid.UUID) -> Course:
    """The course, 404 when the caller may not see it."""
    async with uow:
        return await _visible_course(uow.session, who, course_id)


async def _course_for_edit(
    session: AsyncSession, who: Principal, course_id: uuid.UUID, *, lock: bool = True
) -> Course:
    """The course, row-locked for a change by its owner or an admin (``lock=False``: read
    by them, unlocked).

    404 when the caller may not see it; 403 when they see it but may not change it.
    """
    stmt = select(Course).where(col(Course.id) == course_id, course_visible_to(who))
    course = await session.scalar(stmt.with_for_update() if lock else stmt)
    if course is None:
        raise not_found("course")
    if not may_edit(who, course.creator_id):
        raise forbidden("only the course's owner or an admin may change it")
    return course


# ---------------------------------------------------------------- courses


async def _free_slug(session: AsyncSession, title: str) -> str:
    base = slugify(title)
    taken = await session.scalars(
        select(col(Course.slug)).where(
            or_(col(Course.slug) == base, col(Course.slug).like(f"{base}-%"))
        )
    )
    return free_slug(base, taken.all())


def _course_state(course: Course, cls: type[ev.CourseState]) -> ev.CourseState:
    return cls(
        course_id=course.id,
        slug=course.slug,
        title=course.title,
        status=course.status,
        visibility=course.visibility,
        creator_id=course.creator_id,
        sequential=course.sequential,
    )


async def create_course(uow: UnitOfWork, who: Principal, data: schemas.CourseCreate) -> Course:
    async with uow:
        session = uow.session
        await refuse_deleted(uow, who.user_id)  # its creator: no write skew with the cascade
        # Creates of one title take turns choosing a slug (the lock ends with the transaction),
        # so a burst of them cannot exhaust the retries below; those remain for the rare
        # collision across titles ("Intro 2" vs the second "Intro").
        await session.execute(
            select(func.pg_advisory_xact_lock(func.hashtext(f"course-slug:{slugify(data.title)}")))
        )
        for _ in range(5):
            slug = await _free_slug(session, data.title)
            course = Course(
                slug=slug,
                title=data.title,
                description=data.description,
                learning_objectives=data.learning_objectives,
                prerequisites=data.prerequisites,
                visibility=data.visibility.value,
                sequential=data.sequential,
                status="draft",
                creator_id=who.user_id,
            )
            try:
                async with session.begin_nested():  # a concurrent create may take the same slug
                    session.add(course)
                    await session.flush()
            except IntegrityError:
                continue
            await session.refresh(course)
            await uow.publish(_course_state(course, ev.CourseCreated), sequence=course.version)
            return course
        raise conflict("could not find a free slug for this title; try again")


async def list_courses(
    uow: UnitOfWork,
    who: Principal | None,
    page: PageParams,
    *,
    status: schemas.CourseStatus | None,
    q: str | None,
    creator_id: uuid.UUID | None,
) -> list[Course]:
    async with uow:
        session = uow.session
        stmt = select(Course).where(course_visible_to(who))
        if status is not None:
            stmt = stmt.where(col(Course.status) == status.value)
        if creator_id is not None:
            stmt = stmt.where(col(Course.creator_id) == creator_id)
        if q:
            stmt = stmt.where(
                col(Course.search).bool_op("@@")(func.websearch_to_tsquery("english", q))
            )
        after = cursor_uuid(page)
        if after is not None:
            stmt = stmt.where(col(Course.id) < after)
        stmt = stmt.order_by(col(Course.id).desc()).limit(page.limit + 1)
        return list((await session.scalars(stmt)).all())


async def update_course(
    uow: UnitOfWork,
    who: Principal,
    course_id: uuid.UUID,
    data: schemas.CourseUpdate,
    if_match: str | None = None,
) -> Course:
    async with uow:
        session = uow.session
        course = await _course_for_edit(session, who, course_id)
        check_if_match(if_match, course.version)
        changes = data.model_dump(exclude_unset=True)
        require_present(changes, "title", "visibility", "status", "description", "sequential")
        moved = status_move(course.status, changes.pop("status", None))
        if moved is None and not changes:
            return course  # nothing to change: no new version, no event
        event_cls: type[ev.CourseState] = moved or ev.CourseUpdated
        if moved is not None:
            course.status = "published" if moved is ev.CoursePublished else "archived"
        for name, value in changes.items():
            setattr(course, name, value.value if isinstance(value, Enum) else value)
        course.touch()
        await session.flush()
        await uow.publish(_course_state(course, event_cls), sequence=course.version)
        return course


async def delete_course(
    uow: UnitOfWork,
    who: Principal,
    course_id: uuid.UUID,
    if_match: str | None,
) -> None:
    async with uow:
        session = uow.session
        course = await _course_for_edit(session, who, course_id)
        check_if_match(if_match, course.version)
        if course.status != "draft":
            raise conflict(
                f"only a draft course can be deleted; this one is {course.status}",
                kind="course-not-draft",
            )
        sequence = course.version + 1
        await _remove_overrides(uow, course_id)  # their rows go with the course
        await session.delete(course)
        await uow.publish(ev.CourseDeleted(course_id=course_id), sequence=sequence)


# ---------------------------------------------------------------- modules


async def create_module(uow: UnitOfWork, who: Principal, data: schemas.ModuleCreate) -> Module:
    async with uow:
        session = uow.session
        await refuse_deleted(uow, who.user_id)
        module = Module(title=data.title, description=data.description, creator_id=who.user_id)
        session.add(module)
        await session.flush()
        await session.refresh(module)
        await uow.publish(
            ev.ModuleCreated(module_id=module.id, title=module.title, creator_id=module.creator_id),
            sequence=module.version,
        )
        return module


async def _module(session: AsyncSession, module_id: uuid.UUID, *, lock: bool = False) -> Module:
    stmt = select(Module).where(col(Module.id) == module_id)
    if lock:
        stmt = stmt.with_for_update()
    module = await session.scalar(stmt)
    if module is None:
        raise not_found("module")
    return module


async def get_module(uow: UnitOfWork, module_id: uuid.UUID) -> Module:
    async with uow:
        return await _module(uow.session, module_id)


async def list_modules(
    uow: UnitOfWork, page: PageParams, *, q: str | None, creator_id: uuid.UUID | None
) -> list[Module]:
    async with uow:
        session = uow.session
        stmt = select(Module)
        if creator_id is not None:
            stmt = stmt.where(col(Module.creator_id) == creator_id)
        if q:
            stmt = stmt.where(
                col(Module.search).bool_op("@@")(func.websearch_to_tsquery("english", q))
            )
        after = cursor_uuid(page)
        if after is not None:
            stmt = stmt.where(col(Module.id) < after)
        return list(
            (
                await session.scalars(stmt.order_by(col(Module.id).desc()).limit(page.limit + 1))
            ).all()
        )


async def _module_for_edit(session: AsyncSession, who: Principal, module_id: uuid.UUID) -> Module:
    module = await _module(session, module_id, lock=True)
    if not may_edit(who, module.creator_id):
        raise forbidden("only the module's owner or an admin may change it")
    return module


async def update_module(
    uow: UnitOfWork,
    who: Principal,
    module_id: uuid.UUID,
    data: schemas.ModuleUpdate,
    if_match: str | None,
) -> Module:
    async with uow:
        session = uow.session
        module = await _module_for_edit(session, who, module_id)
        check_if_match(if_match, module.version)
        changes = data.model_dump(exclude_unset=True)
        require_present(changes, "title", "description")
        if not changes:
            return module
        for name, value in changes.items():
            setattr(module, name, value)
        module.touch()
        await session.flush()
        await uow.publish(
            ev.ModuleUpdated(module_id=module.id, title=module.title, creator_id=module.creator_id),
            sequence=module.version,
        )
        return module


async def delete_module(
    uow: UnitOfWork,
    who: Principal,
    module_id: uuid.UUID,
    if_match: str | None,
) -> None:
    async with uow:
        session = uow.session
        module = await _module_for_edit(session, who, module_id)
        check_if_match(if_match, module.version)
        used = await session.scalar(
            select(func.count())
            .select_from(CourseModule)
            .where(col(CourseModule.module_id) == module_id)
        )
        if used:
            raise conflict(
                f"the module is attached to {used} course(s); detach it first", kind="module-in-use"
            )
        sequence = module.version + 1
        await session.delete(module)
        await uow.publish(ev.ModuleDeleted(module_id=module_id), sequence=sequence)


async def module_usage(
    uow: UnitOfWork, who: Principal, module_id: uuid.UUID
) -> list[schemas.ModuleUsage]:
    async with uow:
        session = uow.session
        await _module(session, module_id)
        rows = await session.execute(
            select(
                col(Course.id),
                col(Course.slug),
                col(Course.title),
                col(Course.status),
                col(CourseModule.position),
            )
            .join(CourseModule, col(CourseModule.course_id) == col(Course.id))
            .where(col(CourseModule.module_id) == module_id, course_visible_to(who))
            .order_by(col(Course.id))
        )
        return [
            schemas.ModuleUsage(
                course_id=r.id, slug=r.slug, title=r.title, status=r.status, position=r.position
            )
            for r in rows
        ]


# ---------------------------------------------------------------- outline


async def _outline(session: AsyncSession, course_id: uuid.UUID) -> list[schemas.OutlineEntry]:
    rows = await session.execute(
        select(
            col(CourseModule.module_id),
            col(CourseModule.position),
            col(Module.title),
            col(CourseModule.prerequisites),
            col(CourseModule.unlock_at),
        )
        .join(Module, col(Module.id) == col(CourseModule.module_id))
        .where(col(CourseModule.course_id) == course_id)
        .order_by(col(CourseModule.position))
    )
    return [
        schemas.OutlineEntry(
            module_id=r.module_id,
            position=r.position,
            title=r.title,
            prerequisites=list(r.prerequisites),
            unlock_at=r.unlock_at,
        )
        for r in rows
    ]


async def course_outline(
    uow: UnitOfWork, who: Principal | None, course_id: uuid.UUID
) -> list[schemas.OutlineEntry]:
    """The course's modules in order, for whoever may see the course."""
    async with uow:
        await _visible_course(uow.session, who, course_id)
        return await _outline(uow.session, course_id)


async def _current_order(session: AsyncSession, course_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        (
            await session.scalars(
                select(col(CourseModule.module_id))
                .where(col(CourseModule.course_id) == course_id)
                .order_by(col(CourseModule.position))
            )
        ).all()
    )


async def _write_order(
    uow: UnitOfWork,
    course: Course,
    before: Sequence[uuid.UUID],
    after: Sequence[uuid.UUID],
    event: type[ev.OutlineEvent],
    module_id: uuid.UUID | None = None,
    gating: Mapping[uuid.UUID, Mapping[str, Any]] | None = None,
) -> list[schemas.OutlineEntry]:
    """Persist a new order (only rows whose position changed) and the ``gating`` changes
    (module → its new ``prerequisites``/``unlock_at``), and record the event, which
    carries the whole resulting outline. The caller holds the course's row lock."""
    session = uow.session
    old = {m: i + 1 for i, m in enumerate(before)}
    new = {m: i + 1 for i, m in enumerate(after)}
    removed = [m for m in old if m not in new]
    if removed:
        await session.execute(
            delete(CourseModule).where(
                col(CourseModule.course_id) == course.id, col(CourseModule.module_id).in_(removed)
            )
        )
    for m, pos in new.items():
        if m not in old:
            session.add(CourseModule(course_id=course.id, module_id=m, position=pos))
        elif old[m] != pos:
            await session.execute(
                update(CourseModule)
                .where(col(CourseModule.course_id) == course.id, col(CourseModule.module_id) == m)
                .values(position=pos)
            )
    for m, values in (gating or {}).items():
        await session.execute(
            update(CourseModule)
            .where(col(CourseModule.course_id) == course.id, col(CourseModule.module_id) == m)
            .values(**values)
        )
    course.outline_version += 1
    await session.flush()
    outline = await _outline(session, course.id)
    placements = [
        ev.ModulePlacement(
            module_id=e.module_id,
            position=e.position,
            prerequisites=e.prerequisites,
            unlock_at=e.unlock_at,
        )
        for e in outline
    ]
    if event is ev.ModuleAttached:
        assert module_id is not None
        payload: ev.OutlineEvent = ev.ModuleAttached(
            course_id=course.id, modules=placements, module_id=module_id, position=new[module_id]
        )
    elif event is ev.ModuleDetached:
        assert module_id is not None
        payload = ev.ModuleDetached(course_id=course.id, modules=placements, module_id=module_id)
    elif event is ev.ModuleGatingChanged:
        assert module_id is not None
        payload = ev.ModuleGatingChanged(
            course_id=course.id, modules=placements, module_id=module_id
        )
    else:
        payload = ev.CourseModulesReordered(course_id=course.id, modules=placements)
    await uow.publish(payload, sequence=course.outline_version)
    return outline


async def attach_module(
    uow: UnitOfWork,
    who: Principal,
    course_id: uuid.UUID,
    data: schemas.AttachModule,
) -> list[schemas.OutlineEntry]:
    async with uow:
        session = uow.session
        course = await _course_for_edit(session, who, course_id)
        # Share-lock the module so it cannot be deleted while we attach it.
        module = await session.scalar(
            select(Module).where(col(Module.id) == data.module_id).with_for_update(read=True)
        )
        if module is None:
            raise not_found("module")
        before = await _current_order(session, course_id)
        if data.module_id in before:
            raise conflict("the module is already attached to this course", kind="already-attached")
        after = ordering.insert_at(before, data.module_id, data.position)
        return await _write_order(uow, course, before, after, ev.ModuleAttached, data.module_id)


async def change_attachment(
    uow: UnitOfWork,
    who: Principal,
    course_id: uuid.UUID,
    module_id: uuid.UUID,
    data: schemas.MoveModule,
) -> list[schemas.OutlineEntry]:
    """Move an attached module and/or change its gating (prerequisites, unlock_at).

    A position alone publishes ``CourseModulesReordered`` as before; any change of gating
    publishes one ``ModuleGatingChanged`` carrying the final outline (the move included).
    Under the course's row lock, like every outline change, so a concurrent detach cannot
    leave a prerequisite dangling.
    """
    async with uow:
        session = uow.session
        course = await _course_for_edit(session, who, course_id)
        changes = data.model_dump(exclude_unset=True)
        require_present(changes, "position", "prerequisites")
        entries = await _outline(session, course_id)
        current = {e.module_id: e for e in entries}
        if module_id not in current:
            raise not_found("module in this course")
        before = [e.module_id for e in entries]
        after = before
        if "position" in changes:
            after = ordering.move(before, module_id, changes["position"])
        entry = current[module_id]
        gating: dict[str, Any] = {}
        if "prerequisites" in changes:
            prerequisites = checked_prerequisites(
                module_id,
                changes["prerequisites"],
                {e.module_id: e.prerequisites for e in entries},
                {e.module_id: e.title for e in entries},
            )
            if prerequisites != entry.prerequisites:
                gating["prerequisites"] = prerequisites
        if "unlock_at" in changes and changes["unlock_at"] != entry.unlock_at:
            gating["unlock_at"] = changes["unlock_at"]
        if gating:
            return await _write_order(
                uow, course, before, after, ev.ModuleGatingChanged, module_id, {module_id: gating}
            )
        if after != before:
            return await _write_order(uow, course, before, after, ev.CourseModulesReordered)
        return entries  # nothing changed: no event


async def reorder_modules(
    uow: UnitOfWork,
    who: Principal,
    course_id: uuid.UUID,
    data: schemas.ReorderModules,
) -> list[schemas.OutlineEntry]:
    async with uow:
        session = uow.session
        course = await _course_for_edit(session, who, course_id)
        before = await _current_order(session, course_id)
        after = ordering.replace_all(before, data.module_ids, "attached modules", "module_ids")
        if after == before:
            return await _outline(session, course_id)
        return await _write_order(uow, course, before, after, ev.CourseModulesReordered)


async def detach_module(
    uow: UnitOfWork,
    who: Principal,
    course_id: uuid.UUID,
    module_id: uuid.UUID,
) -> None:
    async with uow:
        session = uow.session
        course = await _course_for_edit(session, who, course_id)
        entries = await _outline(session, course_id)
        before = [e.module_id for e in entries]
        if module_id not in before:
            raise not_found("module in this course")
        # The others stop requiring it, in the same transaction and the same event.
        cleaned = without_prerequisite({e.module_id: e.prerequisites for e in entries}, module_id)
        await _write_order(
            uow,
            course,
            before,
            ordering.remove(before, module_id),
            ev.ModuleDetached,
            module_id,
            {m: {"prerequisites": prerequisites} for m, prerequisites in cleaned.items()},
        )
        await _remove_overrides(uow, course_id, module_id)


# ---------------------------------------------------------------- unlock overrides


def _override_event(
    row: UnlockOverride, cls: type[ev.UnlockOverrideEvent]
) -> ev.UnlockOverrideEvent:
    fields = {
        "override_id": row.id,
        "course_id": row.course_id,
        "module_id": row.module_id,
        "kind": row.kind,
        "target_id": row.target_id,
    }
    if cls is ev.UnlockOverrideSet:
        return ev.UnlockOverrideSet(**fields, unlock_at=row.unlock_at)
    return cls(**fields)


async def _require_attached(
    session: AsyncSession, course_id: uuid.UUID, module_id: uuid.UUID
) -> None:
    attached = await session.scalar(
        select(col(CourseModule.module_id)).where(
            col(CourseModule.course_id) == course_id, col(CourseModule.module_id) == module_id
        )
    )
    if attached is None:
        raise not_found("module in this course")


async def _require_target(
    uow: UnitOfWork, course_id: uuid.UUID, kind: ev.OverrideKind, target_id: uuid.UUID
) -> None:
    """422 unless the override's target is in the course: a student enrolled in it
    (active or completed), a group it follows (progress's events, projected here; a
    client's consistency token makes its own enrollments and follows visible first)."""
    session = uow.session
    if kind == "user":
        # A deleted account is enrolled nowhere; its lock (held to the end) keeps its
        # deletion from committing between this check and the override's write.
        enrolled = await session.scalar(
            select(col(EnrollmentCount.enrollment_id)).where(
                col(EnrollmentCount.course_id) == course_id,
                col(EnrollmentCount.user_id) == target_id,
                col(EnrollmentCount.status).in_(ENROLLED),
            )
        )
        if await is_deleted(session, uow.tables, target_id):
            enrolled = None
        if enrolled is None:
            raise invalid(["path", "id"], f"user {target_id} is not enrolled in this course")
        return
    follows = GROUPS.follows
    assert follows is not None
    found = await session.scalar(
        select(follows.c.group_id).where(
            follows.c.course_id == course_id, follows.c.group_id == target_id
        )
    )
    if found is None:
        raise invalid(["path", "id"], f"this course does not follow group {target_id}")


async def set_unlock_override(
    uow: UnitOfWork,
    who: Principal,
    course_id: uuid.UUID,
    module_id: uuid.UUID,
    kind: ev.OverrideKind,
    target_id: uuid.UUID,
    data: schemas.UnlockOverrideBody,
) -> tuple[UnlockOverride, bool]:
    """Set (or replace) a module's unlock time in a course for a group or a student;
    True when there was none (created). The same time again changes nothing (no event).
    Under the course's row lock, like every outline change, so a concurrent detach
    cannot leave an override on a module that left the course."""
    async with uow:
        session = uow.session
        await _course_for_edit(session, who, course_id)
        await _require_attached(session, course_id, module_id)
        await _require_target(uow, course_id, kind, target_id)
        override_id = ev.override_id(course_id, module_id, kind, target_id)
        row = await session.get(UnlockOverride, override_id)
        created = row is None or not row.active
        if row is None:
            row = UnlockOverride(
                id=override_id,
                course_id=course_id,
                module_id=module_id,
                kind=kind,
                target_id=target_id,
                unlock_at=data.unlock_at,
            )
            session.add(row)
        elif row.active and row.unlock_at == data.unlock_at:
            return row, False
        else:
            if not row.active:  # set again after a removal: a new override, same version line
                row.created_at = utcnow()
            row.active, row.unlock_at = True, data.unlock_at
            row.touch()
        await session.flush()
        await uow.publish(_override_event(row, ev.UnlockOverrideSet), sequence=row.version)
        return row, created


async def remove_unlock_override(
    uow: UnitOfWork,
    who: Principal,
    course_id: uuid.UUID,
    module_id: uuid.UUID,
    kind: ev.OverrideKind,
    target_id: uuid.UUID,
) -> None:
    """Remove an override (404 when there is none): the row stays, inactive, so setting
    it again continues its version."""
    async with uow:
        session = uow.session
        await _course_for_edit(session, who, course_id)
        row = await session.get(
            UnlockOverride, ev.override_id(course_id, module_id, kind, target_id)
        )
        if row is None or not row.active:
            raise not_found("override")
        row.active, row.unlock_at = False, None
        row.touch()
        await session.flush()
        await uow.publish(_override_event(row, ev.UnlockOverrideRemoved), sequence=row.version)


async def list_unlock_overrides(
    uow: UnitOfWork, who: Principal, course_id: uuid.UUID, module_id: uuid.UUID | None = None
) -> list[UnlockOverride]:
    """The course's overrides (of one module, or of all its modules in course order), each
    listed on its own: groups first, then students, oldest first. Owner and admins."""
    async with uow:
        session = uow.session
        await _course_for_edit(session, who, course_id, lock=False)
        stmt = (
            select(UnlockOverride)
            .join(
                CourseModule,
                and_(
                    col(CourseModule.course_id) == col(UnlockOverride.course_id),
                    col(CourseModule.module_id) == col(UnlockOverride.module_id),
                ),
            )
            .where(col(UnlockOverride.course_id) == course_id, col(UnlockOverride.active))
        )
        if module_id is not None:
            await _require_attached(session, course_id, module_id)
            stmt = stmt.where(col(UnlockOverride.module_id) == module_id)
        stmt = stmt.order_by(
            col(CourseModule.position),
            col(UnlockOverride.kind),
            col(UnlockOverride.created_at),
            col(UnlockOverride.id),
        )
        return list((await session.scalars(stmt)).all())


async def _remove_overrides(
    uow: UnitOfWork, course_id: uuid.UUID, module_id: uuid.UUID | None = None
) -> None:
    """The active overrides of a course (of one module) removed, each with its
    ``UnlockOverrideRemoved``: one statement and one batch of events, however many. The
    caller holds the course's row lock."""
    conditions = [col(UnlockOverride.course_id) == course_id, col(UnlockOverride.active)]
    if module_id is not None:
        conditions.append(col(UnlockOverride.module_id) == module_id)
    removed = await uow.session.execute(
        update(UnlockOverride)
        .where(*conditions)
        .values(
            active=False,
            unlock_at=None,
            version=col(UnlockOverride.version) + 1,
            updated_at=func.now(),
        )
        .returning(
            col(UnlockOverride.id),
            col(UnlockOverride.course_id),
            col(UnlockOverride.module_id),
            col(UnlockOverride.kind),
            col(UnlockOverride.target_id),
            col(UnlockOverride.version),
        )
        .execution_options(synchronize_session=False)
    )
    await uow.publish_many(
        [
            (
                ev.UnlockOverrideRemoved(
                    override_id=r.id,
                    course_id=r.course_id,
                    module_id=r.module_id,
                    kind=r.kind,
                    target_id=r.target_id,
                ),
                r.version,
            )
            for r in removed
        ]
    )


# ---------------------------------------------------------------- enrollment counts


async def record_enrollments(uow: UnitOfWork, events: Sequence[pe.EnrollmentEvent]) -> None:
    """Apply enrollments' latest states and recount their courses (idempotent): one
    upsert and one recount however many (a group followed enrolls thousands at once; the
    consumer passes the newest event of each enrollment).

    Nothing for a deleted account: its ``UserDeleted`` (another stream) may have been
    applied before this event arrived, or a replay may read the streams in any order.
    """
    async with uow:
        session = uow.session
        gone = await deleted_among(session, uow.tables, {e.user_id for e in events})
        kept = [e for e in events if e.user_id not in gone]
        if not kept:
            return
        course_ids = sorted({e.course_id for e in kept})
        # Lock the courses first (in one order), so the count below starts after any
        # concurrent recount committed (with two replicas, two statements' snapshots could
        # each miss the other's enrollment row).
        await session.execute(
            select(col(Course.id))
            .where(col(Course.id).in_(course_ids))
            .order_by(col(Course.id))
            .with_for_update()
        )
        await upsert_many(
            session,
            EnrollmentCount,
            [
                {
                    "enrollment_id": e.enrollment_id,
                    "course_id": e.course_id,
                    "status": e.status,
                    "user_id": e.user_id,
                }
                for e in kept
            ],
        )
        await _recount(session, course_ids)


async def record_enrollment(uow: UnitOfWork, event: pe.EnrollmentEvent) -> None:
    await record_enrollments(uow, [event])


async def _recount(session: AsyncSession, course_ids: Sequence[uuid.UUID]) -> None:
    """Set each course's ``enrollment_count`` from its projected enrollments (the caller
    holds the courses' row locks)."""
    counted = (
        select(func.count())
        .select_from(EnrollmentCount)
        .where(
            col(EnrollmentCount.course_id) == col(Course.id),
            col(EnrollmentCount.status).in_(ENROLLED),
        )
        .scalar_subquery()
    )
    # Not an edit, so no new version: the ETag carries the count (http.etag's ``derived``).
    await session.execute(
        update(Course)
        .where(col(Course.id).in_(course_ids), col(Course.enrollment_count) != counted)
        .values(enrollment_count=counted)
        .execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------- deleted accounts


async def forget_user(uow: UnitOfWork, event: ie.UserDeleted) -> None:
    """A deleted account (identity's ``UserDeleted``, after ``accounts.forgetting``
    recorded it): its courses and modules stay with ``creator_id`` null (a new version,
    so cached representations and If-Match see the change; no event: every consumer
    applies ``UserDeleted`` itself), its enrollments leave the counts and its own unlock
    overrides go. Idempotent: a second run finds nothing to change."""
    user_id = event.user_id
    async with uow:
        session = uow.session
        for model in (Course, Module):
            await session.execute(
                update(model)
                .where(col(model.creator_id) == user_id)
                .values(creator_id=None, version=col(model.version) + 1, updated_at=func.now())
                .execution_options(synchronize_session=False)
            )
        # The courses the student counted in, locked in id order (like record_enrollment,
        # one at a time), then their rows gone and the courses recounted.
        course_ids = list(
            (
                await session.scalars(
                    select(col(Course.id))
                    .where(
                        col(Course.id).in_(
                            select(col(EnrollmentCount.course_id)).where(
                                col(EnrollmentCount.user_id) == user_id
                            )
                        )
                    )
                    .order_by(col(Course.id))
                    .with_for_update()
                )
            ).all()
        )
        await session.execute(
            delete(EnrollmentCount).where(col(EnrollmentCount.user_id) == user_id)
        )
        # Their own unlock overrides go too, without events (every consumer applies
        # UserDeleted itself); overrides of their groups stay.
        await session.execute(
            delete(UnlockOverride).where(
                col(UnlockOverride.kind) == "user", col(UnlockOverride.target_id) == user_id
            )
        )
        if course_ids:
            await _recount(session, course_ids)

"""Groups and their members (API.md "Groups and cohorts"), the staff directory, and the two
small projections that say which groups an instructor sees.

Commands take the unit of work and open it, like ``service``'s; every change records its
events in the same transaction:

- a group is the ``group`` aggregate: ``GroupCreated``/``GroupUpdated`` carry its state,
  sequence = its ``version``; ``GroupDeleted`` takes ``version + 1``;
- a membership is the ``group_membership`` aggregate (id ``membership_id(group, user)``):
  its row stays when the user is removed (``active`` false), so ``GroupMemberAdded``/
  ``GroupMemberRemoved`` carry a sequence that keeps growing across removal and re-adding.

Who sees a group: admins all of them; an instructor those they created and those that
follow a course they own (``course_groups`` from progress's events, ``course_owners`` from
catalog's). Who changes one: its creator and admins. Students manage none (403); they
read their own groups at ``GET /me/groups``.

Locks, always in this order, so no two writers wait on each other in a cycle: users (``FOR
KEY SHARE`` by whoever adds them: an account being deleted is not added meanwhile), then
groups (every writer of a group's memberships holds its row, so ``member_count`` is exact),
then memberships. Deleting an account locks the account, then its groups in id order
(``forget_user``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from syllabus_shared.accounts import deleted_among
from syllabus_shared.auth import Principal, Role, unauthorized
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import identity as ev
from syllabus_shared.contracts import progress as pe
from syllabus_shared.http import check_if_match
from syllabus_shared.pagination import PageParams, cursor_uuid
from syllabus_shared.problems import Problem, conflict, invalid, not_found, require_present
from syllabus_shared.unit_of_work import UnitOfWork

from syllabus_identity import rules, schemas
from syllabus_identity.models import CourseGroup, CourseOwner, Group, GroupMembership, User


async def _actor(session: AsyncSession, who: Principal) -> User:
    """The caller's account; its role as identity knows it now (not the token's)."""
    user = await session.get(User, who.user_id)
    if user is None:
        raise unauthorized("this account no longer exists")
    return user


async def _staff(session: AsyncSession, who: Principal, doing: str) -> User:
    actor = await _actor(session, who)
    rules.require_staff(actor.role, doing)
    return actor


def _visible_to(actor: User) -> ColumnElement[bool] | None:
    """The groups ``actor`` may see (None: every group, for admins)."""
    if actor.role == Role.admin:
        return None
    followed_by_own_courses = (
        select(col(CourseGroup.group_id))
        .join(CourseOwner, col(CourseOwner.course_id) == col(CourseGroup.course_id))
        .where(col(CourseOwner.owner_id) == actor.id)
    )
    return or_(col(Group.creator_id) == actor.id, col(Group.id).in_(followed_by_own_courses))


async def _group(
    session: AsyncSession, actor: User, group_id: uuid.UUID, *, lock: str | None = None
) -> Group:
    """The group as ``actor`` may see it, 404 otherwise. ``lock``: ``"write"`` (FOR NO KEY
    UPDATE: memberships and edits; a follow's foreign-key check still passes) or
    ``"delete"`` (FOR UPDATE)."""
    stmt = select(Group).where(col(Group.id) == group_id)
    visible = _visible_to(actor)
    if visible is not None:
        stmt = stmt.where(visible)
    if lock is not None:
        stmt = stmt.with_for_update(key_share=lock == "write")
    group = await session.scalar(stmt)
    if group is None:
        raise not_found("group")
    return group


async def _managed(
    session: AsyncSession, who: Principal, group_id: uuid.UUID, *, lock: str = "write"
) -> tuple[User, Group]:
    """(the caller, the group locked), when the caller may change it: 403 for a student or
    an instructor who sees it without having created it, 404 when they cannot see it."""
    actor = await _staff(session, who, "change groups")
    group = await _group(session, actor, group_id, lock=lock)
    rules.require_manager(actor.id, actor.role, group.creator_id)
    return actor, group


def _state(cls: type[ev.GroupState], group: Group) -> ev.GroupState:
    return cls(
        group_id=group.id,
        group_name=group.name,
        description=group.description,
        creator_id=group.creator_id,
    )


def _name_taken(name: str) -> Problem:
    return conflict(
        f"a group named {name!r} exists (names are compared ignoring case)", kind="group-name-taken"
    )


async def _require_name_free(
    session: AsyncSession, name: str, group_id: uuid.UUID | None = None
) -> None:
    stmt = select(col(Group.id)).where(func.lower(col(Group.name)) == name.lower())
    if group_id is not None:
        stmt = stmt.where(col(Group.id) != group_id)
    if await session.scalar(stmt.limit(1)) is not None:
        raise _name_taken(name)


async def _flush_named(session: AsyncSession, group: Group) -> None:
    """Write the group; a name taken meanwhile by a concurrent request is a 409 too."""
    try:
        async with session.begin_nested():
            session.add(group)
            await session.flush()
    except IntegrityError as exc:
        raise _name_taken(group.name) from exc


# ---------------------------------------------------------------- groups


async def create_group(uow: UnitOfWork, who: Principal, data: schemas.GroupCreate) -> Group:
    """A new group created by the caller (instructors, admins): ``GroupCreated``."""
    async with uow:
        session = uow.session
        actor = await _staff(session, who, "create groups")
        await _require_name_free(session, data.name)
        group = Group(name=data.name, description=data.description, creator_id=actor.id)
        await _flush_named(session, group)
        await session.refresh(group)
        await uow.publish(_state(ev.GroupCreated, group), sequence=group.version)
        return group


async def list_groups(
    uow: UnitOfWork, who: Principal, page: PageParams, *, q: str | None = None
) -> list[Group]:
    """The groups the caller sees, newest first; ``q`` matches the name anywhere,
    case-insensitively."""
    async with uow:
        session = uow.session
        actor = await _staff(session, who, "list groups")
        stmt = select(Group)
        visible = _visible_to(actor)
        if visible is not None:
            stmt = stmt.where(visible)
        if q:
            stmt = stmt.where(col(Group.name).ilike(rules.contains_pattern(q), escape="\\"))
        after = cursor_uuid(page)
        if after is not None:
            stmt = stmt.where(col(Group.id) < after)
        stmt = stmt.order_by(col(Group.id).desc()).limit(page.limit + 1)
        return list((await session.scalars(stmt)).all())


async def get_group(uow: UnitOfWork, who: Principal, group_id: uuid.UUID) -> Group:
    async with uow:
        session = uow.session
        actor = await _staff(session, who, "read groups")
        return await _group(session, actor, group_id)


async def update_group(
    uow: UnitOfWork,
    who: Principal,
    group_id: uuid.UUID,
    data: schemas.GroupUpdate,
    if_match: str | None,
) -> Group:
    """Rename or describe a group (its creator, admins): a new version and
    ``GroupUpdated``; nothing changed, nothing published."""
    changes = data.model_dump(exclude_unset=True)
    require_present(changes, "name")
    async with uow:
        session = uow.session
        _, group = await _managed(session, who, group_id)
        check_if_match(if_match, group.version)
        changed = False
        if "name" in changes and changes["name"] != group.name:
            await _require_name_free(session, changes["name"], group.id)
            group.name = changes["name"]
            changed = True
        if "description" in changes and changes["description"] != group.description:
            group.description = changes["description"]
            changed = True
        if not changed:
            return group
        group.touch()
        await _flush_named(session, group)
        await uow.publish(_state(ev.GroupUpdated, group), sequence=group.version)
        return group


async def delete_group(
    uow: UnitOfWork, who: Principal, group_id: uuid.UUID, if_match: str | None
) -> None:
    """Delete a group (its creator, admins), its memberships with it (no
    ``GroupMemberRemoved`` for them) and the follows identity knew: ``GroupDeleted``."""
    async with uow:
        session = uow.session
        _, group = await _managed(session, who, group_id, lock="delete")
        check_if_match(if_match, group.version)
        deleted_at: dt.datetime | None = await session.scalar(select(func.now()))
        assert deleted_at is not None
        version = group.version
        session.expunge(group)
        await session.execute(delete(Group).where(col(Group.id) == group_id))
        await uow.publish(
            ev.GroupDeleted(group_id=group_id, deleted_at=deleted_at), sequence=version + 1
        )


# ---------------------------------------------------------------- members


def _member_columns() -> tuple[Any, ...]:
    return (
        col(GroupMembership.user_id),
        col(User.username),
        col(User.display_name),
        col(GroupMembership.added_at),
    )


async def list_members(
    uow: UnitOfWork, who: Principal, group_id: uuid.UUID, page: PageParams
) -> list[schemas.GroupMember]:
    """The group's members by username (case-insensitive), for whoever sees the group."""
    async with uow:
        session = uow.session
        actor = await _staff(session, who, "read groups")
        group = await _group(session, actor, group_id)
        by_name = func.lower(col(User.username))
        stmt = (
            select(*_member_columns())
            .join(User, col(User.id) == col(GroupMembership.user_id))
            .where(col(GroupMembership.group_id) == group.id, col(GroupMembership.active))
        )
        after = _cursor_text(page, "username")
        if after is not None:
            stmt = stmt.where(by_name > after)
        stmt = stmt.order_by(by_name).limit(page.limit + 1)
        rows = await session.execute(stmt)
        return [schemas.GroupMember.model_validate(row, from_attributes=True) for row in rows]


def _cursor_text(page: PageParams, key: str) -> str | None:
    if page.after is None:
        return None
    value = page.after.get(key)
    if not isinstance(value, str):
        raise invalid(["query", "cursor"], "cursor is not valid", status=400)
    return value


# The memberships of ``user_ids`` (known accounts) in ``group_id`` that begin now: new
# rows at version 1, or former ones (``active`` false) active again at their next version;
# current ones are left alone (and not returned). One statement however many.
_ADD_MEMBERS = text("""
INSERT INTO group_memberships AS m (id, group_id, user_id, active, version, added_at)
SELECT n.id, :group_id, n.user_id, true, 1, now()
FROM unnest(CAST(:ids AS uuid[]), CAST(:user_ids AS uuid[])) AS n (id, user_id)
ON CONFLICT (id) DO UPDATE
    SET active = true, version = m.version + 1, added_at = excluded.added_at, removed_at = NULL
    WHERE NOT m.active
RETURNING m.user_id, m.version, m.added_at
""")


async def _begin_memberships(
    uow: UnitOfWork, group: Group, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dt.datetime]:
    """Make ``user_ids`` (existing accounts, locked) members of ``group`` (locked); record
    ``GroupMemberAdded`` for each membership that began. Returns those, with when."""
    if not user_ids:
        return {}
    ordered = sorted(set(user_ids))
    rows = (
        await uow.session.execute(
            _ADD_MEMBERS,
            {
                "group_id": group.id,
                "ids": [ev.membership_id(group.id, user_id) for user_id in ordered],
                "user_ids": ordered,
            },
        )
    ).all()
    if rows:
        group.member_count += len(rows)
        await uow.publish_many(
            [
                (
                    ev.GroupMemberAdded(
                        membership_id=ev.membership_id(group.id, row.user_id),
                        group_id=group.id,
                        user_id=row.user_id,
                        added_at=row.added_at,
                    ),
                    row.version,
                )
                for row in rows
            ]
        )
    return {row.user_id: row.added_at for row in rows}


def _existing_users(user_ids: Sequence[uuid.UUID]) -> Any:
    """The accounts among ``user_ids``, locked (FOR KEY SHARE) until the transaction ends:
    one being deleted is either gone already or waits until they are added."""
    return (
        select(col(User.id), col(User.username), col(User.display_name))
        .where(col(User.id).in_(list(user_ids)))
        .with_for_update(read=True, key_share=True)
    )


async def add_member(
    uow: UnitOfWork, who: Principal, group_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[schemas.GroupMember, bool]:
    """Make ``user_id`` a member (the group's creator, admins): (the member, whether the
    membership began now). 404 for an unknown (or deleted) account."""
    async with uow:
        session = uow.session
        found = (await session.execute(_existing_users([user_id]))).first()
        _, group = await _managed(session, who, group_id)
        if found is None:
            raise not_found("user")
        began = await _begin_memberships(uow, group, [user_id])
        added_at = began.get(user_id)
        if added_at is None:
            added_at = await session.scalar(
                select(col(GroupMembership.added_at)).where(
                    col(GroupMembership.id) == ev.membership_id(group.id, user_id)
                )
            )
        member = schemas.GroupMember(
            user_id=user_id,
            username=found.username,
            display_name=found.display_name,
            added_at=added_at,
        )
        return member, user_id in began


async def add_members(
    uow: UnitOfWork, who: Principal, group_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> schemas.GroupMembersAdded:
    """Make many users members at once (≤ ``rules.BULK_MAX`` ids; duplicates count once):
    a few statements however many, one ``GroupMemberAdded`` per membership that began.
    Unknown ids are reported, not fatal."""
    rules.at_most(user_ids, ["body", "user_ids"], "user ids")
    requested = list(dict.fromkeys(user_ids))
    async with uow:
        session = uow.session
        known = (
            [row.id for row in await session.execute(_existing_users(requested))]
            if requested
            else []
        )
        _, group = await _managed(session, who, group_id)
        began = await _begin_memberships(uow, group, known)
    added, already, unknown = rules.bulk_outcome(requested, known, began)
    return schemas.GroupMembersAdded(added=added, already_members=already, unknown_user_ids=unknown)


async def remove_member(
    uow: UnitOfWork, who: Principal, group_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """End ``user_id``'s membership (the group's creator, admins): ``GroupMemberRemoved``
    at the membership's next version. 404 when not a member."""
    async with uow:
        session = uow.session
        _, group = await _managed(session, who, group_id)
        membership_id = ev.membership_id(group.id, user_id)
        row = (
            await session.execute(
                update(GroupMembership)
                .where(col(GroupMembership.id) == membership_id, col(GroupMembership.active))
                .values(
                    active=False,
                    version=col(GroupMembership.version) + 1,
                    removed_at=func.now(),
                )
                .returning(col(GroupMembership.version), col(GroupMembership.removed_at))
            )
        ).first()
        if row is None:
            raise Problem(404, "this user is not a member of the group", kind="not-found")
        group.member_count -= 1
        await uow.publish(
            ev.GroupMemberRemoved(
                membership_id=membership_id,
                group_id=group.id,
                user_id=user_id,
                removed_at=row.removed_at,
            ),
            sequence=row.version,
        )


async def my_groups(uow: UnitOfWork, who: Principal, page: PageParams) -> list[Group]:
    """The groups the caller is a member of, newest group first (anyone signed in)."""
    async with uow:
        session = uow.session
        actor = await _actor(session, who)
        stmt = (
            select(Group)
            .join(GroupMembership, col(GroupMembership.group_id) == col(Group.id))
            .where(col(GroupMembership.user_id) == actor.id, col(GroupMembership.active))
        )
        after = cursor_uuid(page)
        if after is not None:
            stmt = stmt.where(col(Group.id) < after)
        stmt = stmt.order_by(col(Group.id).desc()).limit(page.limit + 1)
        return list((await session.scalars(stmt)).all())


# ---------------------------------------------------------------- the staff directory


async def directory(
    uow: UnitOfWork,
    who: Principal,
    page: PageParams,
    *,
    q: str | None = None,
    usernames: Sequence[str] = (),
) -> list[schemas.DirectoryEntry]:
    """People as staff may look them up to add them to groups (instructors, admins): id,
    username and display name only, by username (case-insensitive). ``q`` matches the
    username or the display name anywhere; ``usernames`` are exact matches (ignoring case)
    of up to ``rules.BULK_MAX`` names; both given, both apply."""
    rules.at_most(usernames, ["query", "username"], "usernames")
    # A value that cannot be a username (a stray comma, an email) matches nobody.
    wanted = sorted({n.strip().lower() for n in usernames if rules.valid_username(n.strip())})
    async with uow:
        session = uow.session
        await _staff(session, who, "look people up")
        if usernames and not wanted:
            return []
        by_name = func.lower(col(User.username))
        stmt = select(col(User.id), col(User.username), col(User.display_name))
        if wanted:
            stmt = stmt.where(by_name.in_(wanted))
        if q:
            pattern = rules.contains_pattern(q)
            stmt = stmt.where(
                or_(
                    col(User.username).ilike(pattern, escape="\\"),
                    col(User.display_name).ilike(pattern, escape="\\"),
                )
            )
        after = _cursor_text(page, "username")
        if after is not None:
            stmt = stmt.where(by_name > after)
        stmt = stmt.order_by(by_name).limit(page.limit + 1)
        rows = await session.execute(stmt)
        return [schemas.DirectoryEntry.model_validate(row, from_attributes=True) for row in rows]


# ---------------------------------------------------------------- an account's deletion


async def forget_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Part of deleting an account (``service.delete_user``, the account's row locked; its
    rows deleted next): it leaves every group (the memberships go with the account's row,
    without events: consumers apply ``UserDeleted``), the groups it created stay without
    a creator (a new version for the ETag, no event), and its courses without an owner."""
    mine = select(col(GroupMembership.group_id)).where(col(GroupMembership.user_id) == user_id)
    await session.execute(
        select(col(Group.id))
        .where(or_(col(Group.creator_id) == user_id, col(Group.id).in_(mine)))
        .order_by(col(Group.id))
        .with_for_update(key_share=True)
    )
    await session.execute(
        update(Group)
        .where(col(Group.id).in_(mine.where(col(GroupMembership.active))))
        .values(member_count=col(Group.member_count) - 1)
    )
    await session.execute(
        update(Group)
        .where(col(Group.creator_id) == user_id)
        .values(creator_id=None, version=col(Group.version) + 1, updated_at=func.now())
    )
    await session.execute(
        update(CourseOwner).where(col(CourseOwner.owner_id) == user_id).values(owner_id=None)
    )


# ---------------------------------------------------------------- projections (handlers)


async def remember_course(uow: UnitOfWork, event: ce.CourseState) -> None:
    """A course's owner as catalog's newest course event says (null for a deleted
    account, so a late event brings no deleted owner back)."""
    async with uow:
        session = uow.session
        owner = event.creator_id
        if owner is not None and owner in await deleted_among(session, uow.tables, [owner]):
            owner = None
        stmt = pg_insert(CourseOwner).values(course_id=event.course_id, owner_id=owner)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["course_id"], set_={"owner_id": stmt.excluded.owner_id}
            )
        )


async def forget_course(uow: UnitOfWork, event: ce.CourseDeleted) -> None:
    async with uow:
        await uow.session.execute(
            delete(CourseOwner).where(col(CourseOwner.course_id) == event.course_id)
        )


async def course_follows_group(uow: UnitOfWork, event: pe.CourseGroupFollowed) -> None:
    """A course follows a group (of a group identity still has: a late event for a
    deleted group writes nothing)."""
    follow = {"course_id": event.course_id, "group_id": event.group_id}
    async with uow:
        session = uow.session
        group = select(col(Group.id)).where(col(Group.id) == follow["group_id"])
        # Held (FOR KEY SHARE) until the row is in: the group cannot go in between.
        if await session.scalar(group.with_for_update(read=True, key_share=True)) is None:
            return
        await session.execute(pg_insert(CourseGroup).values(follow).on_conflict_do_nothing())


async def course_unfollows_group(uow: UnitOfWork, event: pe.CourseGroupUnfollowed) -> None:
    async with uow:
        await uow.session.execute(
            delete(CourseGroup).where(
                col(CourseGroup.course_id) == event.course_id,
                col(CourseGroup.group_id) == event.group_id,
            )
        )

"""Groups as the services that judge by them keep them: identity's groups and memberships,
and (for every service but progress, which owns them) the groups each course follows.

A mechanism, not a rule: each service declares the tables on its own ``MetaData``
(:func:`group_tables`, created by its own migration), subscribes the handlers
(:func:`keeping_groups`, :func:`keeping_follows`) and decides what a membership means
(progress enrolls; assessment filters gradebooks and resolves due dates).

- Rows are facts as identity last told them: ``group_members`` holds a row exactly while
  the user is a member; a deleted group leaves a tombstone in ``known_groups`` so a late
  or redelivered ``GroupMemberAdded`` for it writes nothing, and its members go with it.
- The aggregates stay in ``aggregate_versions`` and replay does not empty these tables
  (like progress's facts), so a replayed membership event is skipped as stale and a
  rebuild never sees a membership flicker.
- A deleted account's memberships go with ``UserDeleted`` (:func:`forget_memberships`);
  its late events write nothing (``accounts.deleted_among``).
- Handlers are set-based (one statement per table for a whole fetch of events) and
  return what changed, so a service can act on exactly that (``on_change``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    MetaData,
    Table,
    Text,
    Uuid,
    and_,
    delete,
    false,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from syllabus_shared.accounts import deleted_among
from syllabus_shared.consistency import recently_minted
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as pr
from syllabus_shared.problems import not_found, not_yet_visible
from syllabus_shared.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class GroupTables:
    groups: Table  # group_id, name, deleted (a tombstone once deleted), creator_id
    members: Table  # (group_id, user_id) while a member
    follows: Table | None  # (course_id, group_id) while the course follows the group


def group_tables(metadata: MetaData, *, follows: bool = True) -> GroupTables:
    """Declare ``known_groups`` and ``group_members`` (and ``course_groups``, the follows,
    unless the service owns follows itself) on ``metadata``."""
    groups = Table(
        "known_groups",
        metadata,
        Column("group_id", Uuid, primary_key=True),
        Column("name", Text, nullable=False, server_default=""),
        Column("deleted", Boolean, nullable=False, server_default=false()),
        # Who created it, as identity's events say (null once unknown or deleted).
        Column("creator_id", Uuid, nullable=True),
    )
    members = Table(
        "group_members",
        metadata,
        Column("group_id", Uuid, primary_key=True),
        Column("user_id", Uuid, primary_key=True),
        Index("ix_group_members_user_id", "user_id"),
    )
    follow_table = (
        Table(
            "course_groups",
            metadata,
            Column("course_id", Uuid, primary_key=True),
            Column("group_id", Uuid, primary_key=True),
            Index("ix_course_groups_group_id", "group_id"),
        )
        if follows
        else None
    )
    return GroupTables(groups=groups, members=members, follows=follow_table)


@dataclass
class MembershipChange:
    """What one application of identity's events changed: memberships that began and
    ended (``(group_id, user_id)`` pairs) and groups that were deleted (their members as
    they were)."""

    added: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)
    removed: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)

    @property
    def user_ids(self) -> set[uuid.UUID]:
        return {user for _, user in (*self.added, *self.removed)}

    @property
    def group_ids(self) -> set[uuid.UUID]:
        return {group for group, _ in (*self.added, *self.removed)}


OnChange = Callable[[UnitOfWork, MembershipChange], Awaitable[None]]


async def remember_groups(
    uow: UnitOfWork, tables: GroupTables, events: Sequence[ie.GroupState]
) -> None:
    """A group's name and creator as its newest event carries them (one multi-row upsert).
    A tombstone stays a tombstone: a deleted group is never brought back. A creator whose
    account is deleted is not kept (identity forgets it without an event of the group's)."""
    session = uow.session
    latest = {e.group_id: e for e in events}
    gone = await deleted_among(
        session, uow.tables, [e.creator_id for e in latest.values() if e.creator_id]
    )
    rows = [
        {
            "group_id": e.group_id,
            "name": e.group_name,
            "creator_id": None if e.creator_id in gone else e.creator_id,
        }
        for e in latest.values()
    ]
    stmt = pg_insert(tables.groups)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["group_id"],
            set_={"name": stmt.excluded.name, "creator_id": stmt.excluded.creator_id},
            where=tables.groups.c.deleted.is_(False),
        ),
        rows,
    )


async def forget_group(
    session: AsyncSession, tables: GroupTables, group_id: uuid.UUID
) -> MembershipChange:
    """A deleted group: its tombstone, its memberships and (here) its follows go."""
    stmt = pg_insert(tables.groups).values(group_id=group_id, name="", deleted=True)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["group_id"], set_={"deleted": True})
    )
    members = tables.members
    gone = (
        await session.execute(
            delete(members).where(members.c.group_id == group_id).returning(members.c.user_id)
        )
    ).scalars()
    change = MembershipChange(removed=[(group_id, user) for user in gone])
    if tables.follows is not None:
        await session.execute(delete(tables.follows).where(tables.follows.c.group_id == group_id))
    return change


async def add_members(
    session: AsyncSession,
    uow: UnitOfWork,
    tables: GroupTables,
    events: Sequence[ie.GroupMemberAdded],
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Memberships that began: those not already there, of groups not deleted, of
    accounts not deleted."""
    if not events:
        return []
    deleted_users = await deleted_among(session, uow.tables, [e.user_id for e in events])
    group_ids = list({e.group_id for e in events})
    gone_groups = set(
        (
            await session.scalars(
                select(tables.groups.c.group_id).where(
                    tables.groups.c.group_id.in_(group_ids), tables.groups.c.deleted
                )
            )
        ).all()
    )
    rows = [
        {"group_id": e.group_id, "user_id": e.user_id}
        for e in events
        if e.user_id not in deleted_users and e.group_id not in gone_groups
    ]
    if not rows:
        return []
    members = tables.members
    stmt = (
        pg_insert(members)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(members.c.group_id, members.c.user_id)
    )
    return [(row.group_id, row.user_id) for row in await session.execute(stmt)]


async def remove_members(
    session: AsyncSession, tables: GroupTables, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Memberships that ended (of those that were there)."""
    if not pairs:
        return []
    members = tables.members
    stmt = (
        delete(members)
        .where(tuple_(members.c.group_id, members.c.user_id).in_(list(set(pairs))))
        .returning(members.c.group_id, members.c.user_id)
    )
    return [(row.group_id, row.user_id) for row in await session.execute(stmt)]


async def forget_memberships(
    session: AsyncSession, tables: GroupTables, user_id: uuid.UUID
) -> list[uuid.UUID]:
    """A deleted account's memberships go (identity removed them with the account), and
    it is no group's creator any more."""
    members = tables.members
    gone = await session.scalars(
        delete(members).where(members.c.user_id == user_id).returning(members.c.group_id)
    )
    groups = list(gone.all())
    await session.execute(
        update(tables.groups).where(tables.groups.c.creator_id == user_id).values(creator_id=None)
    )
    return groups


def keeping_groups(
    tables: GroupTables, on_change: OnChange | None = None
) -> tuple[Mapping[type[Any], Any], Mapping[type[Any], Any]]:
    """``(handlers, many)`` for a ``Subscription`` of identity's stream that keep
    ``tables`` as identity's group events say; ``on_change`` then gets what changed, in
    the same transaction (progress enrolls and drops from it)."""

    async def groups_changed(uow: UnitOfWork, events: Sequence[ie.GroupState]) -> None:
        async with uow:
            await remember_groups(uow, tables, events)

    async def group_deleted(uow: UnitOfWork, event: ie.GroupDeleted) -> None:
        async with uow:
            change = await forget_group(uow.session, tables, event.group_id)
            if on_change is not None and change:
                await on_change(uow, change)

    async def members_added(uow: UnitOfWork, events: Sequence[ie.GroupMemberAdded]) -> None:
        async with uow:
            change = MembershipChange(added=await add_members(uow.session, uow, tables, events))
            if on_change is not None and change:
                await on_change(uow, change)

    async def members_removed(uow: UnitOfWork, events: Sequence[ie.GroupMemberRemoved]) -> None:
        async with uow:
            pairs = [(e.group_id, e.user_id) for e in events]
            change = MembershipChange(removed=await remove_members(uow.session, tables, pairs))
            if on_change is not None and change:
                await on_change(uow, change)

    async def group_changed(uow: UnitOfWork, event: ie.GroupState) -> None:
        await groups_changed(uow, [event])

    async def member_added(uow: UnitOfWork, event: ie.GroupMemberAdded) -> None:
        await members_added(uow, [event])

    async def member_removed(uow: UnitOfWork, event: ie.GroupMemberRemoved) -> None:
        await members_removed(uow, [event])

    handlers: dict[type[Any], Any] = {
        ie.GroupCreated: group_changed,
        ie.GroupUpdated: group_changed,
        ie.GroupDeleted: group_deleted,
        ie.GroupMemberAdded: member_added,
        ie.GroupMemberRemoved: member_removed,
    }
    many: dict[type[Any], Any] = {
        ie.GroupCreated: groups_changed,
        ie.GroupUpdated: groups_changed,
        ie.GroupMemberAdded: members_added,
        ie.GroupMemberRemoved: members_removed,
    }
    return handlers, many


def keeping_follows(tables: GroupTables) -> Mapping[type[Any], Any]:
    """Handlers for a ``Subscription`` of progress's stream that keep ``course_groups``
    (which groups each course follows) as progress's follow events say."""
    follows = tables.follows
    assert follows is not None, "declared with follows=False: the service owns follows"

    async def followed(uow: UnitOfWork, event: pr.CourseGroupFollowed) -> None:
        async with uow:
            await uow.session.execute(
                pg_insert(follows)
                .values(course_id=event.course_id, group_id=event.group_id)
                .on_conflict_do_nothing()
            )

    async def unfollowed(uow: UnitOfWork, event: pr.CourseGroupUnfollowed) -> None:
        async with uow:
            await uow.session.execute(
                delete(follows).where(
                    and_(
                        follows.c.course_id == event.course_id, follows.c.group_id == event.group_id
                    )
                )
            )

    return {pr.CourseGroupFollowed: followed, pr.CourseGroupUnfollowed: unfollowed}


async def settle_group(uow: UnitOfWork, tables: GroupTables, group_id: uuid.UUID) -> None:
    """404 unless identity's group is known here and not deleted. A group minted a moment
    ago and not known yet is waited for (bounded, holding no transaction; still unknown:
    503 not-yet-visible, not 404): what a request naming a group calls first."""
    groups = tables.groups

    async def deleted() -> bool | None:
        async with uow.read() as conn:
            found: bool | None = await conn.scalar(
                select(groups.c.deleted).where(groups.c.group_id == group_id)
            )
            return found

    state = await deleted()
    if state is None and recently_minted(group_id):

        async def known() -> bool:
            return await deleted() is not None

        if not await uow.wait_for(known):
            raise not_yet_visible("group", group_id)
        state = await deleted()
    if state is None or state:
        raise not_found("group")

"""Events published by identity (stream IDENTITY, subjects ``identity.>``)."""

from __future__ import annotations

import datetime as dt
import uuid

from syllabus_shared.contracts.base import Event, derived_id


class UserEvent(Event):
    source = "identity"
    aggregate = "user"
    user_id: uuid.UUID

    def subject_id(self) -> uuid.UUID:
        return self.user_id


class UserRegistered(UserEvent):
    name = "UserRegistered"
    username: str
    display_name: str | None = None
    role: str


class UserRoleChanged(UserEvent):
    """The user's role changed; carries the user's names too, so every event of the
    ``user`` aggregate carries its whole state (a consumer of several of them that skips
    an older one as stale loses nothing)."""

    name = "UserRoleChanged"
    role: str
    previous_role: str
    username: str | None = None
    display_name: str | None = None


class UserProfileChanged(UserEvent):
    """The user's profile (today: the display name) changed: their state after it.

    Published with the user's new version as ``sequence``; a ``PATCH`` that changes the
    role and the display name together publishes ``UserRoleChanged`` and this event with
    the same version, and both carry the same state, so either one suffices."""

    name = "UserProfileChanged"
    username: str
    display_name: str
    role: str


class UserDeleted(UserEvent):
    """The account is gone: every service deletes the user's own data (enrollments,
    completions, views, submissions, grades), keeps what they created with the creator
    set to null, and refuses the user's tokens from now on."""

    name = "UserDeleted"
    deleted_at: dt.datetime


# ---------------------------------------------------------------- groups (aggregate ``group``)


class GroupEvent(Event):
    source = "identity"
    aggregate = "group"
    group_id: uuid.UUID

    def subject_id(self) -> uuid.UUID:
        return self.group_id


class GroupState(GroupEvent):
    """A group's state after the change; sequence = the group's ``version``.
    (``group_name``: ``name`` names the event type on every event.)"""

    group_name: str
    description: str | None = None
    # None once the creator's account was deleted (the group stays; admins manage it).
    creator_id: uuid.UUID | None


class GroupCreated(GroupState):
    name = "GroupCreated"


class GroupUpdated(GroupState):
    name = "GroupUpdated"


class GroupDeleted(GroupEvent):
    """The group is gone, and with it every membership (no ``GroupMemberRemoved`` is
    published for them): consumers forget its members and stop following it."""

    name = "GroupDeleted"
    deleted_at: dt.datetime


# ------------------------------------------- memberships (aggregate ``group_membership``)


def membership_id(group_id: uuid.UUID, user_id: uuid.UUID) -> uuid.UUID:
    """The one id of ``user_id``'s membership in ``group_id``, the same everywhere."""
    return derived_id("group_membership", group_id, user_id)


class MembershipEvent(Event):
    """A (group, user) membership; sequence = the membership row's ``version``, which
    survives removal and re-adding (the row stays, ``active`` false), so a consumer never
    takes an old ``GroupMemberAdded`` for news. A user's account deletion removes their
    memberships without these events (``UserDeleted`` says it)."""

    source = "identity"
    aggregate = "group_membership"
    membership_id: uuid.UUID
    group_id: uuid.UUID
    user_id: uuid.UUID

    def subject_id(self) -> uuid.UUID:
        return self.membership_id


class GroupMemberAdded(MembershipEvent):
    name = "GroupMemberAdded"
    added_at: dt.datetime


class GroupMemberRemoved(MembershipEvent):
    name = "GroupMemberRemoved"
    removed_at: dt.datetime

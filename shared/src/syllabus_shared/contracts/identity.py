"""Events published by identity (stream IDENTITY, subjects ``identity.>``)."""

from __future__ import annotations

import datetime as dt
import uuid

from syllabus_shared.contracts.base import Event


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

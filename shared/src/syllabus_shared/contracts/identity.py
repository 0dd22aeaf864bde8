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
    name = "UserRoleChanged"
    role: str
    previous_role: str


class UserDeleted(UserEvent):
    """The account is gone: every service deletes the user's own data (enrollments,
    completions, views, submissions, grades), keeps what they created with the creator
    set to null, and refuses the user's tokens from now on."""

    name = "UserDeleted"
    deleted_at: dt.datetime

"""Events published by identity (stream IDENTITY, subjects ``identity.>``)."""

from __future__ import annotations

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

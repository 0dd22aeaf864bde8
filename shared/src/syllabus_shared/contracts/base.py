"""The event envelope (CloudEvents 1.0, structured JSON) and the base of every event."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

# The namespace of ids derived from the ids they relate (:func:`derived_id`).
_DERIVED = uuid.UUID("6f1c3b9e-5d2a-4e8f-9a47-2c0d8e1b7f35")


def derived_id(kind: str, *parts: uuid.UUID | str) -> uuid.UUID:
    """The one id of a relation between ids (a membership, a follow, an override): every
    producer and consumer computes the same id from the same parts (UUIDv5), so the
    relation is one aggregate whose version survives its removal and re-creation."""
    return uuid.uuid5(_DERIVED, ":".join([kind, *(str(part) for part in parts)]))


class Event(BaseModel):
    """Base of every integration event's ``data``.

    Subclasses set the class variables; ``subject_id`` names the aggregate instance.
    Consumers ignore fields they do not know (versions are additive).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    source: ClassVar[str]
    aggregate: ClassVar[str]
    name: ClassVar[str]
    schema_version: ClassVar[int] = 1
    # Whether events of this type get positions for consistency tokens (see
    # consistency_token). Notices do not: no read ever waits for one.
    numbered: ClassVar[bool] = True

    @classmethod
    def type_name(cls) -> str:
        return f"syllabus.{cls.source}.{cls.name}.v{cls.schema_version}"

    @classmethod
    def subject_suffix(cls) -> str:
        """NATS subject below the namespace: ``<service>.<aggregate>.<event>``."""
        return f"{cls.source}.{cls.aggregate}.{cls.name}"

    def subject_id(self) -> uuid.UUID:
        raise NotImplementedError

    def routed_subject(self) -> str | None:
        """A subject of this event's own instead of :meth:`subject_suffix` (None: the
        type's subject). Notices use it to land in the ``LIVE`` stream under their
        recipient's subject, so a reconnecting stream reads exactly one person's."""
        return None


class Envelope(BaseModel):
    """CloudEvents 1.0 attributes plus our extensions (``sequence``, ``aggregatetype``, ...)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    specversion: str = "1.0"
    id: uuid.UUID
    source: str
    type: str
    subject: str
    time: dt.datetime
    datacontenttype: str = "application/json"
    aggregatetype: str
    sequence: int = Field(ge=1, description="The aggregate's version after this change")
    correlationid: str | None = None
    causationid: str | None = None
    # CloudEvents distributed-tracing extension: the W3C trace context the event was
    # created in (absent when the producer does not trace).
    traceparent: str | None = Field(default=None, description="W3C traceparent")
    tracestate: str | None = Field(default=None, description="W3C tracestate")
    data: dict[str, Any]

"""The event contracts: the one place producers and consumers get event shapes from."""

from __future__ import annotations

from syllabus_shared.contracts import assessment, catalog, content, identity, progress
from syllabus_shared.contracts.base import Envelope, Event
from syllabus_shared.contracts.notices import LIVE_STREAM, Notice

ALL_EVENTS: tuple[type[Event], ...] = tuple(
    cls
    for module in (identity, catalog, content, progress, assessment)
    for cls in vars(module).values()
    if isinstance(cls, type) and issubclass(cls, Event) and "name" in cls.__dict__
)
EVENTS_BY_TYPE: dict[str, type[Event]] = {cls.type_name(): cls for cls in ALL_EVENTS}

# One JetStream stream per producing service.
STREAMS: dict[str, str] = {
    "identity": "IDENTITY",
    "catalog": "CATALOG",
    "content": "CONTENT",
    "progress": "PROGRESS",
    "assessment": "ASSESSMENT",
}

# Services whose outbox also publishes notices into the LIVE stream (contracts.notices).
NOTICE_SOURCES: frozenset[str] = frozenset(
    cls.source for cls in ALL_EVENTS if issubclass(cls, Notice)
)

__all__ = [
    "ALL_EVENTS",
    "EVENTS_BY_TYPE",
    "LIVE_STREAM",
    "NOTICE_SOURCES",
    "STREAMS",
    "Envelope",
    "Event",
]

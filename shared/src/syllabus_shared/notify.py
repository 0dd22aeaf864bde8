"""Recording notices (contracts.notices) in the outbox, each carrying its cause.

A service decides whom a change concerns; this records one notice per recipient in the
transaction that applies the change (one statement however many), each with the
consistency token of what caused it: the events being handled (the consumer's
``cause_positions_var``) plus ``also`` (e.g. the event a notice is about). A client that
sends that token with its next read, on any service, is answered only once that service
has applied those events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from syllabus_shared.consistency_token import ConsistencyToken
from syllabus_shared.contracts.notices import NOTICE_SEQUENCE, Notice
from syllabus_shared.messaging.outbox import cause_positions_var, notices_quiet
from syllabus_shared.unit_of_work import UnitOfWork


def cause_token(also: Mapping[str, int] | None = None) -> str:
    """The consistency token of the events being handled (and ``also``)."""
    positions = dict(cause_positions_var.get() or {})
    for event_type, position in (also or {}).items():
        positions[event_type] = max(positions.get(event_type, 0), position)
    return ConsistencyToken.of_types(positions).encode()


async def tell(
    uow: UnitOfWork, notice: type[Notice], recipients: Iterable[Mapping[str, Any]]
) -> int:
    """Record one ``notice`` per recipient (each a mapping of its fields, ``user_id``
    and ``kind`` at least; duplicates told once); returns how many. Nothing while a
    projection is rebuilt (``notices_quiet``)."""
    if notices_quiet.get():
        return 0
    token = cause_token()
    seen: set[tuple[Any, ...]] = set()
    events: list[tuple[Notice, int]] = []
    for fields in recipients:
        key = tuple(sorted((k, str(v)) for k, v in fields.items()))
        if key in seen:
            continue
        seen.add(key)
        events.append((notice(consistency=token, **fields), NOTICE_SEQUENCE))
    if events:
        await uow.publish_many(events)
    return len(events)

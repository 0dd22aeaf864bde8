"""Consumer positions: up to where, per event type, a consumer has handled every event.

Each published event carries its position among the events of its type (header
``Syllabus-Position``; :meth:`~syllabus_shared.messaging.outbox.Outbox.seal`). In the
transaction that applies a batch, the consumer folds the batch's positions into its row
for each type: ``position`` moves up over every position now handled without a gap, and
positions handled beyond a gap wait in ``ahead`` until the gap fills (an event redelivered
late, a relay that published out of order). So ``position >= p`` means: every event of
that type numbered up to ``p`` has been applied here, committed with the projection.

A consumer that meets a type for the first time counts from 0: its durable consumer reads
the stream from the start, where the type's positions begin at 1. (A purged stream never
delivers its first positions: past ``MAX_AHEAD`` waiting, counting resumes past the gap.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("syllabus.positions")

# The message header the relay publishes an event's position in.
POSITION_HEADER = "Syllabus-Position"

# Past this many positions waiting beyond a gap, the gap is taken as never to fill (the
# stream lost that event): counting resumes past it, with a warning.
MAX_AHEAD = 10_000

_SAVE = text("""
INSERT INTO consumer_positions (consumer, event_type, position, ahead)
SELECT :consumer, t.event_type, t.position, CAST(t.ahead AS bigint[])
FROM unnest(CAST(:event_type AS text[]), CAST(:position AS bigint[]), CAST(:ahead AS text[]))
    AS t(event_type, position, ahead)
ON CONFLICT (consumer, event_type)
DO UPDATE SET position = excluded.position, ahead = excluded.ahead
""")

_SEED = text("""
INSERT INTO consumer_positions (consumer, event_type, position)
SELECT :consumer, t.event_type, t.position
FROM unnest(CAST(:event_type AS text[]), CAST(:position AS bigint[])) AS t(event_type, position)
ON CONFLICT (consumer, event_type) DO NOTHING
""")


# The common case in one statement: every type's handled positions follow on from its
# row without a gap and nothing waits beyond one. Returns the types it moved (the others
# take the general path); notifies ``:channel`` (when not null) on commit when one moved.
_FOLLOW_ON = text("""
WITH moved AS (
    UPDATE consumer_positions AS c SET position = t.hi
    FROM unnest(CAST(:event_type AS text[]), CAST(:lo AS bigint[]), CAST(:hi AS bigint[]))
        AS t(event_type, lo, hi)
    WHERE c.consumer = :consumer AND c.event_type = t.event_type
        AND c.position = t.lo - 1 AND coalesce(cardinality(c.ahead), 0) = 0
    RETURNING c.event_type
)
SELECT event_type,
    CASE WHEN CAST(:channel AS text) IS NOT NULL THEN pg_notify(:channel, '') END
FROM moved
""")


def fold(position: int, ahead: Iterable[int], handled: Iterable[int]) -> tuple[int, list[int]]:
    """Move ``position`` up over every handled position without a gap (pure)."""
    waiting = {p for p in (*ahead, *handled) if p > position}
    if len(waiting) > MAX_AHEAD:
        skipped_to = min(waiting) - 1
        log.warning(
            "positions %d..%d never arrived; counting on from %d",
            position + 1,
            skipped_to,
            skipped_to + 1,
        )
        position = skipped_to
    while position + 1 in waiting:
        position += 1
        waiting.discard(position)
    return position, sorted(waiting)


async def advance(
    session: AsyncSession,
    table: Table,
    consumer: str,
    handled: Mapping[str, list[int]],
    *,
    notify: str | None = None,
) -> bool:
    """Fold ``handled`` (positions per event type) into ``consumer``'s rows, in the
    caller's transaction. True when some type's position moved; then ``notify`` (a
    channel), when given, is notified on commit.

    When each type's positions follow on from its row without a gap (events delivered in
    order, the usual case) this is one statement; otherwise the rows are read, locked,
    folded here and written back."""
    if not handled:
        return False
    rest = dict(handled)
    runs = {t: sorted(set(ps)) for t, ps in handled.items()}
    follow_on = sorted(t for t, ps in runs.items() if ps and ps[-1] - ps[0] + 1 == len(ps))
    moved = False
    if follow_on:
        done = (
            await session.execute(
                _FOLLOW_ON,
                {
                    "consumer": consumer,
                    "event_type": follow_on,
                    "lo": [runs[t][0] for t in follow_on],
                    "hi": [runs[t][-1] for t in follow_on],
                    "channel": notify,
                },
            )
        ).all()
        for row in done:
            rest.pop(row.event_type, None)
        moved = bool(done)
    if rest and await _advance_locked(session, table, consumer, rest):
        if notify is not None:
            await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": notify})
        moved = True
    return moved


async def _advance_locked(
    session: AsyncSession, table: Table, consumer: str, handled: Mapping[str, list[int]]
) -> bool:
    """The general fold: read and lock the rows, fold, write back. True when one moved."""
    types = sorted(handled)
    current = await _locked(session, table, consumer, types)
    missing = [t for t in types if t not in current]
    if missing:
        # First events of these types here: count from the start (position 0). Not from
        # just below the first one handled: that may be event 2 with event 1 still
        # failing, and a token naming 1 would pass before it is applied.
        await session.execute(
            _SEED,
            {
                "consumer": consumer,
                "event_type": missing,
                "position": [0 for _ in missing],
            },
        )
        current.update(await _locked(session, table, consumer, missing))
    moved = False
    rows: list[tuple[str, int, list[int]]] = []
    for event_type in types:
        position, ahead = current[event_type]
        new_position, new_ahead = fold(position, ahead, handled[event_type])
        if (new_position, new_ahead) != (position, ahead):
            rows.append((event_type, new_position, new_ahead))
            moved = moved or new_position > position
    if rows:
        await session.execute(
            _SAVE,
            {
                "consumer": consumer,
                "event_type": [r[0] for r in rows],
                "position": [r[1] for r in rows],
                # Arrays of unequal length cannot be one 2-D array: each as its literal.
                "ahead": ["{" + ",".join(map(str, r[2])) + "}" for r in rows],
            },
        )
    return moved


async def _locked(
    session: AsyncSession, table: Table, consumer: str, types: list[str]
) -> dict[str, tuple[int, list[int]]]:
    result = await session.execute(
        select(table.c.event_type, table.c.position, table.c.ahead)
        .where(table.c.consumer == consumer, table.c.event_type.in_(types))
        .order_by(table.c.event_type)
        .with_for_update()
    )
    return {row.event_type: (int(row.position), list(row.ahead or [])) for row in result}

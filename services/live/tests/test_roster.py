"""Roster coalescing: one ``roster`` per course per interval on a stream (the first at
once, the newest of a burst at the end), and ids held below a roster still waiting."""

from __future__ import annotations

import time
import uuid

from conftest import ROSTER_INTERVAL, Live, notice


async def test_a_burst_of_rosters_is_one_at_once_and_the_newest_an_interval_later(
    live: Live,
) -> None:
    owner, course, other_course = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with live.stream(owner) as s:
        burst = [notice(owner, "roster", course_id=course) for _ in range(5)]
        started = time.monotonic()
        seqs = [await live.notify(n) for n in burst]
        # Another course's roster is not held back by this one's.
        other = await live.notify(notice(owner, "roster", course_id=other_course))
        # Nor is another kind of event, but its id is held below the waiting roster.
        progress = await live.notify(notice(owner, "progress"))

        first = await s.next()
        first_at = time.monotonic()
        assert (first.event, first.id) == ("roster", str(seqs[0]))
        assert first.json() == {"course_id": str(course), "consistency": burst[0].consistency}
        assert first_at - started < ROSTER_INTERVAL * 0.8

        nxt = await s.next()
        assert (nxt.event, nxt.json()["course_id"]) == ("roster", str(other_course))
        assert nxt.id == str(seqs[-1] - 1), "an id past the waiting roster"
        nxt = await s.next()
        assert nxt.event == "progress"
        assert nxt.id == str(seqs[-1] - 1), "an id past the waiting roster"
        assert time.monotonic() - started < ROSTER_INTERVAL * 0.8

        last = await s.next(timeout=ROSTER_INTERVAL + 1)
        last_at = time.monotonic()
        assert last.event == "roster"
        assert last.json() == {"course_id": str(course), "consistency": burst[-1].consistency}
        assert last.id == str(progress)  # nothing waits any more
        assert ROSTER_INTERVAL * 0.8 <= last_at - first_at < ROSTER_INTERVAL + 0.5
        # The ones in between are never sent.
        await s.quiet(ROSTER_INTERVAL + 0.2)
        assert other < progress

        # After a quiet interval, the next roster goes at once again.
        again = notice(owner, "roster", course_id=course)
        sent = time.monotonic()
        seq = await live.notify(again)
        frame = await s.next()
        assert (frame.id, frame.json()["consistency"]) == (str(seq), again.consistency)
        assert time.monotonic() - sent < ROSTER_INTERVAL * 0.8


async def test_a_client_that_drops_while_a_roster_waits_gets_it_on_resume(live: Live) -> None:
    owner, course = uuid.uuid4(), uuid.uuid4()
    async with live.stream(owner) as s:
        burst = [notice(owner, "roster", course_id=course) for _ in range(3)]
        seqs = [await live.notify(n) for n in burst]
        progress = await live.notify(notice(owner, "progress"))
        assert (await s.next()).id == str(seqs[0])
        held = await s.next()
        assert held.event == "progress"
        assert held.id == str(seqs[-1] - 1)
    # Dropped before the waiting roster was sent: resuming from the last id received
    # sends it (and the progress again: events are safe to repeat).
    async with live.stream(owner, last_event_id=held.id) as s:
        roster = await s.next()
        assert roster.event == "roster"
        assert roster.json()["consistency"] == burst[-1].consistency
        assert roster.id == str(seqs[-1])
        again = await s.next()
        assert (again.event, again.id) == ("progress", str(progress))

"""One person's server-sent event stream: what it sends, in which order, and when it ends.

1. ``event: ready`` once the connection is registered with the hub (it listens), with the
   id the stream resumes from;
2. ``event: reset`` first when the ``Last-Event-ID`` is too old (its events are no longer
   kept), unknown (a newer stream than ours), or more than ``replay_limit`` events behind;
3. the person's missed events after that id, read from the stream by subject;
4. then new events as they come, each ``id: <stream sequence>``; anything already sent
   (the replay and the live queue overlap) is skipped by its sequence.

``roster`` events are coalesced per course: one at once, then at most one per
``roster_interval`` (the newest, at the end of the interval). While one waits, the ids
sent are held below it, so a client that drops meanwhile resumes without missing it.
A comment line is sent after ``heartbeat`` seconds of silence. The stream ends when the
access token expires, the account is deleted, or the instance shuts down.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator

from syllabus_live.hub import Connection, Hub, Item


def frame(event: str, data: str, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n".encode()


class Stream:
    __slots__ = (
        "_roster_sent",
        "_roster_waiting",
        "conn",
        "heartbeat",
        "hub",
        "last",
        "replay_limit",
        "reset_first",
        "roster_interval",
        "start",
    )

    def __init__(
        self,
        hub: Hub,
        conn: Connection,
        *,
        start: int,
        reset: bool,
        heartbeat: float,
        replay_limit: int,
        roster_interval: float,
    ) -> None:
        self.hub = hub
        self.conn = conn
        self.start = start
        self.reset_first = reset
        self.heartbeat = heartbeat
        self.replay_limit = replay_limit
        self.roster_interval = roster_interval
        self.last = start  # highest sequence sent (or skipped as superseded)
        self._roster_sent: dict[str, float] = {}  # course -> when last sent
        self._roster_waiting: dict[str, Item] = {}  # course -> newest held back

    def _resume_id(self) -> int:
        """The id to send: the last sequence, held below any roster still waiting."""
        if self._roster_waiting:
            return min(self.last, min(i.seq for i in self._roster_waiting.values()) - 1)
        return self.last

    def _emit(self, item: Item) -> bytes | None:
        """The frame of ``item`` now, or None when it is held back (roster) or old."""
        if item.seq <= self.last:
            return None  # sent already (the replay and the queue overlap), or superseded
        now = time.monotonic()
        if item.course_id is not None:
            sent = self._roster_sent.get(item.course_id)
            if sent is not None and now - sent < self.roster_interval:
                self._roster_waiting[item.course_id] = item
                self.last = max(self.last, item.seq)
                return None
            self._roster_sent[item.course_id] = now
            self._roster_waiting.pop(item.course_id, None)
        self.last = max(self.last, item.seq)
        return frame(item.event, item.data, self._resume_id())

    def _due_rosters(self) -> list[bytes]:
        now = time.monotonic()
        out = []
        for course, item in list(self._roster_waiting.items()):
            if now - self._roster_sent.get(course, 0.0) >= self.roster_interval:
                del self._roster_waiting[course]
                self._roster_sent[course] = now
                out.append(frame(item.event, item.data, self._resume_id()))
        return out

    def _next_roster_due(self) -> float | None:
        if not self._roster_waiting:
            return None
        return min(self._roster_sent.get(c, 0.0) for c in self._roster_waiting) + (
            self.roster_interval
        )

    def _reset(self) -> bytes:
        self._roster_waiting.clear()
        return frame("reset", "{}", self.last)

    async def events(self) -> AsyncGenerator[bytes, None]:
        conn = self.conn
        try:
            yield frame("ready", "{}", self.start)
            if self.reset_first:
                yield self._reset()
            else:
                # Read before sending any: past the limit, reset *instead of* the flood.
                missed = [
                    item
                    async for item in self.hub.missed(conn.user_id, self.start, self.replay_limit)
                ]
                if len(missed) > self.replay_limit:
                    # Too far behind: start from now.
                    _, self.last = await self.hub.position()
                    yield self._reset()
                else:
                    for item in missed:
                        if (out := self._emit(item)) is not None:
                            yield out
            idle_since = time.monotonic()
            while conn.ended is None:
                conn.woken = False  # what happens from here on wakes the wait below
                if conn.overflowed:
                    conn.overflowed = False
                    yield self._reset()
                while conn.queue:
                    if (out := self._emit(conn.queue.popleft())) is not None:
                        yield out
                        idle_since = time.monotonic()
                for out in self._due_rosters():
                    yield out
                    idle_since = time.monotonic()
                if conn.ended is not None:
                    break
                now = time.monotonic()
                deadlines = [idle_since + self.heartbeat, conn.expires_at - time.time() + now]
                if (due := self._next_roster_due()) is not None:
                    deadlines.append(due)
                timeout = max(0.0, min(deadlines) - now)
                await conn.wait(timeout)
                if time.time() >= conn.expires_at:
                    conn.end("expired")
                elif time.monotonic() - idle_since >= self.heartbeat:
                    yield b": keep-alive\n\n"
                    idle_since = time.monotonic()
            # Say why it ends, as a comment (no event): the client reconnects.
            yield f": end {conn.ended}\n\n".encode()
        finally:
            self.hub.close(conn)

"""The open streams of one ``live`` instance, and what feeds them.

Everything durable is in JetStream; an instance holds only its open connections:

- **Notices** (contracts.notices) land in the ``LIVE`` stream under ``live.user.<id>``.
  One ordered consumer per instance reads new ones and hands each to the connections of
  its recipient (:meth:`Hub.deliver`), so an event costs one parse however many streams
  are open, and reaches only the person it names. Its stream sequence is the SSE ``id``.
- **Resuming** reads one person's missed notices straight from the stream, by subject
  (:meth:`Hub.missed`): any instance can resume any client, a restart loses nothing.
- **Deleted accounts** come from identity's stream: their streams end at once and their
  tokens are refused (the deletions of the last token lifetime are read at start-up).

Each connection has a bounded queue: a client that does not read fast enough has its
backlog dropped and is sent ``reset`` (reload what you show), so a slow client never
makes the process hold unbounded memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts.notices import LIVE_STREAM, live_subject
from syllabus_shared.messaging.nats_link import NatsLink, ensure_live_stream
from syllabus_shared.messaging.outbox import stream_name, subject_for

log = logging.getLogger("syllabus.live")

# What each kind of notice sends, besides ``consistency`` (the API's table).
FIELDS: dict[str, tuple[str, ...]] = {
    "progress": ("course_id", "reason"),
    "grade": ("submission_id", "post_id", "status", "score"),
    "roster": ("course_id",),
    "submission": ("submission_id", "post_id", "course_ids"),
}


@dataclass(frozen=True, slots=True)
class Item:
    """One event for a stream: its stream sequence, SSE event name and data (JSON)."""

    seq: int
    event: str
    data: str
    course_id: str | None = None  # roster events are coalesced per course


def item_from_notice(seq: int, user_id: str, payload: bytes) -> Item | None:
    """The SSE event of one notice (an envelope), or None when it is not for ``user_id``
    or not a notice we know (a newer producer's kind)."""
    try:
        data = json.loads(payload)["data"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(data, dict):
        return None  # one bad message must not break every resume over it
    kind = data.get("kind")
    if kind not in FIELDS or str(data.get("user_id")) != user_id:
        return None  # never sent to anyone but the person it names
    body = {name: data.get(name) for name in FIELDS[kind]}
    body["consistency"] = data.get("consistency") or ""
    course = str(data["course_id"]) if kind == "roster" and data.get("course_id") else None
    return Item(seq, kind, json.dumps(body, separators=(",", ":")), course)


class TooManyStreams(Exception):
    pass


@dataclass(eq=False, slots=True)
class Connection:
    """One open stream: its person, its queue, and why it ends (``ended``).

    Kept small (thousands are open at once): a deque, not an ``asyncio.Queue``, and one
    future to wait on (:meth:`wait`), not an ``Event`` plus a task per wait."""

    user_id: str
    expires_at: float  # the access token's expiry (epoch seconds)
    queue_size: int
    queue: deque[Item] = field(default_factory=deque)
    overflowed: bool = False
    ended: str | None = None  # "expired", "deleted", "shutdown", "gone" (the client left)
    woken: bool = False  # something happened since the stream last looked
    _waiter: asyncio.Future[None] | None = None

    def offer(self, item: Item) -> None:
        if self.ended is not None:
            return
        if len(self.queue) >= self.queue_size:
            # A slow client: drop its backlog; it is sent ``reset`` and reloads.
            self.queue.clear()
            self.overflowed = True
        else:
            self.queue.append(item)
        self._wake()

    def end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
        self._wake()

    def _wake(self) -> None:
        self.woken = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, timeout: float) -> None:
        """Until something happens (:meth:`offer`, :meth:`end`) or ``timeout`` seconds
        pass; at once when something happened since ``woken`` was last cleared."""
        if self.woken:
            return
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, _release, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Hub:
    def __init__(
        self,
        nats: NatsLink,
        *,
        namespace: str,
        max_streams_per_user: int,
        queue_size: int,
        token_lifetime_seconds: float,
        stream_replicas: int = 1,
    ) -> None:
        self.nats = nats
        self.namespace = namespace
        self.max_streams_per_user = max_streams_per_user
        self.queue_size = queue_size
        self.token_lifetime_seconds = token_lifetime_seconds
        self.stream_replicas = stream_replicas
        self.stream = stream_name(namespace, LIVE_STREAM)
        # Every notice's subject: this prefix + its recipient's id (notices.live_subject).
        prefix = live_subject("")
        self._user_prefix = f"{namespace}.{prefix}" if namespace else prefix
        self._by_user: dict[str, set[Connection]] = {}
        self.deleted: dict[uuid.UUID, float] = {}  # deleted accounts: when (epoch seconds)
        self.listening = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self.delivered = 0

    # ------------------------------------------------------------ connections

    @property
    def open_streams(self) -> int:
        return sum(len(conns) for conns in self._by_user.values())

    def subject_of(self, user_id: str) -> str:
        return self._user_prefix + user_id

    def open(self, user_id: uuid.UUID, expires_at: float) -> Connection:
        key = str(user_id)
        conns = self._by_user.setdefault(key, set())
        if len(conns) >= self.max_streams_per_user:
            raise TooManyStreams
        conn = Connection(key, expires_at, self.queue_size)
        conns.add(conn)
        return conn

    def close(self, conn: Connection) -> None:
        conns = self._by_user.get(conn.user_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._by_user[conn.user_id]

    def revoked(self, user_id: uuid.UUID) -> bool:
        return user_id in self.deleted

    def end_user(self, user_id: str, reason: str) -> None:
        for conn in list(self._by_user.get(user_id, ())):
            conn.end(reason)

    def shutdown(self) -> None:
        """End every stream (clients reconnect, elsewhere while this instance stops)."""
        self._stop.set()
        for conns in list(self._by_user.values()):
            for conn in list(conns):
                conn.end("shutdown")

    def deliver(self, seq: int, subject: str, payload: bytes) -> None:
        if not subject.startswith(self._user_prefix):
            return
        user_id = subject[len(self._user_prefix) :]
        conns = self._by_user.get(user_id)
        if not conns:
            return
        item = item_from_notice(seq, user_id, payload)
        if item is None:
            return
        self.delivered += 1
        for conn in conns:
            conn.offer(item)

    # ------------------------------------------------------------ the stream

    async def position(self) -> tuple[int, int]:
        """The LIVE stream's (first, last) sequence now."""
        js = self.nats.jetstream(timeout=2.0)
        info = await js.stream_info(self.stream)
        return int(info.state.first_seq), int(info.state.last_seq)

    async def missed(self, user_id: str, after: int, limit: int) -> AsyncIterator[Item]:
        """``user_id``'s notices after sequence ``after``, read from the stream by subject
        (at most ``limit``; the caller sends ``reset`` past it)."""
        js = self.nats.jetstream(timeout=2.0)
        seq = after + 1
        subject = self.subject_of(user_id)
        for _ in range(limit + 1):
            try:
                msg = await js.get_msg(self.stream, seq=seq, subject=subject, next=True)
            except NotFoundError:
                return
            if msg.seq is None:
                return
            item = item_from_notice(int(msg.seq), user_id, msg.data or b"")
            if item is not None:
                yield item
            seq = int(msg.seq) + 1

    # ------------------------------------------------------------ feeds

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._follow(), name="live-feeds"))

    async def stop(self) -> None:
        self.shutdown()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _follow(self) -> None:
        """Subscribe to the notices and to deletions; again after any failure."""
        delay = 0.2
        while not self._stop.is_set():
            subs: list[Any] = []
            try:
                nc = await self.nats.wait_connected()
                js = nc.jetstream(timeout=5.0)
                await ensure_live_stream(
                    js, self.namespace, replicas=self.stream_replicas, update=False
                )
                subs.append(await self._follow_deletions(js))
                subs.append(
                    await js.subscribe(
                        f"{self._user_prefix}*",
                        stream=self.stream,
                        ordered_consumer=True,
                        config=ConsumerConfig(deliver_policy=DeliverPolicy.NEW),
                        cb=self._on_notice,
                    )
                )
                self.listening.set()
                delay = 0.2
                await self._stop.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.listening.clear()
                log.warning("live: cannot follow the streams yet: %r", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                delay = min(delay * 2, 5.0)
            finally:
                for sub in subs:
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()

    async def _on_notice(self, msg: Any) -> None:
        self.deliver(int(msg.metadata.sequence.stream), msg.subject, msg.data)

    async def _follow_deletions(self, js: Any) -> Any:
        """Identity's ``UserDeleted`` since one token lifetime ago (their tokens may still
        be unexpired), then every new one."""
        since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=self.token_lifetime_seconds)
        identity = stream_name(self.namespace, "IDENTITY")
        subject = subject_for(self.namespace, ie.UserDeleted)

        async def on_deleted(msg: Any) -> None:
            try:
                user_id = uuid.UUID(str(json.loads(msg.data)["data"]["user_id"]))
            except (ValueError, KeyError, TypeError):
                return
            now = time.time()
            self.deleted[user_id] = now
            self.end_user(str(user_id), "deleted")
            # Past one token lifetime a deleted account has no valid token left to refuse.
            if len(self.deleted) % 1024 == 0:
                cutoff = now - self.token_lifetime_seconds
                self.deleted = {u: t for u, t in self.deleted.items() if t >= cutoff}

        return await js.subscribe(
            subject,
            stream=identity,
            ordered_consumer=True,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_TIME,
                opt_start_time=since,
            ),
            cb=on_deleted,
        )

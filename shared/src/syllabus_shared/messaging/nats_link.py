"""One NATS connection per process that survives broker outages, and our streams' and
consumers' configuration on the server.

- ``NATS_URL`` names one server or several, comma-separated (a cluster's seeds): the
  client connects to whichever answers first and fails over to the others.
- The server's version is checked on every (re)connection: below 2.10 the service
  refuses to run (consumers filter on several subjects, which older servers ignore).
- A stream's durable settings are only ever raised, never lowered (:func:`ensure_stream`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Sequence

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.js import JetStreamContext
from nats.js.api import (
    ClusterInfo,
    ConsumerConfig,
    ConsumerInfo,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import APIError, NoStreamResponseError, NotFoundError, ServiceUnavailableError

from syllabus_shared.contracts.notices import LIVE_MAX_AGE_SECONDS, LIVE_STREAM, LIVE_SUBJECT_ROOT
from syllabus_shared.messaging.outbox import stream_name

log = logging.getLogger("syllabus.nats")

DUPLICATE_WINDOW_SECONDS = 120.0
PING_INTERVAL_SECONDS = 10
# Consumers filter on several subjects (``filter_subjects``), which servers before 2.10
# silently ignore: every event of the stream would then reach every consumer.
MIN_SERVER_VERSION = (2, 10)
# A connection problem with one server is logged at WARNING at most this often.
WARN_EVERY_SECONDS = 30.0
# JetStream API errors that pass by themselves (a peer or the meta leader missing for a
# moment): retried, never a reason to refuse to start. 10005: no suitable peers for
# placement (a node of the cluster is down); 10008: JetStream temporarily unavailable;
# 10023: insufficient resources.
TRANSIENT_API_ERRORS = frozenset({10005, 10008, 10023})


class NatsUnavailable(RuntimeError):
    pass


class IncompatibleServer(RuntimeError):
    """The NATS server is too old for what the services rely on: they refuse to run."""


class StreamConfigConflict(RuntimeError):
    """An existing stream's configuration cannot be brought to ours without lowering its
    durability, or the server refused to raise it: the service refuses to start."""


def server_list(url: str) -> list[str]:
    """``NATS_URL`` as nats-py's server list: one URL, or several comma-separated."""
    servers = [part.strip() for part in url.split(",") if part.strip()]
    if not servers:
        raise ValueError(f"NATS_URL names no server: {url!r}")
    return servers


def check_server_version(version: str, server: str) -> None:
    """Raise :class:`IncompatibleServer` when ``version`` (``"2.9.10"``) is below 2.10."""
    try:
        major, minor = (int(part) for part in version.split("-")[0].split(".")[:2])
    except ValueError:
        raise IncompatibleServer(
            f"NATS server {server} reports version {version!r}, which is not a version"
        ) from None
    if (major, minor) < MIN_SERVER_VERSION:
        raise IncompatibleServer(
            f"NATS server {server} is nats-server {version}; Syllabus needs 2.10 or newer "
            "(its consumers filter on several subjects, which older servers silently "
            "ignore): upgrade the server, or point NATS_URL at one that is 2.10+"
        )


def _server_tried(nc: Client) -> str:
    """The server nats-py was connecting (or connected) to when something went wrong:
    its current server while reconnecting, else the last one tried from its pool."""
    with contextlib.suppress(Exception):
        if (nc.is_connected or nc.is_reconnecting) and nc._current_server is not None:
            return str(nc._current_server.uri.netloc)
        return str(nc._server_pool[-1].uri.netloc)
    return "?"


class PublishBatch:
    """Messages published together, each answered in :attr:`results` (the stream's
    sequence, or the exception in its place) as its acknowledgement comes; :attr:`done`
    resolves once the batch is :meth:`sealed <seal>` (nothing more to publish) and every
    message in it has been answered."""

    def __init__(self) -> None:
        self.results: list[object] = []
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.tokens: list[str] = []
        self.waiting = 0
        self.sealed = False

    def answer(self, index: int, result: object) -> None:
        self.results[index] = result
        self.waiting -= 1
        self._check()

    def seal(self) -> None:
        self.sealed = True
        self._check()

    def _check(self) -> None:
        if self.sealed and self.waiting == 0 and not self.done.done():
            self.done.set_result(None)


UNANSWERED = object()  # a result slot whose acknowledgement has not come (yet)


class AckedPublisher:
    """JetStream publishes with their acknowledgements, by the batch, on one connection:
    what nats-py's ``publish_async`` does per message (a task for the ``wait_for`` around
    its pending-count semaphore, a ``SystemRandom`` token, a future with a done callback,
    then ``asyncio.wait`` over them all: about a third of the relay's CPU, py-spy in
    docs/performance.md), done once per batch. The caller bounds what is in flight (the
    relay: a batch per lane, awaited within its ``publish_timeout``) and calls
    :meth:`abandon` for a batch it stops waiting for.

    A result is the stream's sequence, the stream's API error
    (:class:`~nats.js.errors.APIError`), or ``NoStreamResponseError`` when no stream takes
    the subject. The reply subscription survives reconnects (nats-py resubscribes)."""

    def __init__(self, nc: Client, prefix: str) -> None:
        self.nc = nc
        self._prefix = prefix  # "<inbox>." ; a reply subject is the prefix + a counter
        self._pending: dict[str, tuple[PublishBatch, int]] = {}
        self._next = 0

    @classmethod
    async def on(cls, nc: Client) -> AckedPublisher:
        publisher = cls(nc, nc.new_inbox() + ".")
        await nc.subscribe(publisher._prefix + "*", cb=publisher._on_reply)
        return publisher

    async def publish(
        self, batch: PublishBatch, subject: str, payload: bytes, headers: dict[str, str]
    ) -> None:
        """Hand one message to the connection; its answer goes to ``batch``."""
        self._next += 1
        token = str(self._next)
        # The slot first: the answer can come while the publish is still being written.
        self._pending[token] = (batch, len(batch.results))
        batch.results.append(UNANSWERED)
        batch.tokens.append(token)
        batch.waiting += 1
        try:
            await self.nc.publish(subject, payload, reply=self._prefix + token, headers=headers)
        except BaseException:
            # Not handed to the connection: the batch does not wait for it (unless an
            # answer came meanwhile, which then stands).
            if self._pending.pop(token, None) is not None:
                batch.results.pop()
                batch.tokens.pop()
                batch.waiting -= 1
            raise

    def abandon(self, batch: PublishBatch) -> None:
        """Stop waiting for ``batch``: answers that come later are dropped."""
        for token in batch.tokens:
            self._pending.pop(token, None)

    def pending(self) -> int:
        """Messages still waiting for their acknowledgement."""
        return len(self._pending)

    async def _on_reply(self, msg: Msg) -> None:
        found = self._pending.pop(msg.subject[len(self._prefix) :], None)
        if found is None:
            return
        batch, index = found
        batch.answer(index, _acknowledgement(msg))


def _acknowledgement(msg: Msg) -> object:
    """The stream's sequence from a publish's answer, or the error in its place (never
    raised: an answer that cannot be read must still answer its message)."""
    try:
        if msg.headers and msg.headers.get("Status") == "503":
            return NoStreamResponseError()
        answer = json.loads(msg.data)
        if not isinstance(answer, dict):
            return ValueError(f"not an acknowledgement: {msg.data[:200]!r}")
        if "error" in answer:
            # nats-py's APIError.from_error raises the typed error it builds (returned
            # below); a plain APIError in case it ever returns instead.
            return APIError.from_error(answer["error"]) or APIError(**answer["error"])
        return answer.get("seq")
    except Exception as exc:
        return exc


class NatsLink:
    """Connects in the background and keeps reconnecting forever.

    Start-up does not wait for NATS: a service serves reads (and commits writes
    to its outbox) while the broker is down, and catches up when it returns. A server
    too old for us is fatal (:attr:`fatal`): the process stops (``serve`` exits 1).
    """

    def __init__(self, url: str, *, name: str) -> None:
        self.url = url
        self.servers = server_list(url)
        self.name = name
        self.nc: Client | None = None
        self._publisher: AckedPublisher | None = None
        self.fatal: Exception | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._warned: dict[str, float] = {}

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_loop(), name=f"nats-connect-{self.name}")

    def _problem(self, server: str, exc: BaseException) -> None:
        """Log a connection problem with ``server``: WARNING, at most once per server per
        :data:`WARN_EVERY_SECONDS` (nats-py retries every half second)."""
        now = time.monotonic()
        if now - self._warned.get(server, -WARN_EVERY_SECONDS) >= WARN_EVERY_SECONDS:
            self._warned[server] = now
            log.warning("NATS server %s: %s", server, str(exc) or type(exc).__name__)
        else:
            log.debug("NATS server %s: %r", server, exc)

    async def _connect_loop(self) -> None:
        delay = 0.2
        while True:
            nc = Client()

            async def on_error(exc: Exception, nc: Client = nc) -> None:
                self._problem(_server_tried(nc), exc)

            async def on_disconnect(nc: Client = nc) -> None:
                log.warning("NATS disconnected from %s", _server_tried(nc))

            async def on_reconnect(nc: Client = nc) -> None:
                server = _server_tried(nc)
                log.info("NATS reconnected to %s", server)
                self._check_version(nc, server)

            try:
                # With max_reconnect_attempts=-1 the first connect also cycles through
                # every listed server until one answers.
                await nc.connect(
                    servers=self.servers,
                    name=self.name,
                    max_reconnect_attempts=-1,  # nats-py gives up after ~2 min by default
                    reconnect_time_wait=0.5,  # type: ignore[arg-type]  # typed int, used as float
                    connect_timeout=2,
                    # A frozen broker (no RST, no FIN) shows only as unanswered pings: the
                    # default (every 2 min, 2 outstanding) hid it from /readyz for minutes.
                    ping_interval=PING_INTERVAL_SECONDS,
                    max_outstanding_pings=2,
                    allow_reconnect=True,
                    error_cb=on_error,
                    disconnected_cb=on_disconnect,
                    reconnected_cb=on_reconnect,
                )
            except Exception as exc:
                log.warning(
                    "NATS not reachable at %s (%s); retrying in %.1fs", self.url, exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            server = _server_tried(nc)
            self.nc = nc
            if not self._check_version(nc, server):
                return
            self._connected.set()
            log.info("connected to NATS at %s (nats-server %s)", server, _version(nc))
            return

    def _check_version(self, nc: Client, server: str) -> bool:
        """False (and the link is dead for good) when the server is too old for us."""
        try:
            check_server_version(_version(nc), server)
        except IncompatibleServer as exc:
            log.critical("%s", exc)
            self.fatal = exc
            self._connected.set()  # wake waiters: they get the error
            asyncio.get_running_loop().create_task(nc.close())
            return False
        return True

    @property
    def connected(self) -> bool:
        return self.fatal is None and self.nc is not None and self.nc.is_connected

    async def wait_connected(self) -> Client:
        await self._connected.wait()
        if self.fatal is not None:
            raise self.fatal
        assert self.nc is not None
        return self.nc

    def jetstream(self, timeout: float = 5.0) -> JetStreamContext:
        """A JetStream context whose API requests wait up to ``timeout`` for an answer."""
        if self.nc is None or self.fatal is not None:
            raise NatsUnavailable("not connected to NATS")
        return self.nc.jetstream(timeout=timeout)

    async def publisher(self) -> AckedPublisher:
        """One :class:`AckedPublisher` per connection, kept (its inbox for
        acknowledgements is subscribed once, not per batch)."""
        nc = self.nc
        if nc is None or self.fatal is not None:
            raise NatsUnavailable("not connected to NATS")
        if self._publisher is None or self._publisher.nc is not nc:
            self._publisher = await AckedPublisher.on(nc)
        return self._publisher

    async def close(self) -> None:
        if self._task and not self._task.done():
            self._task.cancel()
        if self.nc is not None and not self.nc.is_closed:
            try:
                await asyncio.wait_for(self.nc.drain(), 5)
            except Exception:
                await self.nc.close()


def _version(nc: Client) -> str:
    return str(nc._server_info.get("version", "")) if nc._server_info else ""


def _transient(exc: APIError) -> bool:
    return isinstance(exc, ServiceUnavailableError) or exc.err_code in TRANSIENT_API_ERRORS


def stream_config(
    name: str, subjects: list[str], *, replicas: int = 1, max_age: float | None = None
) -> StreamConfig:
    """Our configuration of a producer's stream (``max_age``: kept that long; None: for
    ever, as every producer's stream but ``LIVE``)."""
    return StreamConfig(
        name=name,
        subjects=subjects,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
        max_age=max_age,
    )


def reconcile_stream(
    current: StreamConfig, wanted: StreamConfig
) -> tuple[StreamConfig, list[str], list[str]]:
    """The existing stream's configuration with ours applied without lowering anything:
    returns (the configuration to update to, the changes made, the conflicts).

    Raised: ``num_replicas`` and ``duplicate_window`` when ours are higher; our subjects
    added. Kept: anything higher than ours, and every setting we do not own (limits,
    placement, ...), which an operator may have set. Conflicts: a storage or retention
    other than ours (the server cannot change them in place, and ours is what our
    guarantees rest on).
    """
    changes: list[str] = []
    conflicts: list[str] = []
    updated = current
    have_replicas = current.num_replicas or 1
    want_replicas = wanted.num_replicas or 1
    if want_replicas > have_replicas:
        changes.append(f"replicas {have_replicas} -> {want_replicas}")
        updated = dataclasses.replace(updated, num_replicas=want_replicas)
    have_window = current.duplicate_window or 0.0
    want_window = wanted.duplicate_window or 0.0
    if want_window > have_window:
        changes.append(f"duplicate_window {have_window:g}s -> {want_window:g}s")
        updated = dataclasses.replace(updated, duplicate_window=want_window)
    have_age = current.max_age or 0.0  # 0: unlimited, the most there is
    want_age = wanted.max_age or 0.0
    if have_age and want_age > have_age:
        changes.append(f"max_age {have_age:g}s -> {want_age:g}s")
        updated = dataclasses.replace(updated, max_age=want_age)
    missing = [s for s in wanted.subjects or [] if s not in (current.subjects or [])]
    if missing:
        changes.append(f"subjects + {missing}")
        updated = dataclasses.replace(updated, subjects=[*(current.subjects or []), *missing])
    for field in ("storage", "retention"):
        have, want = getattr(current, field), getattr(wanted, field)
        if have is not None and want is not None and have != want:
            conflicts.append(f"{field} is {_plain(have)}, ours is {_plain(want)}")
    return updated, changes, conflicts


def _plain(value: object) -> str:
    return str(getattr(value, "value", value))


async def ensure_stream(
    js: JetStreamContext,
    name: str,
    subjects: list[str],
    *,
    replicas: int = 1,
    update: bool = True,
    max_age: float | None = None,
) -> None:
    """Create the stream, or (``update``) bring an existing one up to our configuration
    without ever lowering it (:func:`reconcile_stream`).

    The producing service owns its stream's configuration; consumers only create a
    missing stream (so they can start first) and never reconfigure someone else's.
    A stream that asks for more replicas than it has is raised; one that has more than
    asked keeps them (lowering replication is an operator's decision, never a side effect
    of a restart with a missing variable). Raises :class:`StreamConfigConflict` when the
    stream cannot be brought to ours (a different storage or retention) or the server
    refuses a change for good (e.g. replicas > 1 on a server that is not clustered).
    """
    wanted = stream_config(name, subjects, replicas=replicas, max_age=max_age)
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        try:
            await js.add_stream(wanted)
        except APIError as exc:
            if _transient(exc):
                raise
            raise StreamConfigConflict(
                f"cannot create stream {name} with {replicas} replica(s): the server "
                f"refused ({exc.description}); check NATS_STREAM_REPLICAS against the "
                "NATS deployment (a single server holds only R1 streams)"
            ) from exc
        log.info("created stream %s (R%d)", name, replicas)
        return
    if not update:
        return
    current = info.config
    if (current.num_replicas or 1) > replicas:
        log.info(
            "stream %s keeps its %d replicas (asked for %d: replicas are never lowered here)",
            name,
            current.num_replicas,
            replicas,
        )
    updated, changes, conflicts = reconcile_stream(current, wanted)
    if conflicts:
        raise StreamConfigConflict(
            f"stream {name} differs from ours in what cannot be changed in place: "
            + "; ".join(conflicts)
            + ". Recreate it (after its consumers caught up) or fix it by hand; the service"
            " will not run on it"
        )
    if not changes:
        return
    try:
        await js.update_stream(updated)
    except APIError as exc:
        if _transient(exc):
            raise
        raise StreamConfigConflict(
            f"cannot change stream {name} ({', '.join(changes)}): the server refused "
            f"({exc.description}); check NATS_STREAM_REPLICAS against the NATS deployment"
        ) from exc
    log.warning("stream %s updated: %s", name, ", ".join(changes))


async def ensure_live_stream(
    js: JetStreamContext, namespace: str, *, replicas: int = 1, update: bool = True
) -> str:
    """The ``LIVE`` stream of notices (contracts.notices): created by whichever producer of
    notices or ``live`` instance starts first; returns its name."""
    name = stream_name(namespace, LIVE_STREAM)
    root = f"{namespace}.{LIVE_SUBJECT_ROOT}.>" if namespace else f"{LIVE_SUBJECT_ROOT}.>"
    await ensure_stream(
        js, name, [root], replicas=replicas, update=update, max_age=LIVE_MAX_AGE_SECONDS
    )
    return name


async def ensure_consumer(js: JetStreamContext, stream: str, config: ConsumerConfig) -> None:
    """Create the durable consumer explicitly; correct its config if it drifted.

    ``pull_subscribe`` would silently keep an existing consumer's old config. Its replica
    count is the stream's (inherited: raising the stream's raises its consumers').
    """
    assert config.durable_name
    try:
        info = await js.consumer_info(stream, config.durable_name)
    except NotFoundError:
        await js.add_consumer(stream, config)
        return
    current = info.config
    wanted = (config.max_deliver, config.ack_wait, config.max_ack_pending, config.filter_subjects)
    have = (current.max_deliver, current.ack_wait, current.max_ack_pending, current.filter_subjects)
    if wanted != have:
        log.warning(
            "consumer %s config drifted (%s != %s); updating", config.durable_name, have, wanted
        )
        await js.add_consumer(stream, config)


def _leader_state(cluster: ClusterInfo | None) -> str:
    # A server that is not clustered reports no cluster for consumers, and itself as the
    # stream's leader: both mean "has a leader".
    if cluster is None or cluster.leader:
        return "ok"
    return "no leader"


async def leaders(
    js: JetStreamContext,
    stream: str | None,
    consumers: Sequence[tuple[str, str]],
    timeout: float = 1.0,
) -> dict[str, str]:
    """Whether ``stream`` and each ``(stream, durable)`` consumer has a leader now:
    name → ``"ok"``, ``"no leader"``, ``"missing"`` or ``"no answer"`` (no leader
    answered within ``timeout``: during an election JetStream requests time out)."""

    async def one(name: str, ask: asyncio.Future[ClusterInfo | None]) -> tuple[str, str]:
        try:
            return name, _leader_state(await asyncio.wait_for(ask, timeout))
        except NotFoundError:
            return name, "missing"
        except (TimeoutError, NoRespondersError, ServiceUnavailableError):
            return name, "no answer"
        except Exception as exc:
            return name, f"unknown: {type(exc).__name__}"

    async def stream_cluster(name: str) -> ClusterInfo | None:
        return (await js.stream_info(name)).cluster

    async def consumer_cluster(name: str, durable: str) -> ClusterInfo | None:
        info: ConsumerInfo = await js.consumer_info(name, durable, timeout=timeout)
        return info.cluster

    asks: list[tuple[str, asyncio.Future[ClusterInfo | None]]] = []
    if stream is not None:
        asks.append((stream, asyncio.ensure_future(stream_cluster(stream))))
    for name, durable in consumers:
        asks.append((durable, asyncio.ensure_future(consumer_cluster(name, durable))))
    return dict(await asyncio.gather(*(one(name, ask) for name, ask in asks)))

"""One NATS connection per process that survives broker outages."""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

log = logging.getLogger("syllabus.nats")

DUPLICATE_WINDOW_SECONDS = 120.0
PING_INTERVAL_SECONDS = 10


class NatsUnavailable(RuntimeError):
    pass


class NatsLink:
    """Connects in the background and keeps reconnecting forever.

    Start-up does not wait for NATS: a service serves reads (and commits writes
    to its outbox) while the broker is down, and catches up when it returns.
    """

    def __init__(self, url: str, *, name: str) -> None:
        self.url = url
        self.name = name
        self.nc: Client | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_loop(), name=f"nats-connect-{self.name}")

    async def _connect_loop(self) -> None:
        delay = 0.2
        while True:
            try:
                self.nc = await nats.connect(
                    self.url,
                    name=self.name,
                    max_reconnect_attempts=-1,  # nats-py gives up after ~2 min by default
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    # A frozen broker (no RST, no FIN) shows only as unanswered pings: the
                    # default (every 2 min, 2 outstanding) hid it from /readyz for minutes.
                    ping_interval=PING_INTERVAL_SECONDS,
                    max_outstanding_pings=2,
                    allow_reconnect=True,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnect,
                    reconnected_cb=self._on_reconnect,
                )
                self._connected.set()
                log.info("connected to NATS at %s", self.url)
                return
            except Exception as exc:
                log.warning("NATS not reachable (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _on_error(self, exc: Exception) -> None:
        log.debug("NATS error: %r", exc)

    async def _on_disconnect(self) -> None:
        log.warning("NATS disconnected")

    async def _on_reconnect(self) -> None:
        log.info("NATS reconnected")

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    async def wait_connected(self) -> Client:
        await self._connected.wait()
        assert self.nc is not None
        return self.nc

    def jetstream(self) -> JetStreamContext:
        if self.nc is None:
            raise NatsUnavailable("not connected to NATS")
        return self.nc.jetstream(timeout=5.0)

    async def close(self) -> None:
        if self._task and not self._task.done():
            self._task.cancel()
        if self.nc is not None and not self.nc.is_closed:
            try:
                await asyncio.wait_for(self.nc.drain(), 5)
            except Exception:
                await self.nc.close()


async def ensure_stream(
    js: JetStreamContext,
    name: str,
    subjects: list[str],
    *,
    replicas: int = 1,
    update: bool = True,
) -> None:
    """Create the stream, or (``update``) bring an existing one to our configuration.

    The producing service owns its stream's configuration; consumers only create a
    missing stream (so they can start first) and never reconfigure someone else's.
    """
    config = StreamConfig(
        name=name,
        subjects=subjects,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
    )
    try:
        await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(config)
        return
    if update:
        await js.update_stream(config)


async def ensure_consumer(js: JetStreamContext, stream: str, config: ConsumerConfig) -> None:
    """Create the durable consumer explicitly; correct its config if it drifted.

    ``pull_subscribe`` would silently keep an existing consumer's old config.
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

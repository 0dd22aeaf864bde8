"""The NATS link and our streams on real NATS deployments (RELIABILITY.md 15-17): a
3-node JetStream cluster (nats-server from the workspace, loopback), several servers in
``NATS_URL``, replicas that are raised and never lowered, leaders for ``/readyz``,
servers too old for us, and events a consumer has no handler for."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import nats
import pytest
import pytest_asyncio
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from sqlalchemy import func, select
from syllabus_devkit.embedded import EmbeddedNats, EmbeddedNatsCluster, find_free_port
from syllabus_shared.contracts.catalog import ModuleCreated, ModuleDeleted
from syllabus_shared.messaging.consumer import ConsumerOptions, EventConsumer, Subscription
from syllabus_shared.messaging.nats_link import (
    IncompatibleServer,
    NatsLink,
    StreamConfigConflict,
    check_server_version,
    ensure_stream,
    leaders,
    server_list,
)
from syllabus_shared.messaging.outbox import subject_for
from syllabus_shared.observability import Metrics
from syllabus_shared.unit_of_work import UnitOfWork

from conftest import Kernel


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNatsCluster]:
    c = EmbeddedNatsCluster(tmp_path_factory.mktemp("cluster"), 3)
    c.start()
    try:
        yield c
    finally:
        c.stop()


@pytest_asyncio.fixture
async def js_cluster(cluster: EmbeddedNatsCluster) -> AsyncIterator[nats.js.JetStreamContext]:
    cluster.start()  # nodes a previous test killed come back
    nc = await nats.connect(servers=cluster.urls)
    try:
        yield nc.jetstream(timeout=5)
    finally:
        await nc.close()


def _name() -> str:
    return f"T{uuid.uuid4().hex[:10].upper()}"


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds}s")
        await asyncio.sleep(0.1)


# ------------------------------------------------------------------ NATS_URL, connecting


def test_nats_url_may_list_several_servers() -> None:
    assert server_list("nats://a:4222") == ["nats://a:4222"]
    assert server_list(" nats://a:1, nats://b:2 ,nats://c:3,") == [
        "nats://a:1",
        "nats://b:2",
        "nats://c:3",
    ]
    with pytest.raises(ValueError, match="names no server"):
        server_list(" , ")


async def test_starts_while_any_listed_node_is_up(cluster: EmbeddedNatsCluster) -> None:
    cluster.start()
    down = cluster.nodes[0]
    down.kill()
    try:
        link = NatsLink(cluster.url, name="test-any-node")
        link.start()
        nc = await asyncio.wait_for(link.wait_connected(), 10)
        assert nc.connected_url is not None
        assert nc.connected_url.port != down.port
        assert link.connected
        await link.close()
    finally:
        cluster.start()


async def test_connection_problems_are_warnings_naming_the_server(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = find_free_port()
    caplog.set_level(logging.WARNING, logger="syllabus.nats")
    link = NatsLink(f"nats://127.0.0.1:{port}", name="test-warn")
    link.start()
    try:
        await eventually(
            lambda: _true(any(f"127.0.0.1:{port}" in r.getMessage() for r in caplog.records)),
            5,
            "a warning naming the server",
        )
        assert not link.connected
        # The server comes up (on that very port): the link connects by itself.
        with EmbeddedNats(tmp_path / "late", port):
            await asyncio.wait_for(link.wait_connected(), 10)
            assert link.connected
            await link.close()
    finally:
        await link.close()


async def _true(value: bool) -> bool:
    return value


# ------------------------------------------------------------------ server version


def test_servers_before_2_10_are_refused() -> None:
    for ok in ("2.10.0", "2.10.29", "2.11.1", "2.15.1", "3.0.0", "2.12.0-beta.1"):
        check_server_version(ok, "s:1")
    for old in ("2.9.10", "2.2.0", "1.4.1"):
        with pytest.raises(IncompatibleServer, match=rf"s:1 is nats-server {old}.*2\.10"):
            check_server_version(old, "s:1")
    with pytest.raises(IncompatibleServer):
        check_server_version("", "s:1")


OLD_SERVER = shutil.which("nats-server", path="/usr/sbin:/usr/bin")


def _version_of(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip().rpartition("v")[2]


@pytest.mark.skipif(
    OLD_SERVER is None or not _version_of(OLD_SERVER).startswith("2.9"),
    reason="needs a nats-server 2.9 on the system (Debian's package)",
)
async def test_a_real_2_9_server_is_refused_at_connect(tmp_path: Path) -> None:
    assert OLD_SERVER is not None
    port = find_free_port()
    proc = subprocess.Popen(  # noqa: ASYNC220 - a server for the test, stopped below
        [OLD_SERVER, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        link = NatsLink(f"nats://127.0.0.1:{port}", name="test-old")
        link.start()
        with pytest.raises(
            IncompatibleServer, match=r"nats-server 2\.9\.\d+; Syllabus needs 2\.10"
        ):
            await asyncio.wait_for(link.wait_connected(), 10)
        assert isinstance(link.fatal, IncompatibleServer)
        assert not link.connected
        await link.close()
    finally:
        proc.terminate()
        proc.wait(10)


# ------------------------------------------------------------------ streams


async def test_replicas_are_raised_never_lowered(js_cluster: nats.js.JetStreamContext) -> None:
    js, name = js_cluster, _name()
    await ensure_stream(js, name, [f"{name.lower()}.>"], replicas=1)
    assert (await js.stream_info(name)).config.num_replicas == 1
    await ensure_stream(js, name, [f"{name.lower()}.>"], replicas=3)
    assert (await js.stream_info(name)).config.num_replicas == 3
    # An operator's limit, and a longer dedupe window: ours, not lowered either.
    config = (await js.stream_info(name)).config
    config.max_age = 86400.0
    config.duplicate_window = 600.0
    await js.update_stream(config)
    # A restart with the variable missing (replicas=1): everything stays.
    await ensure_stream(js, name, [f"{name.lower()}.>"], replicas=1)
    info = await js.stream_info(name)
    assert info.config.num_replicas == 3
    assert info.config.max_age == 86400.0
    assert info.config.duplicate_window == 600.0
    # A consumer's own call never changes the producer's stream.
    await ensure_stream(js, name, [f"{name.lower()}.>"], replicas=5, update=False)
    assert (await js.stream_info(name)).config.num_replicas == 3


async def test_a_stream_we_could_only_weaken_is_refused(
    js_cluster: nats.js.JetStreamContext,
) -> None:
    js, name = js_cluster, _name()
    await js.add_stream(
        StreamConfig(
            name=name,
            subjects=[f"{name.lower()}.>"],
            storage=StorageType.MEMORY,
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            num_replicas=3,
        )
    )
    with pytest.raises(
        StreamConfigConflict, match=f"stream {name}.*storage is memory, ours is file"
    ):
        await ensure_stream(js, name, [f"{name.lower()}.>"], replicas=3)
    assert (await js.stream_info(name)).config.storage == StorageType.MEMORY


async def test_replicas_a_single_server_cannot_hold_are_refused_clearly(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        js, name = nc.jetstream(), _name()
        with pytest.raises(
            StreamConfigConflict, match=r"3 replica.*not supported in non-clustered"
        ):
            await ensure_stream(js, name, [f"{name.lower()}.>"], replicas=3)
        await ensure_stream(js, name, [f"{name.lower()}.>"], replicas=1)
        with pytest.raises(StreamConfigConflict, match=r"replicas 1 -> 3.*server refused"):
            await ensure_stream(js, name, [f"{name.lower()}.>"], replicas=3)
        await js.delete_stream(name)
    finally:
        await nc.close()


async def test_leaders_of_the_stream_and_its_consumers(
    cluster: EmbeddedNatsCluster, js_cluster: nats.js.JetStreamContext
) -> None:
    js, name = js_cluster, _name()
    await ensure_stream(js, name, [f"{name.lower()}.>"], replicas=3)
    await js.add_consumer(name, ConsumerConfig(durable_name="c1", ack_policy=AckPolicy.EXPLICIT))

    async def all_led() -> bool:
        states = await leaders(js, name, [(name, "c1")], timeout=1.0)
        return states == {name: "ok", "c1": "ok"}

    await eventually(all_led, 15, "stream and consumer led")
    assert await leaders(js, name, [(name, "nope")]) == {name: "ok", "nope": "missing"}
    # Two of three nodes gone: no quorum, no leader.
    survivor = cluster.nodes[0]
    for node in cluster.nodes[1:]:
        node.kill()
    nc = await nats.connect(survivor.url)
    try:
        lone = nc.jetstream(timeout=1)

        async def leaderless() -> bool:
            states = await leaders(lone, name, [(name, "c1")], timeout=1.0)
            return all(state != "ok" for state in states.values())

        await eventually(leaderless, 30, "no leader without a quorum")
        cluster.start()
        await eventually(all_led, 30, "leaders again")
    finally:
        await nc.close()
        cluster.start()


async def test_a_stream_leader_killed_another_takes_over(
    cluster: EmbeddedNatsCluster, js_cluster: nats.js.JetStreamContext
) -> None:
    js, name = js_cluster, _name()
    await ensure_stream(js, name, [f"{name.lower()}.>"], replicas=3)
    for i in range(5):
        await js.publish(f"{name.lower()}.x", f"{i}".encode())
    leader = (await js.stream_info(name)).cluster.leader  # type: ignore[union-attr]
    assert leader is not None
    cluster.node(leader).kill()
    try:
        nc = await nats.connect(servers=[n.url for n in cluster.nodes if n.running])
        try:
            survivors = nc.jetstream(timeout=1)

            async def led_elsewhere() -> bool:
                try:
                    info = await survivors.stream_info(name)
                except Exception:
                    return False
                return bool(info.cluster and info.cluster.leader not in (None, leader))

            await eventually(led_elsewhere, 30, "a new leader")
            assert (await survivors.stream_info(name)).state.messages == 5
            await survivors.publish(f"{name.lower()}.x", b"after")
        finally:
            await nc.close()
    finally:
        cluster.start()


# ------------------------------------------------------------------ unhandled events


async def test_an_event_without_a_handler_is_acked_and_counted_never_dead_lettered(
    kernel: Kernel,
) -> None:
    seen: list[uuid.UUID] = []

    async def created(uow: UnitOfWork, event: ModuleCreated) -> None:
        seen.append(event.module_id)

    metrics = Metrics()
    c = EventConsumer(
        Subscription("test-from-catalog", "catalog", {ModuleCreated: created}),
        kernel.db,
        kernel.outbox,
        kernel.nats,
        namespace=kernel.namespace,
        metrics=metrics,
        options=ConsumerOptions(fetch_timeout=0.2),
    )
    js = kernel.nc.jetstream()
    subject = subject_for(kernel.namespace, ModuleCreated)
    # What a server that ignores filter_subjects delivers: a type we do not handle.
    other = kernel.outbox.envelope(ModuleDeleted(module_id=uuid.uuid4()), 2)
    await js.publish(subject, other.model_dump_json().encode(), headers={"Nats-Msg-Id": "u1"})
    good = uuid.uuid4()
    mine = kernel.outbox.envelope(ModuleCreated(module_id=good, title="t", creator_id=None), 1)
    await js.publish(subject, mine.model_dump_json().encode(), headers={"Nats-Msg-Id": "u2"})
    stop = asyncio.Event()
    task = asyncio.create_task(c.run(stop))
    try:
        await eventually(lambda: _true(seen == [good]), 10, "the handled event applied")
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    async with kernel.db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(kernel.tables.dead_letters)) == 0
    assert metrics.events_unhandled.labels(c.durable)._value.get() == 1
    assert metrics.events_applied.labels(c.durable, "unhandled")._value.get() == 1
    info = await js.consumer_info(c.stream, c.durable)
    assert info.num_ack_pending == 0 and info.num_pending == 0


async def test_old_no_handler_dead_letters_are_cleared_by_a_replay(kernel: Kernel) -> None:
    """What a 2.9 server left behind ("no handler for ..." rows): a replay marks them done."""

    async def created(uow: UnitOfWork, event: ModuleCreated) -> None:
        return None

    c = EventConsumer(
        Subscription("test-from-catalog", "catalog", {ModuleCreated: created}),
        kernel.db,
        kernel.outbox,
        kernel.nats,
        namespace=kernel.namespace,
    )
    other = kernel.outbox.envelope(ModuleDeleted(module_id=uuid.uuid4()), 2)
    async with kernel.db.transaction() as s:
        await s.execute(
            kernel.tables.dead_letters.insert().values(
                consumer="test-from-catalog",
                stream=c.stream,
                subject=subject_for(kernel.namespace, ModuleDeleted),
                event_id=str(other.id),
                event_type=other.type,
                payload=other.model_dump_json().encode(),
                error=f"no handler for {other.type}",
                deliveries=1,
            )
        )
    assert await c.replay_dead_letters() == (1, 0)
    assert await c.replay_dead_letters() == (0, 0)

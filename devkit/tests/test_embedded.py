"""Embedded PostgreSQL and NATS: real servers, real round trips, restarts on the same data."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import nats
import psycopg
import pytest
from nats.js.api import StorageType, StreamConfig
from syllabus_devkit import embedded
from syllabus_devkit.embedded import (
    EmbeddedNats,
    EmbeddedPostgres,
    _descendants,
    binary_path,
    find_free_port,
    postgres_bin_dir,
)


def test_find_free_port_is_bindable() -> None:
    port = find_free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


@pytest.mark.parametrize("name", ["nats-server", "caddy"])
def test_binary_path_finds_packaged_binaries(name: str) -> None:
    path = binary_path(name)
    assert os.access(path, os.X_OK)
    subprocess.run([path, "--version" if name == "nats-server" else "version"], check=True)


def test_binary_path_names_the_missing_binary() -> None:
    with pytest.raises(FileNotFoundError, match="no-such-binary"):
        binary_path("no-such-binary")


def test_postgres_round_trip_and_restart_keeps_data(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg", fast=True)
    with pg:
        assert pg.url == f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/postgres"
        with psycopg.connect(pg.dsn, autocommit=True) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            assert conn.execute("SHOW max_connections").fetchone() == ("300",)
            assert conn.execute("SHOW fsync").fetchone() == ("off",)
            conn.execute("CREATE TABLE kept (v text)")
            conn.execute("INSERT INTO kept VALUES ('before restart')")
        first_pid, port = pg.pid, pg.port
    assert pg.pid is None

    assert pg.start() == pg.url
    try:
        assert pg.port == port  # same URL after a restart: clients reconnect by themselves
        assert pg.pid != first_pid
        with psycopg.connect(pg.dsn) as conn:
            assert conn.execute("SELECT v FROM kept").fetchall() == [("before restart",)]
    finally:
        pg.stop()


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


@pytest.mark.skipif(
    os.geteuid() != 0, reason="only root runs PostgreSQL as another (unprivileged) user"
)
def test_postgres_as_root_with_the_install_under_a_private_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `git clone` into /root/src/syllabus (/root is 0700), then `make test` as root: the
    # PostgreSQL binaries sit in .venv under a directory the unprivileged server user
    # cannot traverse. The same layout here, a hard-linked copy of the real install tree.
    home = tmp_path / "root"
    home.mkdir(mode=0o700)
    home.chmod(0o700)
    site = home / "src/syllabus/.venv/lib/python3/site-packages"
    real_site = postgres_bin_dir().parent.parent.parent
    for name in ("pgserver/pginstall", "pgserver.libs"):  # libs: the binaries' rpath
        if (real_site / name).exists():
            shutil.copytree(
                real_site / name, site / name, symlinks=True, copy_function=_link_or_copy
            )
    install = site / "pgserver/pginstall"
    monkeypatch.setattr(embedded, "postgres_bin_dir", lambda: install / "bin")
    # Where the reachable copy of the install goes: this test's own, removed afterwards.
    cache = Path(tempfile.mkdtemp(prefix="syllabus-test-pginstall-", dir="/tmp"))
    cache.chmod(0o755)
    monkeypatch.setenv("SYLLABUS_PG_INSTALL_CACHE", str(cache))
    data_dir = Path(tempfile.mkdtemp(prefix="syllabus-test-pgdata-", dir="/tmp"))
    try:
        pg = EmbeddedPostgres(data_dir / "pg", fast=True)
        with pg, psycopg.connect(pg.dsn, autocommit=True) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        # Made to work without opening up the private directory, from one cached copy.
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        [copy] = cache.glob("pginstall-*")
        marker_mtime = (copy / ".syllabus-complete").stat().st_mtime_ns
        with pg:  # a restart reuses the copy
            assert [*cache.glob("pginstall-*")] == [copy]
            assert (copy / ".syllabus-complete").stat().st_mtime_ns == marker_mtime
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)


def test_postgres_recovers_from_kill_and_stale_pid_file(tmp_path: Path) -> None:
    # Durable settings (not fast): a kill -9 must not lose a committed row.
    pg = EmbeddedPostgres(tmp_path / "pg")
    pg.start()
    try:
        with psycopg.connect(pg.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (v int)")
            conn.execute("INSERT INTO t VALUES (1)")
        pid = pg.pid
        assert pid is not None
        workers = _descendants(pid)
        pg.kill()
        # Backends lead their own process groups: each must have been killed too.
        assert _eventually_all(workers, {"Z", "X"})
        # The PID in the leftover postmaster.pid now belongs to a live, unrelated process
        # (PIDs are reused quickly in containers): start() must not be fooled by it.
        pid_file = pg.pgdata / "postmaster.pid"
        lines = pid_file.read_text().splitlines()
        pid_file.write_text("\n".join([str(os.getpid()), *lines[1:]]) + "\n")
        pg.start()
        with psycopg.connect(pg.dsn) as conn:
            assert conn.execute("SELECT v FROM t").fetchall() == [(1,)]
    finally:
        pg.stop()


def _answers_ssl_request(port: int, timeout: float) -> bool:
    """Send PostgreSQL's SSLRequest; a live postmaster answers one byte at once."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(struct.pack("!ii", 8, 80877103))
        try:
            return sock.recv(1) in (b"N", b"S")
        except TimeoutError:
            return False


def _state(pid: int) -> str:
    """The one-letter state of a process (T stopped, Z zombie, X gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return "X"


def _eventually_all(pids: list[int], states: set[str]) -> bool:
    """Signals are delivered asynchronously: wait (briefly) for every process to get there."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if all(_state(pid) in states for pid in pids):
            return True
        time.sleep(0.01)
    return False


def test_postgres_pause_makes_connections_hang_until_resume(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg", fast=True)
    with pg:
        assert pg.port is not None
        assert _answers_ssl_request(pg.port, timeout=5)
        pid = pg.pid
        assert pid is not None
        with psycopg.connect(pg.dsn) as idle:  # a backend that must freeze too
            workers = _descendants(pid)
            assert len(workers) >= 3
            pg.pause()
            try:
                assert _eventually_all([pid, *workers], {"T"})
                assert not _answers_ssl_request(pg.port, timeout=0.3)
            finally:
                pg.resume()
            assert idle.execute("SELECT 1").fetchone() == (1,)
        with psycopg.connect(pg.dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


async def test_nats_jetstream_round_trip_and_restart_keeps_stream(tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path / "nats")
    url = server.start()
    try:
        assert url == f"nats://127.0.0.1:{server.port}"
        nc = await nats.connect(url)
        js = nc.jetstream()
        await js.add_stream(
            StreamConfig(name="EMBEDDED", subjects=["embedded.>"], storage=StorageType.FILE)
        )
        ack = await js.publish("embedded.hello", b"world", headers={"Nats-Msg-Id": "m1"})
        assert ack.seq == 1
        sub = await js.pull_subscribe("embedded.>", durable="reader")
        [msg] = await sub.fetch(1, timeout=5)
        assert msg.data == b"world"
        await msg.ack_sync()
        await nc.drain()

        server.stop()
        assert server.pid is None
        assert server.start() == url  # same port after a restart
        nc = await nats.connect(url)
        info = await nc.jetstream().stream_info("EMBEDDED")
        assert info.state.messages == 1
        await nc.drain()
    finally:
        server.stop()

"""The local runner end to end: embedded servers, databases, migrations, replicas, Caddy,
and a clean stop on SIGTERM. Stand-in services keep it independent of the real ones."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from syllabus_devkit.embedded import find_free_port
from syllabus_devstack.runner import database_url, libpq_url, service_env
from syllabus_devstack.stack import load_stack, module_runnable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
ROUTES = ROOT / "deploy" / "gateway" / "routes.toml"


def test_repository_stack_file_lists_the_services_in_order() -> None:
    stack = load_stack(ROOT / "deploy" / "stack.toml")
    assert [s.name for s in stack.services] == [
        "identity",
        "catalog",
        "content",
        "progress",
        "assessment",
        "live",
        "web",
    ]
    assert all(s.module == f"syllabus_{s.name}" for s in stack.services)
    # live and web store nothing: no database, no consume process.
    stateless = {"live", "web"}
    assert all(
        s.database == (None if s.name in stateless else f"syllabus_{s.name}")
        for s in stack.services
    )
    assert all(s.consume == (s.name not in stateless) for s in stack.services)
    assert stack.gateway.routes == ROUTES
    assert stack.gateway.port == 8000


def test_module_runnable() -> None:
    assert module_runnable("syllabus_gateway")
    assert not module_runnable("syllabus_no_such_service")
    assert not module_runnable("syllabus_shared")  # a package without __main__


def test_database_urls_point_each_service_at_its_own_database() -> None:
    server = "postgresql://app:s%40cret@db.example:5433/postgres?sslmode=require"
    assert (
        database_url(server, "syllabus_catalog")
        == "postgresql+psycopg://app:s%40cret@db.example:5433/syllabus_catalog?sslmode=require"
    )
    assert libpq_url("postgresql+psycopg://postgres@127.0.0.1:5/x") == (
        "postgresql://postgres@127.0.0.1:5/x"
    )


def test_service_env_passes_only_what_services_should_see(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYLLABUS_FEATURE", "on")
    monkeypatch.setenv("IDENTITY_BOOTSTRAP_ADMIN_PASSWORD", "pw")
    monkeypatch.setenv("DATABASE_URL", "postgresql://admin@elsewhere/postgres")
    env = service_env({"NATS_URL": "nats://x"})
    assert env["SYLLABUS_FEATURE"] == "on"
    assert env["IDENTITY_BOOTSTRAP_ADMIN_PASSWORD"] == "pw"
    assert "DATABASE_URL" not in env  # the admin URL never leaks to a service
    assert env["NATS_URL"] == "nats://x"


def _closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _write_stack(tmp_path: Path) -> Path:
    stack = tmp_path / "stack.toml"
    stack.write_text(
        f"""
[gateway]
routes = "{ROUTES}"

[[service]]
name = "identity"
module = "devstack_not_built_yet"
ready_before_next = true

[[service]]
name = "catalog"
module = "devstack_fake_service"

[[service]]
name = "progress"
module = "devstack_fake_service"
"""
    )
    return stack


def _runner_env(port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    env |= {
        "GATEWAY_PORT": str(port),
        "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
        **extra,
    }
    return env


def _service_processes(data: Path) -> list[str]:
    """Command lines of processes still running from this runner's data dir or services."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(data) in cmdline or "devstack_fake_service" in cmdline:
            found.append(cmdline)
    return found


@pytest.mark.slow
def test_run_starts_the_stack_routes_through_caddy_and_stops_cleanly(tmp_path: Path) -> None:
    stack = _write_stack(tmp_path)
    port = find_free_port()
    env = _runner_env(
        port,
        SYLLABUS_TEST_MARKER="passed-through",
        IDENTITY_BOOTSTRAP_ADMIN_USERNAME="admin",
        UNRELATED_VARIABLE="must-not-pass",
    )
    data = tmp_path / "data"
    argv = [sys.executable, "-m", "syllabus_devstack", "--data-dir", str(data), "run"]
    argv += ["--stack", str(stack), "--replicas", "2", "--quiet"]
    output = (tmp_path / "runner.out").open("wb")
    runner = subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT)
    gateway = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert runner.poll() is None, (tmp_path / "runner.out").read_text()
            try:
                if httpx.get(f"{gateway}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("stack not ready:\n" + (tmp_path / "runner.out").read_text())

        ready = httpx.get(f"{gateway}/readyz").json()
        assert ready["services"] == {"catalog": "ready", "progress": "ready"}

        catalog_ports = set()
        for _ in range(4):
            body = httpx.get(f"{gateway}/api/v1/courses/c1").json()
            assert body["service"] == "catalog"
            catalog_ports.add(body["port"])
        assert len(catalog_ports) == 2  # two replicas behind Caddy
        assert body["database"] == "syllabus_catalog"
        assert body["migrated"] == ["catalog"]  # migrated once, before serving
        assert body["env"]["SERVICE_ENV"] == "development"
        assert body["env"]["NATS_URL"].startswith("nats://127.0.0.1:")
        assert body["env"]["AUTH_JWKS_URL"] is None  # identity is not in this stack
        assert body["env"]["SYLLABUS_TEST_MARKER"] == "passed-through"
        assert body["env"]["IDENTITY_BOOTSTRAP_ADMIN_USERNAME"] == "admin"
        assert body["env"]["UNRELATED_VARIABLE"] is None
        # Its relay and consumers run in its one consume process, not in the replicas.
        assert body["env"]["RUN_RELAY"] == "false"
        assert body["env"]["RUN_CONSUMERS"] == "false"
        assert body["request_id"]

        progress = httpx.get(f"{gateway}/api/v1/courses/c1/enrollments").json()
        assert progress["service"] == "progress"
        assert progress["database"] == "syllabus_progress"

        skipped = httpx.get(f"{gateway}/api/v1/users/me")
        assert skipped.status_code == 503
        assert "identity" in skipped.json()["detail"]

        logs = data / "logs"
        for name in ("catalog-1", "catalog-2", "progress-1", "gateway", "caddy", "postgres"):
            assert (logs / f"{name}.log").stat().st_size > 0, name
        summary = (tmp_path / "runner.out").read_text()
        assert re.search(rf"^  gateway +http://127\.0\.0\.1:{port}$", summary, re.M)
        assert re.search(r"^  identity +not installed", summary, re.M)
        consumers = dict(re.findall(r"^  (\w+)-consume +(http://\S+)/metrics", summary, re.M))
        assert sorted(consumers) == ["catalog", "progress"]  # one each, whatever the replicas
        seen = httpx.get(f"{consumers['catalog']}/whoami").json()
        assert seen == {"service": "catalog", "run_relay": None, "run_consumers": None}
        consume_ports = {int(url.rsplit(":", 1)[1]) for url in consumers.values()}

        runner.send_signal(signal.SIGTERM)
        assert runner.wait(30) == 0
        assert _closed(port)
        assert all(_closed(p) for p in catalog_ports | consume_ports)
        assert _service_processes(data) == []
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        output.close()

    clean = subprocess.run(
        [sys.executable, "-m", "syllabus_devstack", "--data-dir", str(data), "clean"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert not data.exists()


@pytest.mark.slow
def test_ctrl_c_while_starting_stops_what_was_started(tmp_path: Path) -> None:
    stack = _write_stack(tmp_path)
    port = find_free_port()
    env = _runner_env(port, SYLLABUS_FAKE_START_DELAY="30")
    data = tmp_path / "data"
    argv = [sys.executable, "-m", "syllabus_devstack", "--data-dir", str(data), "run"]
    argv += ["--stack", str(stack), "--quiet"]
    runner = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the services are being waited for
            if any("serve" in c for c in _service_processes(data)):
                break
            time.sleep(0.1)
        runner.send_signal(signal.SIGINT)
        out, _ = runner.communicate(timeout=30)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    text = out.decode()
    assert runner.returncode == 0, text
    assert "interrupted while starting" in text
    assert _service_processes(data) == []
    assert _closed(port)

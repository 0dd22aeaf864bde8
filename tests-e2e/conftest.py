"""The whole stack, started the way `make run` starts it, driven through the gateway only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from syllabus_devkit.embedded import find_free_port

ROOT = Path(__file__).resolve().parents[1]
ADMIN = ("e2e_admin", "e2e-admin-password")


@dataclass
class Stack:
    base_url: str
    log_dir: Path
    admin_token: str = ""
    _tokens: dict[str, str] = field(default_factory=dict)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=15.0)

    def token(self, username: str, password: str) -> str:
        with self.client() as c:
            r = c.post("/api/v1/auth/token", data={"username": username, "password": password})
            assert r.status_code == 200, r.text
            return str(r.json()["access_token"])

    def user(self, role: str = "student") -> tuple[str, str]:
        """Register a new user with ``role`` (promoted by the admin); returns (user_id, token)."""
        name = f"{role[:4]}_{uuid.uuid4().hex[:10]}"
        password = "pw-" + uuid.uuid4().hex
        with self.client() as c:
            r = c.post(
                "/api/v1/auth/register",
                json={"username": name, "email": f"{name}@example.com", "password": password},
            )
            assert r.status_code == 201, r.text
            user_id = str(r.json()["id"])
        if role != "student":
            with self.client(self.admin_token) as c:
                r = c.patch(f"/api/v1/users/{user_id}", json={"role": role})
                assert r.status_code == 200, r.text
        return user_id, self.token(name, password)


def _tail(log_dir: Path) -> str:
    out = []
    for log in sorted(log_dir.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-15:]
        out.append(f"--- {log.name}\n" + "\n".join(lines))
    return "\n".join(out)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    if running := os.environ.get("E2E_STACK_URL"):
        # A stack already running (`make run` with the e2e admin's IDENTITY_BOOTSTRAP_*):
        # quicker while working on a test; its logs stay where that stack keeps them.
        s = Stack(running.rstrip("/"), ROOT / ".data" / "logs")
        s.admin_token = s.token(*ADMIN)
        yield s
        return
    data_dir = Path(tempfile.mkdtemp(prefix="syllabus-e2e-"))
    port = find_free_port()
    env = {
        **os.environ,
        "GATEWAY_PORT": str(port),
        "IDENTITY_BOOTSTRAP_ADMIN_USERNAME": ADMIN[0],
        "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN[1],
    }
    # The runner embeds its own PostgreSQL and NATS unless these are set.
    for key in ("DATABASE_URL", "NATS_URL"):
        env.pop(key, None)
    if os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_NATS_URL"):
        env["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
        env["NATS_URL"] = os.environ["TEST_NATS_URL"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "syllabus_devstack", "--data-dir", str(data_dir), "run", "--quiet"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                logs = _tail(data_dir / "logs")
                pytest.fail(f"stack exited early ({proc.returncode}):\n{err[-3000:]}\n{logs}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"stack not ready in time\n{_tail(data_dir / 'logs')}")
            time.sleep(0.25)
        s = Stack(base, data_dir / "logs")
        s.admin_token = s.token(*ADMIN)
        yield s
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        subprocess.run(["rm", "-rf", str(data_dir)], check=False)


def eventually(check: object, timeout: float = 5.0, interval: float = 0.05) -> object:
    """Poll ``check()`` until it returns a truthy value (bounded); returns that value."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()  # type: ignore[operator]
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


# The browser tests' fixtures (tests-e2e/browser.py, test_web_*.py): one Chromium per
# session, and axe-core's script.
from browser import axe_source, browser  # noqa: E402, F401

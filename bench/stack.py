"""Start the stack for the bench, and the fixtures it measures (through the public API).

PostgreSQL and NATS are started here (the same embedded servers as ``make run``) and
handed to the devstack as DATABASE_URL/NATS_URL, so the bench can reach both directly
and PostgreSQL runs with ``track_commit_timestamp`` on (exact commit times for the event
lag). Everything else is the devstack unchanged: every service, the sidecar and Caddy.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from syllabus_devkit.embedded import EmbeddedNats, EmbeddedPostgres, find_free_port

ROOT = Path(__file__).resolve().parents[1]
ADMIN = ("bench_admin", "bench-admin-password-1")


@dataclass
class Stack:
    data_dir: Path
    gateway: str = ""
    services: dict[str, str] = field(default_factory=dict)  # name -> direct base URL
    pg: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None
    proc: subprocess.Popen[bytes] | None = None
    started_in: float = 0.0
    # The key-encryption key identity seals its signing keys with: made by the bench and
    # given to its stack, so the live section can mint many students' tokens (bench/live.py).
    kek: bytes | None = None
    # The web's WEB_SESSION_SECRET, made by the bench (as deploy/local makes one), so the
    # web section can open a session cookie the web sealed (bench/web.py).
    web_secret: str | None = None

    @property
    def pg_url(self) -> str:
        assert self.pg is not None
        return self.pg.url

    def db_url(self, database: str) -> str:
        assert self.pg is not None
        return self.pg.url_for(database)

    @property
    def nats_url(self) -> str:
        assert self.nats is not None
        return self.nats.url

    def own_pids(self) -> set[int]:
        """Every process of this stack: the runner's descendants and those of the
        PostgreSQL and NATS servers started for it (found by its data directory), so that
        other stacks on the machine (a test suite, another bench) are never counted."""
        parent: dict[int, int] = {}
        roots: set[int] = {self.proc.pid} if self.proc is not None else set()
        marker = str(self.data_dir).encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            pid = int(entry.name)
            parent[pid] = int(stat.rsplit(")", 1)[1].split()[1])
            if marker in cmd:
                roots.add(pid)
        own: set[int] = set()
        for pid in parent:
            seen, p = 0, pid
            while p > 1 and seen < 64:
                if p in roots:
                    own.add(pid)
                    break
                p, seen = parent.get(p, 0), seen + 1
        return own

    def pids(self) -> dict[str, int]:
        """Service name -> pid of its process (``name`` serves, ``name-consume`` consumes),
        among this stack's own processes."""
        found: dict[str, int] = {}
        for pid in self.own_pids():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            for i, part in enumerate(cmd[:-1]):
                if (
                    part == b"-m"
                    and cmd[i + 1].startswith(b"syllabus_")
                    and (b"serve" in cmd or b"consume" in cmd)
                ):
                    name = cmd[i + 1].decode().removeprefix("syllabus_")
                    found[name + ("" if b"serve" in cmd else "-consume")] = pid
        return found


def _exit_on_term(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the cleanup
    sys.exit(128 + signum)


def start(data_dir: Path, log: Any = print) -> Stack:
    # SIGTERM (a profiler's or CI's kill) ends the bench through its `finally`, which stops
    # this stack; by default Python would exit at once and leave the services running.
    signal.signal(signal.SIGTERM, _exit_on_term)
    t0 = time.monotonic()
    stack = Stack(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    stack.pg = EmbeddedPostgres(
        data_dir / "postgres",
        log_path=data_dir / "postgres.log",
        settings={"track_commit_timestamp": "on"},
        die_with_parent=True,
    )
    stack.pg.start()
    stack.nats = EmbeddedNats(
        data_dir / "nats", log_path=data_dir / "nats.log", die_with_parent=True
    )
    stack.nats.start()
    port = find_free_port()
    stack.kek = os.urandom(32)
    stack.web_secret = base64.urlsafe_b64encode(os.urandom(32)).decode()
    env = {
        **os.environ,
        "GATEWAY_PORT": str(port),
        "DATABASE_URL": stack.pg.url,
        "NATS_URL": stack.nats.url,
        "IDENTITY_BOOTSTRAP_ADMIN_USERNAME": ADMIN[0],
        "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN[1],
        "LOG_LEVEL": "WARNING",
        # The floor endpoints (/api/v1/_floor/...: syllabus_shared.floor), which a
        # production service refuses; the devstack runs services as development.
        "BENCH_ENDPOINTS": "true",
        # The runner hands the KEK in its own environment to identity (devstack secrets).
        "IDENTITY_KEY_ENCRYPTION_KEY": base64.b64encode(stack.kek).decode(),
        # The runner hands its own WEB_SESSION_SECRET to the web (else it makes one under
        # its data dir) and sets WEB_API_URL to the gateway, as for `make run`.
        "WEB_SESSION_SECRET": stack.web_secret,
    }
    for name in ("_FILE", "_PREVIOUS", "_PREVIOUS_FILE"):
        env.pop(f"IDENTITY_KEY_ENCRYPTION_KEY{name}", None)
    out = (data_dir / "devstack.out").open("wb")
    stack.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "syllabus_devstack",
            "--data-dir",
            str(data_dir / "stack"),
            "run",
            "--quiet",
        ],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack.gateway = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    text = ""
    while time.monotonic() < deadline:
        if stack.proc.poll() is not None:
            stop(stack)
            raise RuntimeError(
                f"devstack exited:\n{(data_dir / 'devstack.out').read_text()[-3000:]}"
            )
        text = (data_dir / "devstack.out").read_text(errors="replace")
        if "Ctrl-C stops everything" in text:
            break
        time.sleep(0.2)
    else:
        stop(stack)
        raise RuntimeError(f"devstack not up in time:\n{text[-3000:]}")
    for name, url in re.findall(
        r"^\s+(identity|catalog|content|progress|assessment|live|web)\s+(http://\S+)", text, re.M
    ):
        stack.services[name] = url
    stack.started_in = time.monotonic() - t0
    log(f"stack up in {stack.started_in:.1f}s: gateway {stack.gateway}, {stack.services}")
    return stack


SERVICE_DATABASES = ("identity", "catalog", "content", "progress", "assessment")


def settle(stack: Stack, timeout: float = 60.0) -> float:
    """Wait until the event pipeline is idle: every outbox published, every durable
    consumer with nothing pending or unacknowledged, no decision due in progress. A
    measurement after a write-heavy one would otherwise share the machine with the
    backlog that one left. Returns the seconds waited."""
    import asyncio

    import nats
    import psycopg

    t0 = time.monotonic()

    def databases_idle() -> bool:
        for name in SERVICE_DATABASES:
            url = stack.db_url(f"syllabus_{name}").replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(url) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM outbox WHERE published_at IS NULL"
                ).fetchone()
                if row and row[0]:
                    return False
                if name == "progress":
                    row = conn.execute(
                        "SELECT count(*) FROM pending_decisions"
                        " WHERE not_before IS NULL OR not_before <= clock_timestamp()"
                    ).fetchone()
                    if row and row[0]:
                        return False
        return True

    async def consumers_idle() -> bool:
        nc = await nats.connect(stack.nats_url)
        try:
            js = nc.jetstream(timeout=5)
            for stream in await js.streams_info():
                for info in await js.consumers_info(stream.config.name):
                    if info.config.durable_name and (info.num_pending or info.num_ack_pending):
                        return False
            return True
        finally:
            await nc.close()

    while time.monotonic() - t0 < timeout:
        if databases_idle() and asyncio.run(consumers_idle()):
            return time.monotonic() - t0
        time.sleep(0.1)
    return time.monotonic() - t0


def stop(stack: Stack) -> None:
    if stack.proc is not None and stack.proc.poll() is None:
        stack.proc.send_signal(signal.SIGTERM)
        try:
            stack.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(stack.proc.pid, signal.SIGKILL)
            stack.proc.wait()
    if stack.nats is not None:
        stack.nats.stop()
    if stack.pg is not None:
        stack.pg.stop()


# ---------------------------------------------------------------- API fixtures


class Api:
    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30.0)
        # token -> (username, password) of every user made here: the web section signs
        # them in through the web's own form (bench/web.py).
        self.credentials: dict[str, tuple[str, str]] = {}

    def call(
        self, method: str, path: str, token: str | None = None, expect: int = 200, **kw: Any
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = self.http.request(method, path, headers=headers, **kw)
        if r.status_code != expect:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    def token(self, username: str, password: str) -> str:
        body = self.call(
            "POST", "/api/v1/auth/token", data={"username": username, "password": password}
        )
        return str(body["access_token"])

    def user(self, admin: str, role: str = "student") -> tuple[str, str]:
        name = f"b{role[:3]}_{uuid.uuid4().hex[:10]}"
        password = "pw-" + uuid.uuid4().hex
        user = self.call(
            "POST",
            "/api/v1/auth/register",
            expect=201,
            json={"username": name, "email": f"{name}@example.com", "password": password},
        )
        if role != "student":
            self.call("PATCH", f"/api/v1/users/{user['id']}", admin, json={"role": role})
        token = self.token(name, password)
        self.credentials[token] = (name, password)
        return str(user["id"]), token


@dataclass
class Fixtures:
    admin: str
    instructor: str
    course_id: str
    module_ids: list[str]
    post_ids: list[str]
    students: list[tuple[str, str]]  # (user id, token), each enrolled in the course
    lag_courses: list[tuple[str, str]]  # (course id, module id) pairs for attach/detach


def document_scripts(fx: Fixtures) -> list[list[tuple[str, str, dict[str, str], Any]]]:
    """Each student reads their progress document (the hottest read)."""
    return [
        [("GET", f"/api/v1/me/courses/{fx.course_id}/progress", _auth(tok), None)]
        for _, tok in fx.students
    ]


def completion_scripts(fx: Fixtures) -> list[list[tuple[str, str, dict[str, str], Any]]]:
    """Each student marks the first post complete, then unmarks it (the hottest write)."""
    post = fx.post_ids[0]
    return [
        [
            ("PUT", f"/api/v1/me/completions/{post}", _auth(tok), None),
            ("DELETE", f"/api/v1/me/completions/{post}", _auth(tok), None),
        ]
        for _, tok in fx.students
    ]


def outline_scripts(fx: Fixtures) -> list[list[tuple[str, str, dict[str, str], Any]]]:
    """The instructor attaches, then detaches, a module per lag course (ModuleAttached load)."""
    h = _auth(fx.instructor)
    return [
        [
            ("POST", f"/api/v1/courses/{c}/modules", h, {"module_id": m}),
            ("DELETE", f"/api/v1/courses/{c}/modules/{m}", h, None),
        ]
        for c, m in fx.lag_courses
    ]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def build(
    api: Api, *, students: int, modules: int, posts_per_module: int, lag_pairs: int
) -> Fixtures:
    admin = api.token(*ADMIN)
    _, instructor = api.user(admin, "instructor")
    course = api.call(
        "POST",
        "/api/v1/courses",
        instructor,
        expect=201,
        json={"title": "Bench course", "description": "x"},
    )
    module_ids, post_ids = [], []
    for m in range(modules):
        module = api.call(
            "POST", "/api/v1/modules", instructor, expect=201, json={"title": f"Module {m}"}
        )
        module_ids.append(module["id"])
        for p in range(posts_per_module):
            post = api.call(
                "POST",
                f"/api/v1/modules/{module['id']}/posts",
                instructor,
                expect=201,
                json={
                    "title": f"Post {m}.{p}",
                    "content": {"kind": "text", "body": "lorem ipsum " * 20},
                    "status": "published",
                },
            )
            post_ids.append(post["id"])
        api.call(
            "POST",
            f"/api/v1/courses/{course['id']}/modules",
            instructor,
            expect=201,
            json={"module_id": module["id"]},
        )
    api.call("PATCH", f"/api/v1/courses/{course['id']}", instructor, json={"status": "published"})
    enrolled = []
    for _ in range(students):
        user_id, token = api.user(admin)
        api.call("POST", f"/api/v1/courses/{course['id']}/enrollments", token, expect=201)
        enrolled.append((user_id, token))
    pairs = []
    for i in range(lag_pairs):
        c = api.call(
            "POST", "/api/v1/courses", instructor, expect=201, json={"title": f"Lag course {i}"}
        )
        m = api.call(
            "POST", "/api/v1/modules", instructor, expect=201, json={"title": f"Lag module {i}"}
        )
        pairs.append((c["id"], m["id"]))
    return Fixtures(admin, instructor, course["id"], module_ids, post_ids, enrolled, pairs)

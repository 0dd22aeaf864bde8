"""Read-your-writes with a consistency token: what carrying one costs, how long it waits.

- **Cost**: the progress document read with a token that is already satisfied (it names
  the latest position of every event type catalog and content have published, which
  progress consumes, so the gate checks each entry) against the same read without one,
  interleaved in the framework-ceiling section (``token_scripts``).
- **Wait behind a fresh write** (:class:`FreshWriteProbe`, run beside the paced event
  load): the instructor adds a post to a module of a probe course and at once reads the
  course's roster (``GET /courses/{id}/progress``, one enrolled student) with the token
  the write returned; the roster's latency minus an untokened roster read taken just
  after is the time the read waited for progress to apply ``PostCreated``. Every tokened
  roster must count every post added so far (``stale`` counts those that did not).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import psycopg
from stack import Api, Fixtures, Stack, _auth
from syllabus_shared.consistency_token import ConsistencyToken

HEADER = "Syllabus-Consistency"


def satisfied_token(stack: Stack, base: str, fx: Fixtures) -> str:
    """A token naming every event type catalog and content published so far, at its last
    position; returned once the progress service has applied all of it."""
    positions: dict[str, int] = {}
    for db in ("syllabus_catalog", "syllabus_content"):
        url = stack.db_url(db).replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url) as conn:
            positions.update(conn.execute("SELECT event_type, position FROM outbox_positions"))
    token = ConsistencyToken.of_types(positions).encode()
    student = fx.students[0][1]
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=base, timeout=10) as http:
        while True:
            r = http.get(
                f"/api/v1/me/courses/{fx.course_id}/progress",
                headers={**_auth(student), HEADER: token},
            )
            if r.status_code == 200:
                return token
            if time.monotonic() > deadline:
                raise RuntimeError(f"token never satisfied: {r.status_code} {r.text[:200]}")


def token_scripts(fx: Fixtures, token: str) -> list[list[tuple[str, str, dict[str, str], Any]]]:
    """The progress document read, each carrying ``token`` (the same reads as without)."""
    return [
        [
            (
                "GET",
                f"/api/v1/me/courses/{fx.course_id}/progress",
                {**_auth(tok), HEADER: token},
                None,
            )
        ]
        for _, tok in fx.students
    ]


class FreshWriteProbe:
    """Add a post, read the roster with the write's token at once; repeat until stopped."""

    def __init__(self, api: Api, base: str, fx: Fixtures, interval: float = 0.1) -> None:
        self.base = base
        self.fx = fx
        self.interval = interval
        self.instructor = fx.instructor
        course = api.call(
            "POST",
            "/api/v1/courses",
            fx.instructor,
            expect=201,
            json={"title": "Probe course", "description": "x"},
        )
        module = api.call(
            "POST", "/api/v1/modules", fx.instructor, expect=201, json={"title": "Probe module"}
        )
        api.call(
            "POST",
            f"/api/v1/courses/{course['id']}/modules",
            fx.instructor,
            expect=201,
            json={"module_id": module["id"]},
        )
        api.call(
            "PATCH", f"/api/v1/courses/{course['id']}", fx.instructor, json={"status": "published"}
        )
        student = fx.students[0][1]
        api.call("POST", f"/api/v1/courses/{course['id']}/enrollments", student, expect=201)
        self.course_id, self.module_id = course["id"], module["id"]
        self.posts = 0
        self.stale = 0  # a tokened roster that did not count every post added (must stay 0)
        self.with_token: list[float] = []
        self.without: list[float] = []
        self.timeouts = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def _run(self) -> None:
        h = _auth(self.instructor)
        roster = f"/api/v1/courses/{self.course_id}/progress"
        with httpx.Client(base_url=self.base, timeout=10) as http:
            n = 0
            while not self._stop.is_set():
                n += 1
                r = http.post(
                    f"/api/v1/modules/{self.module_id}/posts",
                    headers=h,
                    json={
                        "title": f"Probe {n}",
                        "content": {"kind": "text", "body": "x"},
                        "status": "published",
                    },
                )
                token = r.headers.get(HEADER)
                if r.status_code != 201 or not token:
                    continue
                self.posts += 1
                t0 = time.perf_counter()
                r = http.get(roster, headers={**h, HEADER: token})
                took = (time.perf_counter() - t0) * 1000
                if r.status_code == 503:
                    self.timeouts += 1
                    continue
                items = r.json()["items"]
                if not items or items[0]["total_posts"] != self.posts:
                    self.stale += 1
                t0 = time.perf_counter()
                http.get(roster, headers=h)
                self.with_token.append(took)
                self.without.append((time.perf_counter() - t0) * 1000)
                self._stop.wait(self.interval)

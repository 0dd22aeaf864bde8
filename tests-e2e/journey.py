"""People and things for the journeys: users with their own HTTP clients, and builders
for courses, modules and posts, all through the gateway's public API."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from conftest import Stack

API = "/api/v1"

CONTENT: dict[str, dict[str, Any]] = {
    "text": {"kind": "text", "body": "# Notes\n\nRead this."},
    "video": {"kind": "video", "url": "https://videos.example.com/1.mp4", "duration_seconds": 90},
    "link": {"kind": "link", "url": "https://docs.example.com/guide"},
    "assignment": {"kind": "assignment", "instructions": "Write a query.", "max_points": 10},
    "quiz": {
        "kind": "quiz",
        "questions": [{"prompt": "2+2?", "choices": ["3", "4"], "answer_index": 1}],
        "max_points": 2,
    },
}


@dataclass
class Actor:
    """A user (or a guest, with no token) talking to the gateway."""

    id: str
    http: httpx.Client

    def call(self, method: str, path: str, expect: int | None = None, **kw: Any) -> httpx.Response:
        r = self.http.request(method, f"{API}{path}", **kw)
        if expect is not None:
            assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r

    def ok(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        """The JSON body of a call that must answer ``expect``."""
        r = self.call(method, path, expect, **kw)
        return r.json() if r.content else None

    # ------------------------------------------------------------ authoring

    def course(self, title: str, *, publish: bool = False) -> dict[str, Any]:
        course: dict[str, Any] = self.ok(
            "POST", "/courses", 201, json={"title": f"{title} {uuid.uuid4().hex[:6]}"}
        )
        if publish:
            course = self.publish(course["id"])
        return course

    def publish(self, course_id: str) -> dict[str, Any]:
        course: dict[str, Any] = self.ok(
            "PATCH", f"/courses/{course_id}", json={"status": "published"}
        )
        return course

    def module(self, title: str) -> dict[str, Any]:
        module: dict[str, Any] = self.ok("POST", "/modules", 201, json={"title": title})
        return module

    def post(
        self,
        module_id: str,
        title: str,
        kind: str = "text",
        status: str = "published",
        rule: str | None = None,
    ) -> dict[str, Any]:
        """A post of ``kind``; ``rule`` sets its completion rule (else the kind's default)."""
        body: dict[str, Any] = {"title": title, "content": CONTENT[kind], "status": status}
        if rule is not None:
            body["completion"] = {"rule": rule}
        post: dict[str, Any] = self.ok("POST", f"/modules/{module_id}/posts", 201, json=body)
        return post

    def attach(self, course_id: str, module_id: str, position: int | None = None) -> Any:
        body: dict[str, Any] = {"module_id": module_id}
        if position is not None:
            body["position"] = position
        return self.ok("POST", f"/courses/{course_id}/modules", 201, json=body)

    # ------------------------------------------------------------ learning

    def enroll(self, course_id: str) -> dict[str, Any]:
        enrollment: dict[str, Any] = self.ok("POST", f"/courses/{course_id}/enrollments", 201)
        return enrollment

    def complete(self, post_id: str, expect: int = 201) -> None:
        self.call("PUT", f"/me/completions/{post_id}", expect)

    def progress(self, course_id: str) -> dict[str, Any]:
        doc: dict[str, Any] = self.ok("GET", f"/me/courses/{course_id}/progress")
        return doc


def actor(stack: Stack, role: str | None) -> Actor:
    """A new user with ``role`` (None: a guest)."""
    if role is None:
        return Actor("", stack.client())
    user_id, token = stack.user(role)
    return Actor(user_id, stack.client(token))


def expected_progress(
    course_id: str,
    user_id: str,
    modules: list[tuple[dict[str, Any], list[tuple[dict[str, Any], bool]]]],
    *,
    status: str,
    percent: float,
    next_post: dict[str, Any] | None,
) -> dict[str, Any]:
    """A progress document as API.md shows it, with ``completed_at`` reduced to "set?".

    ``modules``: (module, [(post, completed), ...]) in the order the student should see.
    """
    doc_modules = []
    for position, (module, posts) in enumerate(modules, start=1):
        done = sum(completed for _, completed in posts)
        complete = bool(posts) and done == len(posts)
        doc_modules.append(
            {
                "module_id": module["id"],
                "position": position,
                "title": module["title"],
                "completed_posts": done,
                "total_posts": len(posts),
                "percent": round(100 * done / len(posts), 2) if posts else 0.0,
                # Nothing gated in these journeys: unlocked, started once a post is done.
                "state": "completed" if complete else "started" if done else "unlocked",
                "locks": [],
                "posts": [
                    {
                        "post_id": post["id"],
                        "position": i,
                        "title": post["title"],
                        "kind": post["content"]["kind"],
                        "completed": completed,
                        "completed_at": completed,
                        "locked": False,
                        "rule": post["completion"]["rule"],
                        "min_score": post["completion"].get("min_score"),
                        "status": "completed" if completed else "not_started",
                        "score": None,
                    }
                    for i, (post, completed) in enumerate(posts, start=1)
                ],
            }
        )
    return {
        "course_id": course_id,
        "user_id": user_id,
        "status": status,
        "completed_posts": sum(m["completed_posts"] for m in doc_modules),
        "total_posts": sum(m["total_posts"] for m in doc_modules),
        "percent": percent,
        "next_post_id": next_post["id"] if next_post else None,
        "modules": doc_modules,
    }


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """A progress document with each ``completed_at`` reduced to whether it is set."""
    out = dict(doc)
    out["modules"] = [
        {**m, "posts": [{**p, "completed_at": p["completed_at"] is not None} for p in m["posts"]]}
        for m in doc["modules"]
    ]
    return out


def settles(fetch: Callable[[], Any], expected: Any, timeout: float = 2.5) -> None:
    """Poll ``fetch()`` until it equals ``expected`` (bounded by ``timeout``), then assert
    the last value, so a failure shows the difference."""
    deadline = time.monotonic() + timeout
    while True:
        last = fetch()
        if last == expected or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert last == expected


def within(timeout: float, attempt: Callable[[], httpx.Response], status: int) -> httpx.Response:
    """Repeat ``attempt`` until it answers ``status`` (bounded); the last response."""
    deadline = time.monotonic() + timeout
    while True:
        r = attempt()
        if r.status_code == status or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert r.status_code == status, r.text
    return r

"""A workload of instructors and students through the gateway, with a Jepsen-style history.

Each user is one sequential client. Every operation is recorded as ``ok`` (2xx: the write
was acknowledged), ``fail`` (4xx: refused, nothing written) or ``info`` (timeout, connection
error, 5xx: it may or may not have happened). The :class:`Model` keeps, per entity, the
state its last acknowledged write left; an entity touched by an indeterminate operation is
``uncertain`` from then on (a request that timed out may still commit later), and is then
only held to "its value is one somebody wrote". ``checker.check_history`` compares the model
with the databases.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

Entity = Any


@dataclass
class Model:
    prefix: str
    users: list[str] = field(default_factory=list)
    courses: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    modules: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    posts: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    links: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    enrollments: dict[tuple[str, uuid.UUID], str] = field(default_factory=dict)
    completions: dict[tuple[str, uuid.UUID], bool] = field(default_factory=dict)
    uncertain: set[Entity] = field(default_factory=set)
    written: dict[Entity, set[str]] = field(default_factory=dict)
    indeterminate_titles: set[str] = field(default_factory=set)
    attempted_pairs: set[tuple[str, uuid.UUID]] = field(default_factory=set)
    # Acknowledged submissions: id -> {post_id, user, kind, score (the last acknowledged
    # one: the quiz's own grade, then each acknowledged grade), version}.
    submissions: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    # Per (user, post): submissions acknowledged, and those whose outcome is unknown.
    submits_ok: Counter[tuple[str, uuid.UUID]] = field(default_factory=Counter)
    submits_info: Counter[tuple[str, uuid.UUID]] = field(default_factory=Counter)
    # Every score somebody tried to give a submission (for uncertain ones).
    scores_written: dict[uuid.UUID, set[str]] = field(default_factory=dict)
    # Acknowledged openings of a post (GET /posts/{id} as a student: a view).
    views: set[tuple[str, uuid.UUID]] = field(default_factory=set)
    # Gating acknowledged per attachment: (course, module) -> {prerequisites, unlock_at}.
    gating: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]] = field(default_factory=dict)
    # Accounts whose deletion was acknowledged (their facts leave the model: the services
    # must forget them), and those whose deletion stayed indeterminate (not judged).
    deleted: set[str] = field(default_factory=set)
    deleted_roles: dict[str, str] = field(default_factory=dict)
    uncertain_users: set[str] = field(default_factory=set)
    # Groups (issue 26), as acknowledged writes left them: group -> {name, creator,
    # deleted}; (group, user) -> member or not; (course, group) -> followed or not; unlock
    # overrides (course, module, kind, target) and due overrides (post, kind, target) ->
    # their date (None: removed). Indeterminate ones are ``uncertain`` (keys ("group", g),
    # ("member", g, u), ("follow", c, g), ("unlock", c, m, kind, t), ("due", p, kind, t)).
    groups: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    memberships: dict[tuple[uuid.UUID, str], bool] = field(default_factory=dict)
    follows: dict[tuple[uuid.UUID, uuid.UUID], bool] = field(default_factory=dict)
    unlock_overrides: dict[tuple[Any, ...], dt.datetime | None] = field(default_factory=dict)
    due_overrides: dict[tuple[Any, ...], dt.datetime | None] = field(default_factory=dict)
    # Every membership and follow somebody tried (whatever the outcome): what may explain
    # an enrollment the student did not ask for.
    member_attempts: set[tuple[uuid.UUID, str]] = field(default_factory=set)
    follow_attempts: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    # (user, course) enrollments an operation may have ended (the student's own drop, a
    # member removed, a group unfollowed or deleted): their facts must all still be there.
    drops: set[tuple[str, uuid.UUID]] = field(default_factory=set)
    stats: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)

    def wrote(self, entity: Entity, title: str) -> None:
        self.written.setdefault(entity, set()).add(title)

    def forget(self, user: str) -> None:
        """The account is gone: none of its facts may remain anywhere."""
        self.enrollments = {k: v for k, v in self.enrollments.items() if k[0] != user}
        self.completions = {k: v for k, v in self.completions.items() if k[0] != user}
        self.views = {k for k in self.views if k[0] != user}
        self.submissions = {k: v for k, v in self.submissions.items() if v["user"] != user}
        for counter in (self.submits_ok, self.submits_info):
            for pair in [p for p in counter if p[0] == user]:
                del counter[pair]
        # Identity removes the account from every group; catalog and content delete its own
        # overrides (docs/dates.md).
        self.memberships = {k: v for k, v in self.memberships.items() if k[1] != user}
        target = uuid.UUID(user)
        for overrides in (self.unlock_overrides, self.due_overrides):
            for key in [k for k in overrides if k[-2] == "user" and k[-1] == target]:
                del overrides[key]

    def members(self, group_id: uuid.UUID) -> list[str]:
        """The group's members as acknowledged writes left them."""
        return [u for (g, u), member in self.memberships.items() if g == group_id and member]

    def followed(self, course_id: uuid.UUID) -> list[uuid.UUID]:
        """The groups the course follows as acknowledged writes left them."""
        return [g for (c, g), on in self.follows.items() if c == course_id and on]

    def judged(self, user: Any) -> bool:
        """Whether a user's facts are held to the history (not deleted or maybe deleted)."""
        return str(user) not in self.deleted and str(user) not in self.uncertain_users

    @property
    def attempted(self) -> int:
        return self.stats["attempted"]

    @property
    def acknowledged(self) -> int:
        return self.stats["ok"]


class Outcome:
    OK = "ok"
    FAIL = "fail"
    INFO = "info"


@dataclass
class Result:
    outcome: str
    status: int | None
    body: Any = None


@dataclass
class Author:
    """An instructor and what they own (as far as acknowledged writes tell)."""

    user: Any
    courses: list[uuid.UUID] = field(default_factory=list)
    modules: list[uuid.UUID] = field(default_factory=list)
    posts: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)  # module → posts
    groups: list[uuid.UUID] = field(default_factory=list)


class Workload:
    """Instructors build courses, students enroll and complete posts, until ``stop``."""

    def __init__(
        self,
        base_url: str,
        instructors: list[Any],
        students: list[Any],
        *,
        prefix: str | None = None,
        seed: int | None = None,
        timeout: float = 8.0,
        think: tuple[float, float] = (0.01, 0.06),
        admin: Any = None,
        spawn: Callable[[str], Awaitable[Any]] | None = None,
        deletion_interval: tuple[float, float] | None = None,
        teacher_share: float = 0.25,
    ) -> None:
        self.base_url = base_url
        self.model = Model(prefix or f"w{uuid.uuid4().hex[:6]}")
        self.model.users = [s.id for s in students] + [i.id for i in instructors]
        self.authors = [Author(i) for i in instructors]
        self.students = list(students)
        # Account deletions (with ``admin``, every ``deletion_interval`` seconds): a student
        # with data, sometimes a teacher, deleted by an admin or by themselves; ``spawn``
        # (role → a new logged-in user) replaces them so the load stays the same.
        self.admin = admin
        self.spawn = spawn
        self.deletion_interval = deletion_interval
        self.teacher_share = teacher_share
        self.workers: dict[str, asyncio.Task[None]] = {}
        self.leaving: dict[str, asyncio.Event] = {}
        self.deletions: list[str] = []  # what the deleter did, for the report
        self.rng = random.Random(seed)
        self.timeout = timeout
        self.think = think
        self.counter = 0
        # What students can see: published courses and, per module, acknowledged posts.
        self.published: set[uuid.UUID] = set()
        self.enrolled: dict[str, set[uuid.UUID]] = {s.id: set() for s in students}
        # Courses a group may have enrolled each student in (their groups' follows, as far
        # as acknowledged writes tell): where they work too.
        self.by_group: dict[str, set[uuid.UUID]] = {s.id: set() for s in students}

    # -- plumbing ----------------------------------------------------------------------

    def title(self, kind: str) -> str:
        self.counter += 1
        return f"{self.model.prefix}-{kind}-{self.counter}"

    def score_written(self, submission_id: uuid.UUID, score: Any) -> None:
        text = "none" if score is None else f"{Decimal(str(score)):.2f}"
        self.model.scores_written.setdefault(submission_id, set()).add(text)

    async def call(
        self, client: httpx.AsyncClient, op: str, method: str, url: str, **kwargs: Any
    ) -> Result:
        self.model.stats["attempted"] += 1
        self.model.stats[f"{op}:attempted"] += 1
        try:
            r = await client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            self.model.stats["info"] += 1
            self.model.statuses[type(exc).__name__] += 1
            return Result(Outcome.INFO, None)
        self.model.statuses[str(r.status_code)] += 1
        if r.status_code < 300:
            self.model.stats["ok"] += 1
            self.model.stats[f"{op}:ok"] += 1
            body = r.json() if r.content and "json" in r.headers.get("content-type", "") else None
            return Result(Outcome.OK, r.status_code, body)
        if r.status_code >= 500:
            self.model.stats["info"] += 1
            return Result(Outcome.INFO, r.status_code)
        self.model.stats["fail"] += 1
        return Result(Outcome.FAIL, r.status_code)

    async def run(self, stop: asyncio.Event) -> Model:
        for a in self.authors:
            self._start(a.user, self._author_loop(a, stop))
        for s in self.students:
            self._start(s, self._student_loop(s, stop))
        if self.admin is not None and self.deletion_interval is not None:
            await self._deleter(stop)
        while self.workers:
            user, task = next(iter(self.workers.items()))
            await task
            self.workers.pop(user, None)
        return self.model

    def _start(self, user: Any, loop: Awaitable[None]) -> None:
        self.leaving[user.id] = asyncio.Event()
        self.workers[user.id] = asyncio.ensure_future(loop)

    # -- account deletions -------------------------------------------------------------

    async def _deleter(self, stop: asyncio.Event) -> None:
        assert self.deletion_interval is not None
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.rng.uniform(*self.deletion_interval))
            if stop.is_set():
                break
            await self.delete_account(stop)

    def _facts(self, user: str) -> int:
        m = self.model
        return (
            sum(1 for u, _ in m.enrollments if u == user)
            + sum(1 for u, _ in m.completions if u == user)
            + sum(1 for sub in m.submissions.values() if sub["user"] == user)
        )

    async def delete_account(self, stop: asyncio.Event) -> None:
        """Delete a student with enrollments, completions or submissions (the one with the
        most), sometimes a teacher; by an admin or by the user themselves. The user's own
        client stops first (a person deleting their account is not also using it)."""
        authors = [a for a in self.authors if a.user.id in self.workers]
        teachers = [a for a in authors if a.courses]
        if len(authors) > 1 and teachers and self.rng.random() < self.teacher_share:
            author = self.rng.choice(teachers)
            user, role = author.user, "instructor"
        else:
            students = [s for s in self.students if s.id in self.workers]
            if len(students) < 2:
                return
            user = max(students, key=lambda s: (self._facts(s.id), self.rng.random()))
            if not self._facts(user.id):
                return  # nobody has data yet: a later round
            role = "student"
        facts = self._facts(user.id) if role == "student" else len(author.courses)
        self.leaving[user.id].set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self.workers[user.id]), self.timeout + 2)
        self.workers.pop(user.id, None)
        by_self = self.rng.random() < 0.5
        url = "/api/v1/users/me" if by_self else f"/api/v1/users/{user.id}"
        headers = user.headers if by_self else self.admin.headers
        outcome = await self._delete(url, headers, user.id)
        what = "enrollments/completions/submissions" if role == "student" else "courses"
        self.deletions.append(
            f"{role} {user.id} ({facts} {what}) deleted by"
            f" {'themselves' if by_self else 'an admin'}: {outcome}"
        )
        if outcome == "deleted":
            self.model.deleted.add(user.id)
            self.model.deleted_roles[user.id] = role
            self.model.forget(user.id)
        else:
            self.model.uncertain_users.add(user.id)
        if role == "student":
            self.students = [s for s in self.students if s.id != user.id]
            self.enrolled.pop(user.id, None)
            self.by_group.pop(user.id, None)
        else:
            self.authors = [a for a in self.authors if a.user.id != user.id]
        if self.spawn is not None and not stop.is_set():
            await self._replace(role, stop)

    async def _delete(self, url: str, headers: dict[str, str], user_id: str) -> str:
        """``deleted``, or ``indeterminate`` when no try settled it (5xx/timeouts)."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout) as client:
            for attempt in range(6):
                res = await self.call(client, "delete_account", "DELETE", url, headers=headers)
                if res.outcome == Outcome.OK:
                    return "deleted"
                if res.status == 404 and attempt > 0:
                    return "deleted"  # an earlier, indeterminate try did it
                if res.outcome == Outcome.FAIL and not (res.status == 401 and attempt > 0):
                    return f"refused ({res.status})"
                # Indeterminate (or the user's token already refused): ask as the admin.
                url, headers = f"/api/v1/users/{user_id}", self.admin.headers
                await asyncio.sleep(0.5)
        return "indeterminate"

    async def _replace(self, role: str, stop: asyncio.Event) -> None:
        assert self.spawn is not None
        for _ in range(5):
            try:
                user = await self.spawn(role)
            except Exception:  # a fault in the way: try again shortly
                await asyncio.sleep(1.0)
                continue
            self.model.users.append(user.id)
            if role == "student":
                self.students.append(user)
                self.enrolled[user.id] = set()
                self.by_group[user.id] = set()
                self._start(user, self._student_loop(user, stop))
            else:
                author = Author(user)
                self.authors.append(author)
                self._start(user, self._author_loop(author, stop))
            return

    async def _loop(
        self,
        user: Any,
        stop: asyncio.Event,
        ops: list[tuple[int, Callable[[httpx.AsyncClient], Awaitable[None]]]],
    ) -> None:
        weights = [w for w, _ in ops]
        actions = [a for _, a in ops]
        async with httpx.AsyncClient(
            base_url=self.base_url, headers=user.headers, timeout=self.timeout
        ) as client:
            leaving = self.leaving.get(user.id) or asyncio.Event()
            while not stop.is_set() and not leaving.is_set():
                action = self.rng.choices(actions, weights)[0]
                before = self.model.stats["info"]
                await action(client)
                # Back off after an indeterminate answer (a service restarting answers 502
                # at once): a client that spins would only inflate the counts.
                backoff = 0.3 if self.model.stats["info"] > before else 0.0
                await asyncio.sleep(backoff + self.rng.uniform(*self.think))

    # -- instructors -------------------------------------------------------------------

    async def _author_loop(self, a: Author, stop: asyncio.Event) -> None:
        ops: list[tuple[int, Callable[[httpx.AsyncClient], Awaitable[None]]]] = [
            (6, lambda c: self.create_course(c, a)),
            (7, lambda c: self.create_module(c, a)),
            (10, lambda c: self.attach(c, a)),
            (20, lambda c: self.create_post(c, a)),
            (8, lambda c: self.edit_post(c, a)),
            (3, lambda c: self.delete_post(c, a)),
            (3, lambda c: self.reorder_posts(c, a)),
            (10, lambda c: self.publish_course(c, a)),
            (4, lambda c: self.rename_course(c, a)),
            (4, lambda c: self.rename_module(c, a)),
            (2, lambda c: self.delete_draft_course(c, a)),
            (2, lambda c: self.delete_unused_module(c, a)),
            (8, lambda c: self.grade(c, a)),
            (5, lambda c: self.change_rule(c, a)),
            (4, lambda c: self.gate(c, a)),
            (1, lambda c: self.toggle_sequential(c, a)),
            (3, lambda c: self.create_group(c, a)),
            (6, lambda c: self.add_member(c, a)),
            (3, lambda c: self.add_members(c, a)),
            (3, lambda c: self.remove_member(c, a)),
            (5, lambda c: self.follow_group(c, a)),
            (2, lambda c: self.unfollow_group(c, a)),
            (1, lambda c: self.delete_group(c, a)),
            (3, lambda c: self.set_unlock_override(c, a)),
            (1, lambda c: self.remove_unlock_override(c, a)),
            (3, lambda c: self.set_due_override(c, a)),
            (1, lambda c: self.remove_due_override(c, a)),
        ]
        await self._loop(a.user, stop, ops)

    def _uncertain(self, *entities: Entity) -> None:
        self.model.uncertain.update(entities)

    async def create_course(self, c: httpx.AsyncClient, a: Author) -> None:
        title = self.title("course")
        res = await self.call(c, "create_course", "POST", "/api/v1/courses", json={"title": title})
        if res.outcome == Outcome.OK:
            cid = uuid.UUID(res.body["id"])
            self.model.courses[cid] = {"title": title, "status": "draft", "sequential": False}
            self.model.wrote(cid, title)
            a.courses.append(cid)
        elif res.outcome == Outcome.INFO:
            self.model.indeterminate_titles.add(title)

    async def create_module(self, c: httpx.AsyncClient, a: Author) -> None:
        title = self.title("module")
        res = await self.call(c, "create_module", "POST", "/api/v1/modules", json={"title": title})
        if res.outcome == Outcome.OK:
            mid = uuid.UUID(res.body["id"])
            self.model.modules[mid] = {"title": title}
            self.model.wrote(mid, title)
            a.modules.append(mid)
            a.posts[mid] = []
        elif res.outcome == Outcome.INFO:
            self.model.indeterminate_titles.add(title)

    async def attach(self, c: httpx.AsyncClient, a: Author) -> None:
        pairs = [
            (cid, mid)
            for cid in a.courses[-4:]
            for mid in a.modules[-4:]
            if (cid, mid) not in self.model.links
        ]
        if not pairs:
            return await self.create_module(c, a)
        cid, mid = self.rng.choice(pairs)
        res = await self.call(
            c, "attach", "POST", f"/api/v1/courses/{cid}/modules", json={"module_id": str(mid)}
        )
        if res.outcome == Outcome.OK:
            self.model.links.add((cid, mid))
        elif res.outcome == Outcome.INFO:
            self.model.links.add((cid, mid))
            self._uncertain((cid, mid), mid)

    async def create_post(self, c: httpx.AsyncClient, a: Author) -> None:
        if not a.modules:
            return await self.create_module(c, a)
        mid = self.rng.choice(a.modules[-5:])
        title = self.title("post")
        status = "published" if self.rng.random() < 0.75 else "draft"
        roll = self.rng.random()
        choices: list[int] = []
        if roll < 0.25:
            content: dict[str, Any] = {
                "kind": "assignment",
                "instructions": "do it",
                "max_points": self.rng.randint(1, 100),
            }
            if self.rng.random() < 0.5:
                content["due_at"] = "2020-01-01T00:00:00Z"  # late work, accepted and flagged
        elif roll < 0.45:
            choices = [self.rng.randint(2, 4) for _ in range(self.rng.randint(1, 3))]
            content = {
                "kind": "quiz",
                "questions": [
                    {
                        "prompt": f"q{i}",
                        "choices": [f"c{j}" for j in range(n)],
                        "answer_index": self.rng.randrange(n),
                    }
                    for i, n in enumerate(choices)
                ],
                "max_points": self.rng.randint(1, 20),
                "attempts": self.rng.randint(1, 3),
            }
        else:
            content = {"kind": "text", "body": f"body of {title}"}
        body: dict[str, Any] = {"title": title, "status": status, "content": content}
        rule = _default_rule(content["kind"])
        if self.rng.random() < 0.3:
            body["completion"] = self._completion(content["kind"], content.get("max_points"))
            rule = _rule_key(body["completion"])
        res = await self.call(c, "create_post", "POST", f"/api/v1/modules/{mid}/posts", json=body)
        if res.outcome == Outcome.OK:
            pid = uuid.UUID(res.body["id"])
            self.model.posts[pid] = {
                "title": title,
                "status": status,
                "module_id": mid,
                "deleted": False,
                "kind": content["kind"],
                "max_points": content.get("max_points"),
                "choices": choices,
                "rule": rule,
            }
            self.model.wrote(pid, title)
            a.posts.setdefault(mid, []).append(pid)
        elif res.outcome == Outcome.INFO:
            self.model.indeterminate_titles.add(title)
            self._uncertain(("order", mid))

    def _live_posts(self, a: Author) -> list[uuid.UUID]:
        return [
            p
            for posts in a.posts.values()
            for p in posts
            if not self.model.posts.get(p, {}).get("deleted", True)
        ]

    async def edit_post(self, c: httpx.AsyncClient, a: Author) -> None:
        live = self._live_posts(a)
        if not live:
            return await self.create_post(c, a)
        pid = self.rng.choice(live)
        state = self.model.posts[pid]
        if self.rng.random() < 0.5:
            body: dict[str, Any] = {"title": self.title("post")}
            self.model.wrote(pid, body["title"])
        else:
            body = {"status": "draft" if state["status"] == "published" else "published"}
        res = await self.call(c, "edit_post", "PATCH", f"/api/v1/posts/{pid}", json=body)
        if res.outcome == Outcome.OK:
            state.update(body)
        elif res.outcome == Outcome.INFO:
            self._uncertain(pid)

    def _completion(self, kind: str, max_points: int | None) -> dict[str, Any]:
        """A valid completion rule for a post of ``kind`` (API.md: submit and min_score only
        on gradable kinds, 0 < min_score <= max_points)."""
        if kind not in GRADABLE or not max_points:
            return {"rule": self.rng.choice(["mark_done", "view"])}
        rule = self.rng.choice(["mark_done", "view", "submit", "min_score"])
        if rule != "min_score":
            return {"rule": rule}
        return {"rule": rule, "min_score": max(0.01, round(self.rng.uniform(0, max_points), 2))}

    async def change_rule(self, c: httpx.AsyncClient, a: Author) -> None:
        """Change a post's completion rule: progress re-derives every student's completion
        of it (the checker recomputes them from the facts and the current rules)."""
        live = self._live_posts(a)
        if not live:
            return await self.create_post(c, a)
        pid = self.rng.choice(live[-30:])
        state = self.model.posts[pid]
        completion = self._completion(state["kind"], state["max_points"])
        res = await self.call(
            c, "change_rule", "PATCH", f"/api/v1/posts/{pid}", json={"completion": completion}
        )
        if res.outcome == Outcome.OK:
            state["rule"] = _rule_key(completion)
        elif res.outcome == Outcome.INFO:
            self._uncertain(pid)

    async def gate(self, c: httpx.AsyncClient, a: Author) -> None:
        """Set an attached module's prerequisites (other modules of the course; a cycle is
        refused, 422) and/or its unlock date (mostly past or none, sometimes far ahead)."""
        mine = sorted((cid, mid) for cid, mid in self.model.links if cid in a.courses)
        if not mine:
            return await self.attach(c, a)
        cid, mid = self.rng.choice(mine[-12:])
        others = sorted(m for cc, m in self.model.links if cc == cid and m != mid)
        body: dict[str, Any] = {}
        roll = self.rng.random()
        if roll < 0.75:
            k = self.rng.randint(0, min(2, len(others)))
            body["prerequisites"] = [str(m) for m in self.rng.sample(others, k)]
        if roll > 0.6:
            now = dt.datetime.now(dt.UTC).replace(microsecond=0)
            when = self.rng.choice(
                [None, None, now - dt.timedelta(hours=1), now + dt.timedelta(days=30)]
            )
            body["unlock_at"] = when.isoformat() if when else None
        res = await self.call(c, "gate", "PATCH", f"/api/v1/courses/{cid}/modules/{mid}", json=body)
        key = (cid, mid)
        if res.outcome == Outcome.OK:
            state = self.model.gating.setdefault(key, {"prerequisites": set(), "unlock_at": None})
            if "prerequisites" in body:
                state["prerequisites"] = {uuid.UUID(m) for m in body["prerequisites"]}
            if "unlock_at" in body:
                state["unlock_at"] = _instant(body["unlock_at"])
        elif res.outcome == Outcome.INFO:
            self._uncertain(("gate", cid, mid))

    async def toggle_sequential(self, c: httpx.AsyncClient, a: Author) -> None:
        live = [cid for cid in a.courses if cid in self.model.courses]
        if not live:
            return await self.create_course(c, a)
        cid = self.rng.choice(live)
        state = self.model.courses[cid]
        body = {"sequential": not state["sequential"]}
        res = await self.call(c, "sequential", "PATCH", f"/api/v1/courses/{cid}", json=body)
        if res.outcome == Outcome.OK:
            state["sequential"] = body["sequential"]
        elif res.outcome == Outcome.INFO:
            self._uncertain(cid)

    async def delete_post(self, c: httpx.AsyncClient, a: Author) -> None:
        live = self._live_posts(a)
        if not live:
            return
        pid = self.rng.choice(live)
        res = await self.call(c, "delete_post", "DELETE", f"/api/v1/posts/{pid}")
        if res.outcome == Outcome.OK:
            self.model.posts[pid]["deleted"] = True
        elif res.outcome == Outcome.INFO:
            self._uncertain(pid)

    async def reorder_posts(self, c: httpx.AsyncClient, a: Author) -> None:
        modules = [m for m, posts in a.posts.items() if len(posts) > 1]
        if not modules:
            return
        mid = self.rng.choice(modules)
        ids = [str(p) for p in a.posts[mid] if not self.model.posts[p]["deleted"]]
        self.rng.shuffle(ids)
        await self.call(
            c, "reorder_posts", "PUT", f"/api/v1/modules/{mid}/posts", json={"post_ids": ids}
        )

    async def publish_course(self, c: httpx.AsyncClient, a: Author) -> None:
        linked = {cid for cid, _ in self.model.links}
        drafts = [
            cid
            for cid in a.courses
            if self.model.courses.get(cid, {}).get("status") in ("draft", "archived")
            and cid in linked
        ]
        published = [
            cid for cid in a.courses if self.model.courses.get(cid, {}).get("status") == "published"
        ]
        if drafts:
            cid, status = self.rng.choice(drafts), "published"
        elif published and self.rng.random() < 0.2:
            cid, status = self.rng.choice(published), "archived"
        else:
            return await self.attach(c, a)
        res = await self.call(
            c, "publish_course", "PATCH", f"/api/v1/courses/{cid}", json={"status": status}
        )
        if res.outcome == Outcome.OK:
            self.model.courses[cid]["status"] = status
            if status == "published":
                self.published.add(cid)
                for gid in self.model.followed(cid):  # their members are enrolled now
                    self._learn(gid)
            else:
                self.published.discard(cid)
        elif res.outcome == Outcome.INFO:
            self._uncertain(cid)
            self.published.add(cid)

    async def rename_course(self, c: httpx.AsyncClient, a: Author) -> None:
        live = [cid for cid in a.courses if cid in self.model.courses]
        if not live:
            return await self.create_course(c, a)
        cid = self.rng.choice(live)
        title = self.title("course")
        self.model.wrote(cid, title)
        res = await self.call(
            c, "rename_course", "PATCH", f"/api/v1/courses/{cid}", json={"title": title}
        )
        if res.outcome == Outcome.OK:
            self.model.courses[cid]["title"] = title
        elif res.outcome == Outcome.INFO:
            self._uncertain(cid)

    async def rename_module(self, c: httpx.AsyncClient, a: Author) -> None:
        live = [mid for mid in a.modules if mid in self.model.modules]
        if not live:
            return await self.create_module(c, a)
        mid = self.rng.choice(live)
        title = self.title("module")
        self.model.wrote(mid, title)
        res = await self.call(
            c, "rename_module", "PATCH", f"/api/v1/modules/{mid}", json={"title": title}
        )
        if res.outcome == Outcome.OK:
            self.model.modules[mid]["title"] = title
        elif res.outcome == Outcome.INFO:
            self._uncertain(mid)

    async def delete_draft_course(self, c: httpx.AsyncClient, a: Author) -> None:
        linked = {cid for cid, _ in self.model.links}
        drafts = [
            cid
            for cid in a.courses
            if self.model.courses.get(cid, {}).get("status") == "draft"
            and cid not in linked
            and cid not in self.model.uncertain
        ]
        if not drafts:
            return await self.create_course(c, a)
        cid = self.rng.choice(drafts)
        res = await self.call(c, "delete_course", "DELETE", f"/api/v1/courses/{cid}")
        if res.outcome == Outcome.OK:
            self.model.courses.pop(cid)
            a.courses.remove(cid)
        elif res.outcome == Outcome.INFO:
            self._uncertain(cid)

    async def delete_unused_module(self, c: httpx.AsyncClient, a: Author) -> None:
        used = {mid for _, mid in self.model.links}
        unused = [
            mid
            for mid in a.modules
            if mid not in used and mid in self.model.modules and mid not in self.model.uncertain
        ]
        if not unused:
            return await self.create_module(c, a)
        mid = self.rng.choice(unused)
        res = await self.call(c, "delete_module", "DELETE", f"/api/v1/modules/{mid}")
        if res.outcome == Outcome.OK:
            self.model.modules.pop(mid)
            a.modules.remove(mid)
            for pid in a.posts.pop(mid, []):
                # Content deletes the module's posts when it hears of the deletion.
                self.model.posts[pid]["deleted"] = True
        elif res.outcome == Outcome.INFO:
            self._uncertain(mid, *a.posts.get(mid, []))

    async def grade(self, c: httpx.AsyncClient, a: Author) -> None:
        """Grade (or regrade) a submission to one of the author's modules' posts: they own
        the module, so they are one of its graders."""
        mine = set(a.posts)
        subs = [
            sid
            for sid, sub in self.model.submissions.items()
            if self.model.posts[sub["post_id"]]["module_id"] in mine
        ]
        if not subs:
            return await self.create_post(c, a)
        sid = self.rng.choice(subs[-20:])
        sub = self.model.submissions[sid]
        points = self.model.posts[sub["post_id"]]["max_points"] or 1
        score = round(self.rng.uniform(0, points), 2)
        headers = {}
        if ("grade", sid) not in self.model.uncertain and self.rng.random() < 0.5:
            headers["If-Match"] = f'"{sub["version"]}"'
        self.score_written(sid, score)
        res = await self.call(
            c,
            "grade",
            "PUT",
            f"/api/v1/submissions/{sid}/grade",
            json={"score": score, "feedback": f"{self.model.prefix} feedback"},
            headers=headers,
        )
        if res.outcome == Outcome.OK:
            sub["score"] = res.body["score"]
            sub["version"] = res.body["version"]
        elif res.outcome == Outcome.INFO:
            self._uncertain(("grade", sid))

    # -- groups and dates per group or student (issue 26) -------------------------------

    def _live_groups(self, a: Author) -> list[uuid.UUID]:
        return [g for g in a.groups if not self.model.groups.get(g, {}).get("deleted", True)]

    def _learn(self, group_id: uuid.UUID, users: list[str] | None = None) -> None:
        """The group's members (acknowledged) now work in the published courses following it
        (as far as the workload knows; the checker judges what really happened)."""
        courses = {
            cid
            for (cid, g), on in self.model.follows.items()
            if g == group_id and on and cid in self.published
        }
        for user in self.model.members(group_id) if users is None else users:
            if user in self.by_group:
                self.by_group[user].update(courses)

    def _may_drop(self, group_id: uuid.UUID, users: list[str] | None = None) -> None:
        """Enrollments the group held (any member ever tried, any course that ever tried to
        follow it) may end: their facts are judged after the run (``Model.drops``)."""
        members = (
            {u for g, u in self.model.member_attempts if g == group_id} if users is None else users
        )
        courses = {c for c, g in self.model.follow_attempts if g == group_id}
        self.model.drops.update((u, c) for u in members for c in courses)

    async def create_group(self, c: httpx.AsyncClient, a: Author) -> None:
        name = self.title("group")
        res = await self.call(
            c, "create_group", "POST", "/api/v1/groups", json={"name": name, "description": "c"}
        )
        if res.outcome == Outcome.OK:
            gid = uuid.UUID(res.body["id"])
            self.model.groups[gid] = {"name": name, "creator": a.user.id, "deleted": False}
            self.model.wrote(gid, name)
            a.groups.append(gid)
        elif res.outcome == Outcome.INFO:
            self.model.indeterminate_titles.add(name)

    async def add_member(self, c: httpx.AsyncClient, a: Author) -> None:
        groups = self._live_groups(a)
        if not groups:
            return await self.create_group(c, a)
        if not self.students:
            return
        gid, s = self.rng.choice(groups[-4:]), self.rng.choice(self.students)
        self.model.member_attempts.add((gid, s.id))
        res = await self.call(c, "add_member", "PUT", f"/api/v1/groups/{gid}/members/{s.id}")
        if res.outcome == Outcome.OK:
            self.model.memberships[(gid, s.id)] = True
            self._learn(gid, [s.id])
        elif res.outcome == Outcome.INFO:
            self._uncertain(("member", gid, s.id))

    async def add_members(self, c: httpx.AsyncClient, a: Author) -> None:
        """A bulk add of a few students, sometimes with an id nobody has (reported back)."""
        groups = self._live_groups(a)
        if not groups:
            return await self.create_group(c, a)
        if not self.students:
            return
        gid = self.rng.choice(groups[-4:])
        users = [s.id for s in self.rng.sample(self.students, min(len(self.students), 4))]
        users = users[: self.rng.randint(1, len(users))]
        unknown = [str(uuid.uuid4())] if self.rng.random() < 0.2 else []
        self.model.member_attempts.update((gid, u) for u in users)
        res = await self.call(
            c,
            "add_members",
            "POST",
            f"/api/v1/groups/{gid}/members",
            json={"user_ids": users + unknown},
        )
        if res.outcome == Outcome.OK:
            done = [*res.body["added"], *res.body["already_members"]]
            for user in done:
                self.model.memberships[(gid, user)] = True
            self._learn(gid, done)
            self.model.stats["add_members:unknown"] += len(res.body["unknown_user_ids"])
        elif res.outcome == Outcome.INFO:
            self._uncertain(*(("member", gid, u) for u in users))

    async def remove_member(self, c: httpx.AsyncClient, a: Author) -> None:
        live = set(self._live_groups(a))
        pairs = sorted((g, u) for (g, u), on in self.model.memberships.items() if on and g in live)
        if not pairs:
            return await self.add_member(c, a)
        gid, user = self.rng.choice(pairs)
        self._may_drop(gid, [user])
        res = await self.call(c, "remove_member", "DELETE", f"/api/v1/groups/{gid}/members/{user}")
        if res.outcome == Outcome.OK:
            self.model.memberships[(gid, user)] = False
        elif res.outcome == Outcome.INFO:
            self._uncertain(("member", gid, user))

    async def follow_group(self, c: httpx.AsyncClient, a: Author) -> None:
        """The author's course follows a group: mostly one of theirs, sometimes another
        instructor's (refused, 404, unless it already follows a course of theirs: a
        group's id alone lets nobody enroll its members)."""
        courses = [cid for cid in a.courses[-5:] if cid in self.model.courses]
        groups = self._live_groups(a)
        if self.rng.random() < 0.2 or not groups:
            groups = [g for g, st in self.model.groups.items() if not st["deleted"]]
        if not courses or not groups:
            return await self.create_group(c, a)
        cid, gid = self.rng.choice(courses), self.rng.choice(groups[-6:])
        self.model.follow_attempts.add((cid, gid))
        res = await self.call(c, "follow", "PUT", f"/api/v1/courses/{cid}/groups/{gid}")
        if res.outcome == Outcome.OK:
            self.model.follows[(cid, gid)] = True
            self._learn(gid)
        elif res.outcome == Outcome.INFO:
            self._uncertain(("follow", cid, gid))

    async def unfollow_group(self, c: httpx.AsyncClient, a: Author) -> None:
        mine = set(a.courses)
        pairs = sorted(
            (cid, g) for (cid, g), on in self.model.follows.items() if on and cid in mine
        )
        if not pairs:
            return await self.follow_group(c, a)
        cid, gid = self.rng.choice(pairs)
        self.model.drops.update((u, cid) for g, u in self.model.member_attempts if g == gid)
        res = await self.call(c, "unfollow", "DELETE", f"/api/v1/courses/{cid}/groups/{gid}")
        if res.outcome == Outcome.OK:
            self.model.follows[(cid, gid)] = False
        elif res.outcome == Outcome.INFO:
            self._uncertain(("follow", cid, gid))

    async def delete_group(self, c: httpx.AsyncClient, a: Author) -> None:
        """Delete one of the author's older groups: its courses stop following it, its
        members are dropped unless held another way."""
        groups = self._live_groups(a)[:-2]
        if not groups:
            return await self.create_group(c, a)
        gid = self.rng.choice(groups)
        self._may_drop(gid)
        res = await self.call(c, "delete_group", "DELETE", f"/api/v1/groups/{gid}")
        if res.outcome == Outcome.OK:
            self.model.groups[gid]["deleted"] = True
            for key in [k for k in self.model.memberships if k[0] == gid]:
                self.model.memberships[key] = False
            for key in [k for k in self.model.follows if k[1] == gid]:
                self.model.follows[key] = False
        elif res.outcome == Outcome.INFO:
            self._uncertain(("group", gid))

    def _target(self, course_ids: set[uuid.UUID], a: Author) -> tuple[str, uuid.UUID] | None:
        """Whom an override is for: a group following one of ``course_ids`` or a student
        enrolled in one (as far as the workload knows), sometimes neither (422)."""
        if self.rng.random() < 0.5:
            groups = [g for cid in course_ids for g in self.model.followed(cid)]
            if not groups or self.rng.random() < 0.1:
                groups = self._live_groups(a)
            return ("group", self.rng.choice(sorted(groups))) if groups else None
        users = sorted(
            u
            for u in self.enrolled.keys() | self.by_group.keys()
            if course_ids & (self.enrolled.get(u, set()) | self.by_group.get(u, set()))
        )
        if not users or self.rng.random() < 0.1:
            users = sorted(self.enrolled)
        return ("user", uuid.UUID(self.rng.choice(users))) if users else None

    def _date(self) -> dt.datetime:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        return self.rng.choice(
            [now - dt.timedelta(days=2), now - dt.timedelta(hours=1), now + dt.timedelta(days=30)]
        )

    async def set_unlock_override(self, c: httpx.AsyncClient, a: Author) -> None:
        mine = sorted((cid, mid) for cid, mid in self.model.links if cid in a.courses)
        if not mine:
            return await self.attach(c, a)
        cid, mid = self.rng.choice(mine[-12:])
        target = self._target({cid}, a)
        if target is None:
            return await self.follow_group(c, a)
        kind, tid = target
        when = self._date()
        key = (cid, mid, kind, tid)
        res = await self.call(
            c,
            "set_unlock_override",
            "PUT",
            f"/api/v1/courses/{cid}/modules/{mid}/overrides/{kind}s/{tid}",
            json={"unlock_at": when.isoformat()},
        )
        if res.outcome == Outcome.OK:
            self.model.unlock_overrides[key] = when
        elif res.outcome == Outcome.INFO:
            self._uncertain(("unlock", *key))

    async def remove_unlock_override(self, c: httpx.AsyncClient, a: Author) -> None:
        mine = set(a.courses)
        keys = sorted(
            (k for k, v in self.model.unlock_overrides.items() if v is not None and k[0] in mine),
            key=str,
        )
        if not keys:
            return await self.set_unlock_override(c, a)
        key = self.rng.choice(keys)
        cid, mid, kind, tid = key
        res = await self.call(
            c,
            "remove_unlock_override",
            "DELETE",
            f"/api/v1/courses/{cid}/modules/{mid}/overrides/{kind}s/{tid}",
        )
        if res.outcome == Outcome.OK:
            self.model.unlock_overrides[key] = None
        elif res.outcome == Outcome.INFO:
            self._uncertain(("unlock", *key))

    def _gradable_posts(self, a: Author) -> list[uuid.UUID]:
        return [p for p in self._live_posts(a) if self.model.posts[p]["kind"] in GRADABLE]

    async def set_due_override(self, c: httpx.AsyncClient, a: Author) -> None:
        posts = self._gradable_posts(a)
        if not posts:
            return await self.create_post(c, a)
        pid = self.rng.choice(posts[-20:])
        module = self.model.posts[pid]["module_id"]
        courses = {cid for cid, mid in self.model.links if mid == module}
        target = self._target(courses, a) if courses else None
        if target is None:
            return await self.attach(c, a)
        kind, tid = target
        when = self._date()
        key = (pid, kind, tid)
        res = await self.call(
            c,
            "set_due_override",
            "PUT",
            f"/api/v1/posts/{pid}/overrides/{kind}s/{tid}",
            json={"due_at": when.isoformat()},
        )
        if res.outcome == Outcome.OK:
            self.model.due_overrides[key] = when
        elif res.outcome == Outcome.INFO:
            self._uncertain(("due", *key))

    async def remove_due_override(self, c: httpx.AsyncClient, a: Author) -> None:
        mine = set(self._live_posts(a))
        keys = sorted(
            (k for k, v in self.model.due_overrides.items() if v is not None and k[0] in mine),
            key=str,
        )
        if not keys:
            return await self.set_due_override(c, a)
        key = self.rng.choice(keys)
        pid, kind, tid = key
        res = await self.call(
            c, "remove_due_override", "DELETE", f"/api/v1/posts/{pid}/overrides/{kind}s/{tid}"
        )
        if res.outcome == Outcome.OK:
            self.model.due_overrides[key] = None
        elif res.outcome == Outcome.INFO:
            self._uncertain(("due", *key))

    # -- students ----------------------------------------------------------------------

    async def _student_loop(self, s: Any, stop: asyncio.Event) -> None:
        ops: list[tuple[int, Callable[[httpx.AsyncClient], Awaitable[None]]]] = [
            (12, lambda c: self.enroll(c, s)),
            (40, lambda c: self.complete(c, s)),
            (8, lambda c: self.uncomplete(c, s)),
            (2, lambda c: self.drop(c, s)),
            (12, lambda c: self.read_progress(c, s)),
            (5, lambda c: self.browse(c, s)),
            (12, lambda c: self.submit(c, s)),
            (4, lambda c: self.read_grades(c, s)),
            (15, lambda c: self.view(c, s)),
            (2, lambda c: self.list_posts(c, s)),
            (1, lambda c: self.my_groups(c, s)),
        ]
        await self._loop(s, stop, ops)

    async def enroll(self, c: httpx.AsyncClient, s: Any) -> None:
        choices = [cid for cid in self.published if cid not in self.enrolled[s.id]]
        if not choices:
            return await self.browse(c, s)
        cid = self.rng.choice(choices)
        self.model.attempted_pairs.add((s.id, cid))
        res = await self.call(c, "enroll", "POST", f"/api/v1/courses/{cid}/enrollments")
        if res.outcome == Outcome.OK:
            self.model.enrollments[(s.id, cid)] = "active"
            self.enrolled[s.id].add(cid)
        elif res.outcome == Outcome.INFO:
            self._uncertain((s.id, cid))
            self.enrolled[s.id].add(cid)
        elif res.status == 409:
            self.enrolled[s.id].add(cid)  # already enrolled (e.g. after an indeterminate try)

    def _completable(self, s: Any) -> list[uuid.UUID]:
        courses = self._courses_of(s)
        modules = {mid for cid, mid in self.model.links if cid in courses}
        return [
            pid
            for pid, p in self.model.posts.items()
            if p["module_id"] in modules and p["status"] == "published" and not p["deleted"]
        ]

    async def complete(self, c: httpx.AsyncClient, s: Any) -> None:
        posts = self._completable(s)
        if not posts:
            return await self.enroll(c, s)
        # Mostly posts the student can mark (their rule is mark_done); sometimes any (409).
        markable = [p for p in posts if self.model.posts[p].get("rule", ("",))[0] == "mark_done"]
        if markable and self.rng.random() < 0.85:
            posts = markable
        pid = self.rng.choice(posts[-30:])
        self.model.attempted_pairs.add((s.id, pid))
        res = await self.call(c, "complete", "PUT", f"/api/v1/me/completions/{pid}")
        if res.outcome == Outcome.OK:
            self.model.completions[(s.id, pid)] = True
        elif res.outcome == Outcome.INFO:
            self._uncertain((s.id, pid))

    async def view(self, c: httpx.AsyncClient, s: Any) -> None:
        """Open a post (a view: it completes a ``view`` post, once unlocked)."""
        posts = self._completable(s)
        if not posts:
            return await self.browse(c, s)
        pid = self.rng.choice(posts[-30:])
        self.model.attempted_pairs.add((s.id, pid))
        res = await self.call(c, "view", "GET", f"/api/v1/posts/{pid}")
        if res.outcome == Outcome.OK:
            self.model.views.add((s.id, pid))

    async def list_posts(self, c: httpx.AsyncClient, s: Any) -> None:
        """List a module's posts: never a view."""
        courses = self._courses_of(s)
        modules = sorted({mid for cid, mid in self.model.links if cid in courses})
        if not modules:
            return await self.browse(c, s)
        mid = self.rng.choice(modules)
        await self.call(c, "list_posts", "GET", f"/api/v1/modules/{mid}/posts")

    async def uncomplete(self, c: httpx.AsyncClient, s: Any) -> None:
        done = [p for (u, p), v in self.model.completions.items() if u == s.id and v]
        if not done:
            return await self.complete(c, s)
        pid = self.rng.choice(done)
        res = await self.call(c, "uncomplete", "DELETE", f"/api/v1/me/completions/{pid}")
        if res.outcome == Outcome.OK:
            self.model.completions[(s.id, pid)] = False
        elif res.outcome == Outcome.INFO:
            self._uncertain((s.id, pid))

    async def drop(self, c: httpx.AsyncClient, s: Any) -> None:
        """Drop the student's own enrollment; sometimes one a group holds (409 when only
        groups hold it; with their own source too, only that source goes: 204)."""
        mine = [
            cid for (u, cid), st in self.model.enrollments.items() if u == s.id and st == "active"
        ]
        held = sorted(self.by_group.get(s.id, set()))
        if held and (not mine or self.rng.random() < 0.3):
            mine = held
        if not mine:
            return
        cid = self.rng.choice(mine)
        self.model.drops.add((s.id, cid))
        res = await self.call(c, "drop", "DELETE", f"/api/v1/courses/{cid}/enrollments/me")
        if res.outcome == Outcome.OK:
            self.model.enrollments[(s.id, cid)] = "dropped"
            self.enrolled[s.id].discard(cid)
        elif res.outcome == Outcome.INFO:
            self._uncertain((s.id, cid))
        elif res.status == 409:
            self.model.stats["drop:held_by_group"] += 1

    def _courses_of(self, s: Any) -> set[uuid.UUID]:
        return self.enrolled.get(s.id, set()) | self.by_group.get(s.id, set())

    async def my_groups(self, c: httpx.AsyncClient, s: Any) -> None:
        await self.call(c, "my_groups", "GET", "/api/v1/me/groups")

    async def submit(self, c: httpx.AsyncClient, s: Any) -> None:
        """Hand in work for a gradable post (a quiz: random answers, graded at once), with an
        Idempotency-Key: an indeterminate try is retried once with the same key, so it
        either settles into the one submission or stays indeterminate."""
        gradable = [
            p
            for p in self._completable(s)
            if self.model.posts[p].get("kind") in ("assignment", "quiz")
        ]
        if not gradable:
            return await self.complete(c, s)
        pid = self.rng.choice(gradable[-30:])
        post = self.model.posts[pid]
        if post["kind"] == "quiz":
            body: dict[str, Any] = {
                "answers": [self.rng.choice([None, *range(n)]) for n in post["choices"]]
            }
        else:
            body = {"body": f"work of {self.title('work')}"}
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        url = f"/api/v1/posts/{pid}/submissions"
        self.model.attempted_pairs.add((s.id, pid))
        res = await self.call(c, "submit", "POST", url, json=body, headers=headers)
        if res.outcome == Outcome.INFO:
            await asyncio.sleep(0.3)
            res = await self.call(c, "submit", "POST", url, json=body, headers=headers)
        pair = (s.id, pid)
        if res.outcome == Outcome.OK:
            sid = uuid.UUID(res.body["id"])
            self.model.submissions[sid] = {
                "post_id": pid,
                "user": s.id,
                "kind": post["kind"],
                "score": res.body["score"],
                "version": res.body["version"],
            }
            self.score_written(sid, res.body["score"])
            self.model.submits_ok[pair] += 1
        elif res.outcome == Outcome.INFO:
            self.model.submits_info[pair] += 1

    async def read_grades(self, c: httpx.AsyncClient, s: Any) -> None:
        courses = self._courses_of(s)
        if not courses:
            return await self.browse(c, s)
        cid = self.rng.choice(sorted(courses))
        await self.call(c, "read_grades", "GET", f"/api/v1/me/courses/{cid}/grades")

    async def read_progress(self, c: httpx.AsyncClient, s: Any) -> None:
        courses = self._courses_of(s)
        if not courses:
            return await self.browse(c, s)
        cid = self.rng.choice(sorted(courses))
        await self.call(c, "read_progress", "GET", f"/api/v1/me/courses/{cid}/progress")

    async def browse(self, c: httpx.AsyncClient, s: Any) -> None:
        await self.call(c, "browse", "GET", "/api/v1/courses", params={"limit": 20})


GRADABLE = ("assignment", "quiz")


def _default_rule(kind: str) -> tuple[str, float | None]:
    return ("submit" if kind in GRADABLE else "mark_done"), None


def _rule_key(completion: dict[str, Any]) -> tuple[str, float | None]:
    return completion["rule"], completion.get("min_score")


def _instant(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


async def run_for(workload: Workload, seconds: float) -> Model:
    stop = asyncio.Event()
    task = asyncio.create_task(workload.run(stop))
    started = time.monotonic()
    while time.monotonic() - started < seconds and not task.done():
        await asyncio.sleep(0.1)
    stop.set()
    return await task

# ruff: noqa: E501
"""The web rows of ``make bench`` (issues 24 and 25): the pages people use
(``services/web``, server-rendered over the public API, docs/web.md), each against the API
calls it makes, measured in the same run.

- **Time per page**: a signed-in person's page through the gateway (``--web-samples``
  sequential requests on one keep-alive connection, with the session cookie) against
  **the API calls that page makes**, made by the bench itself through the gateway with
  the same access token (opened from the session cookie the web sealed) and the same
  headers, in the same order and concurrency as the page's code makes them
  (``pages/learn.py``, ``teach.py``, ``grading.py``). Page and calls alternate sample by
  sample (which goes first alternates too), so drift hits both alike; each figure is the
  median over ``--repeats`` of the per-repeat p50, the ratio taken per repeat; p99 over
  all the repeats' samples. Before timing, one page request is matched against Caddy's
  access log: the calls the web made (its user agent) must be exactly the listed ones.
  Caddy's log of the timed window also says how long each API call took when the web
  made it and when the bench did (the same call at the gateway), and how long the page
  took at the gateway.
- **Bytes on a first visit**: the page's HTML and every asset it references (stylesheet,
  scripts, images), fetched as a browser without a cache (``Accept-Encoding: gzip,
  deflate, br``), counted as they come over the wire (compressed if the gateway
  compresses, raw otherwise); with what gzip would make of them (for the table).

Pages: a student's **course page** (``/courses/{id}``: outline and progress, a course of
5 modules x 6 posts, 4 text : 1 quiz : 1 assignment, a few posts done), a **post page**
(a text post) and a **quiz's post page** (with one attempt); the instructor's **course
editor** (``/teach/courses/{id}``: the course, its outline, the author's module library)
and the **gradebook page** (``/teach/courses/{id}/gradebook``, first page) of a course of
``--students`` (10,000) students x ``--gradebook-posts`` (50) gradable posts. The
gradebook course is section 7's when it ran in the same run (created through catalog by
the instructor, then seeded straight into assessment's tables by
``assessment.seed_gradebook``), else made the same way here.

Sessions: the web's own sign-in form (``GET /login`` for the CSRF token and its cookie,
``POST /login``), as a browser does; the bench knows the users' passwords
(``stack.Api.credentials``).

``run.py`` calls :func:`measure`; ``python bench/focus.py --sections web`` runs it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import assessment
import events
import httpx
import psycopg
import stack as stackmod

RATIO_GOAL = 1.3  # a page's p50 against its API calls' p50
BYTES_GOAL = 150_000  # HTML + assets on a first visit
GRADEBOOK_PAGE = 50  # grading.GRADEBOOK_PAGE: the web asks the API for 50 students a page
TITLES = {
    "course": "course page",
    "post": "post page (text)",
    "quiz": "post page (quiz)",
    "editor": "course editor",
    "gradebook": "gradebook page",
}
PAGE_AGENT = "syllabus-bench-browser"
CALLS_AGENT = "syllabus-bench-api"
WEB_AGENT = "syllabus-web"
FORWARDED_FOR = "127.0.0.1"  # what Caddy tells the web, which passes it on to the API

HOW = {
    "page": "GET of the page through the gateway with the signed-in session cookie, one "
    "keep-alive connection, --web-samples sequential requests per repeat (httpx, after 5 "
    "warm-up requests); a page must answer 200 (no redirect) or it counts as an error",
    "calls": "the API calls that page makes (read from its code in services/web, checked "
    "against Caddy's access log of one page request: the calls with the web's user agent), "
    "made by the bench through the gateway with the same access token and headers "
    "(Authorization from the session cookie, opened with the web's secret; "
    "Syllabus-Consistency while the session would send it; X-Forwarded-For), in the same "
    "order and concurrency (asyncio.gather of each stage's calls, stages one after another), "
    "one httpx client with a keep-alive pool as the web has",
    "interleaving": "page and calls alternate sample by sample, which goes first alternates; "
    "cases in turn, repeat by repeat; the ratio is page p50 / calls p50 per repeat, the row "
    "shows the median of the repeats; p99 over every repeat's samples",
    "gateway_split": "Caddy's JSON access log over the timed window: the page's duration at "
    "the gateway, and each API call's when the web made it vs when the bench did (p50); per "
    "page, the web's own share = its time at the gateway less the time during which at least "
    "one of the web's API calls for it was in flight (pages reach the web one at a time), p50",
    "web_cpu": "the web process's utime+stime (/proc/<pid>/stat; pid found by its listening "
    "port) over each repeat of a page, divided by the pages served (only pages reach it)",
    "bytes": "a browser without a cache: the HTML, then each stylesheet, script and image it "
    "references, with Accept-Encoding gzip, deflate, br; bytes as read from the socket "
    "(httpx num_bytes_downloaded: compressed when the gateway compresses); headers not counted",
    "sessions": "the web's sign-in form: GET /login (its cookie and CSRF token), POST /login "
    "with username, password and the token; the cookie the web sets is the session",
}

MARKDOWN = (
    "## What this part covers\n\n"
    "A short introduction with **strong** and *emphasised* words, a [link](https://example.com/docs) "
    "and `inline code`. " + "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 6 + "\n\n"
    "### Steps\n\n"
    + "".join(
        f"{i}. Step {i}: read the section, then try the exercise on your own.\n"
        for i in range(1, 7)
    )
    + "\n- a point\n- another point, with a longer explanation that wraps onto a second line\n- a last one\n\n"
    "```python\ndef mean(xs: list[float]) -> float:\n    return sum(xs) / len(xs)\n```\n\n"
    "> A quotation to think about before the next part.\n\n"
    + ("Sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. " * 8 + "\n\n")
    * 3
)


def say(msg: str) -> None:
    print(f"bench | {msg}", flush=True)


def pct(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return round(s[min(len(s) - 1, int(p / 100 * len(s)))], 3)


# ---------------------------------------------------------------- fixtures


def learner_course(api: stackmod.Api, instructor: str, admin: str) -> dict[str, Any]:
    """A published course of 5 modules x 6 posts (4 text, 1 quiz of 5 questions, 1
    assignment), through the API; a new student enrolled, who has done the first 3 text
    posts and answered the first quiz once."""
    course = api.call(
        "POST",
        "/api/v1/courses",
        instructor,
        expect=201,
        json={
            "title": "Web course: statistics for people in a hurry",
            "description": "A course to read on the web. " * 10,
        },
    )["id"]
    texts: list[str] = []
    quizzes: list[str] = []
    for m in range(5):
        module = api.call(
            "POST",
            "/api/v1/modules",
            instructor,
            expect=201,
            json={"title": f"Part {m + 1}: a module with a title of some length"},
        )["id"]
        for p in range(6):
            if p == 4:
                content: dict[str, Any] = {
                    "kind": "quiz",
                    "max_points": 10,
                    "attempts": 3,
                    "questions": [
                        {
                            "prompt": f"Question {i + 1}: which of these is right?",
                            "choices": ["the first", "the second", "the third", "the fourth"],
                            "answer_index": i % 4,
                        }
                        for i in range(5)
                    ],
                }
            elif p == 5:
                content = {
                    "kind": "assignment",
                    "max_points": 20,
                    "instructions": "Write a page about what you learned.\n\n" + MARKDOWN[:800],
                }
            else:
                content = {"kind": "text", "body": MARKDOWN}
            post = api.call(
                "POST",
                f"/api/v1/modules/{module}/posts",
                instructor,
                expect=201,
                json={
                    "title": f"{m + 1}.{p + 1} A post title",
                    "content": content,
                    "status": "published",
                },
            )["id"]
            (quizzes if p == 4 else texts if p < 4 else []).append(post)
        api.call(
            "POST",
            f"/api/v1/courses/{course}/modules",
            instructor,
            expect=201,
            json={"module_id": module},
        )
    api.call("PATCH", f"/api/v1/courses/{course}", instructor, json={"status": "published"})
    student_id, student = api.user(admin)
    api.call("POST", f"/api/v1/courses/{course}/enrollments", student, expect=201)
    deadline = time.monotonic() + 30
    done = 0
    while done < 3:  # completions need the posts and the enrollment in progress (events)
        r = api.http.put(
            f"/api/v1/me/completions/{texts[done]}", headers={"Authorization": f"Bearer {student}"}
        )
        if r.status_code in (200, 201, 204):
            done += 1
        elif time.monotonic() > deadline:
            raise RuntimeError(f"completion refused: {r.status_code} {r.text[:300]}")
        else:
            time.sleep(0.2)
    while True:  # one attempt at the first quiz (assessment needs the post and enrollment)
        r = api.http.post(
            f"/api/v1/posts/{quizzes[0]}/submissions",
            headers={"Authorization": f"Bearer {student}"},
            json={"answers": [0, 1, 2, 0, 0]},
        )
        if r.status_code == 201:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"quiz not submittable: {r.status_code} {r.text[:300]}")
        time.sleep(0.2)
    return {
        "course": course,
        "text_post": texts[3],
        "quiz": quizzes[0],
        "student": student,
        "student_id": student_id,
        "posts": 30,
    }


def gradebook_course(
    stack: stackmod.Stack, api: stackmod.Api, instructor: str, students: int, posts: int
) -> dict[str, Any]:
    """Section 7's gradebook made here: the course created through catalog by the
    instructor (so the web can read it), its events applied, then its modules, posts,
    enrollments and grades seeded straight into assessment's tables."""
    course = api.call(
        "POST", "/api/v1/courses", instructor, expect=201, json={"title": "Gradebook course"}
    )["id"]
    stackmod.settle(stack)
    owner = api.call("GET", "/api/v1/users/me", instructor)["id"]
    t0 = time.monotonic()
    with psycopg.connect(
        events.libpq(stack.db_url("syllabus_assessment")), autocommit=True
    ) as conn:
        seed = assessment.seed_gradebook(conn, owner, students, posts, course_id=course)
    seed["seconds"] = round(time.monotonic() - t0, 1)
    return seed


def sign_in(base: str, username: str, password: str) -> str:
    """The session cookie the web sets after its sign-in form, as a browser gets it."""
    with httpx.Client(base_url=base, timeout=30, headers={"User-Agent": PAGE_AGENT}) as http:
        form = http.get("/login")
        found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        if form.status_code != 200 or not found:
            raise RuntimeError(f"GET /login: {form.status_code}, no CSRF token")
        r = http.post(
            "/login",
            data={
                "username": username,
                "password": password,
                "next": "/",
                "csrf_token": found.group(1),
            },
        )
        if r.status_code != 303 or r.headers.get("location") != "/":
            raise RuntimeError(f"POST /login: {r.status_code} {r.text[:300]}")
        cookie = http.cookies.get("syllabus_session")
        if not cookie:
            raise RuntimeError("POST /login set no session cookie")
        return cookie


# ---------------------------------------------------------------- one case


@dataclass
class Case:
    name: str
    label: str
    page: str
    cookie: str
    stages: list[list[str]]  # each stage's calls run together; stages one after another
    page_ms: list[list[float]] = field(default_factory=list)  # per repeat
    calls_ms: list[list[float]] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # the web's CPU per page, per repeat
    errors: int = 0
    seen: list[str] = field(default_factory=list)

    @property
    def calls(self) -> list[str]:
        return [c for stage in self.stages for c in stage]

    def shape(self) -> str:
        return " → ".join(" ∥ ".join(_short(c) for c in stage) for stage in self.stages)


def _short(uri: str) -> str:
    """``/api/v1/me/courses/<id>/progress`` → ``me/courses/{id}/progress`` (for the table)."""
    uri = uri.removeprefix("/api/v1/")
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "{id}", uri)


class Sessions:
    """Opens the web's session cookies (the bench's stack gives the web its secret) for
    the token and the read-your-writes token the web would send."""

    def __init__(self, secret: str) -> None:
        from syllabus_web.session import SessionCodec
        from syllabus_web.settings import Settings

        self.settings = Settings(session_secret=secret)
        self.codec = SessionCodec(secret, self.settings.session_max_age_seconds)

    def headers(self, cookie: str) -> dict[str, str]:
        session = self.codec.open(cookie)
        if session is None or not session.access_token:
            raise RuntimeError("the session cookie does not open (or is signed out)")
        h = {"Authorization": f"Bearer {session.access_token}", "X-Forwarded-For": FORWARDED_FOR}
        keep = self.settings.consistency_keep_seconds
        if session.consistency and time.time() - session.consistency_at <= keep:
            h["Syllabus-Consistency"] = session.consistency
        return h


async def _page(http: httpx.AsyncClient, case: Case) -> float | None:
    t0 = time.perf_counter()
    r = await http.get(case.page, cookies={"syllabus_session": case.cookie})
    took = (time.perf_counter() - t0) * 1000
    if r.status_code != 200:
        case.errors += 1
        return None
    if fresh := r.cookies.get("syllabus_session"):
        case.cookie = fresh  # the web rewrote the session (a refresh, a dropped token)
    return took


async def _calls(http: httpx.AsyncClient, case: Case, headers: dict[str, str]) -> float | None:
    t0 = time.perf_counter()
    ok = True
    for stage in case.stages:
        answers = await asyncio.gather(*(http.get(uri, headers=headers) for uri in stage))
        ok = ok and all(a.status_code == 200 for a in answers)
    took = (time.perf_counter() - t0) * 1000
    if not ok:
        case.errors += 1
        return None
    return took


class CaddyLog:
    """Caddy's JSON access log of the bench's stack, read from an offset."""

    def __init__(self, stack: stackmod.Stack) -> None:
        self.path = stack.data_dir / "stack" / "logs" / "caddy.log"

    def offset(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def since(self, offset: int) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as f:
                f.seek(offset)
                data = f.read()
        except OSError:
            return []
        out = []
        for line in data.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            req = entry.get("request") or {}
            agent = ((req.get("headers") or {}).get("User-Agent") or [""])[0]
            ms = float(entry.get("duration") or 0) * 1000
            end = float(entry.get("ts") or 0) * 1000  # written once the response is out
            out.append(
                {
                    "agent": agent,
                    "uri": req.get("uri", ""),
                    "ms": ms,
                    "start": end - ms,
                    "end": end,
                    "status": entry.get("status"),
                }
            )
        return out


async def _check_calls(page: httpx.AsyncClient, case: Case, log: CaddyLog) -> dict[str, Any]:
    """One page request; the API calls the web made for it (Caddy's log, the web's user
    agent) must be exactly the case's list."""
    at = log.offset()
    await _page(page, case)
    seen: list[str] = []
    for _ in range(20):
        await asyncio.sleep(0.1)
        entries = log.since(at)
        if any(e["uri"] == case.page and e["agent"] == PAGE_AGENT for e in entries):
            seen = [e["uri"] for e in entries if e["agent"] == WEB_AGENT]
            break
    case.seen = seen
    return {
        "expected": sorted(case.calls),
        "seen": sorted(seen),
        "match": sorted(seen) == sorted(case.calls),
    }


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (/proc/<pid>/stat)."""
    import os

    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure_cases(
    base: str,
    cases: list[Case],
    sessions: Sessions,
    samples: int,
    repeats: int,
    log: CaddyLog,
    web_pid: int | None,
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with (
        httpx.AsyncClient(
            base_url=base, timeout=60, limits=limits, headers={"User-Agent": PAGE_AGENT}
        ) as page,
        httpx.AsyncClient(base_url=base, timeout=60, headers={"User-Agent": CALLS_AGENT}) as calls,
    ):
        checks = {c.name: await _check_calls(page, c, log) for c in cases}
        for case in cases:
            if not checks[case.name]["match"]:
                say(
                    f"  {case.name}: the web called {checks[case.name]['seen']}, the bench lists {checks[case.name]['expected']}"
                )
        for case in cases:  # warm-up: connections, caches, the web's first renders
            for _ in range(5):
                await _page(page, case)
                await _calls(calls, case, sessions.headers(case.cookie))
        at = log.offset()
        for r in range(repeats):
            for case in cases:
                p_ms: list[float] = []
                c_ms: list[float] = []
                cpu0 = cpu_seconds(web_pid) if web_pid else 0.0
                for i in range(samples):
                    headers = sessions.headers(case.cookie)
                    if i % 2:
                        c = await _calls(calls, case, headers)
                        p = await _page(page, case)
                    else:
                        p = await _page(page, case)
                        c = await _calls(calls, case, headers)
                    if p is not None:
                        p_ms.append(p)
                    if c is not None:
                        c_ms.append(c)
                case.page_ms.append(p_ms)
                case.calls_ms.append(c_ms)
                if web_pid and p_ms:
                    # Only the pages reach the web: its CPU over the run is theirs.
                    case.cpu_ms.append((cpu_seconds(web_pid) - cpu0) * 1000 / len(p_ms))
                say(
                    f"  {case.name} #{r + 1}: page p50/p99 {pct(p_ms, 50)}/{pct(p_ms, 99)} ms, "
                    f"its calls {pct(c_ms, 50)}/{pct(c_ms, 99)} ms; web CPU "
                    f"{round(case.cpu_ms[-1], 2) if case.cpu_ms else '-'} ms/page; errors {case.errors}"
                )
        await asyncio.sleep(0.3)
        entries = log.since(at)
    return {"checks": checks, "entries": entries}


def _gateway_split(case: Case, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """p50 at the gateway of the page, and of each of its calls as the web made them and as
    the bench did (the same URI: it may be shared with another page's calls)."""

    def p50(agent: str, uri: str) -> float | None:
        return pct([e["ms"] for e in entries if e["agent"] == agent and e["uri"] == uri], 50)

    # Pages reach the web one at a time: the web's calls inside a page's time at the gateway
    # are that page's. The time with at least one of them in flight is the API's share; the
    # rest of the page's time is the web's own (and the hop from Caddy to it and back).
    calls = sorted((e for e in entries if e["agent"] == WEB_AGENT), key=lambda e: e["start"])
    own: list[float] = []
    waiting: list[float] = []
    for page in (e for e in entries if e["agent"] == PAGE_AGENT and e["uri"] == case.page):
        inside = [
            c for c in calls if c["start"] >= page["start"] - 1 and c["end"] <= page["end"] + 1
        ]
        busy, edge = 0.0, float("-inf")
        for c in inside:
            busy += max(0.0, c["end"] - max(c["start"], edge))
            edge = max(edge, c["end"])
        own.append(page["ms"] - busy)
        waiting.append(busy)
    return {
        "page_p50_ms": p50(PAGE_AGENT, case.page),
        "calls_p50_ms": {
            _short(uri): {"by_web": p50(WEB_AGENT, uri), "by_bench": p50(CALLS_AGENT, uri)}
            for uri in case.calls
        },
        "web_waiting_p50_ms": pct(waiting, 50),
        "web_own_ms": pct(own, 50),
    }


# ---------------------------------------------------------------- bytes on a first visit

ASSET = re.compile(
    r"<(?:link[^>]*\brel=\"(?:stylesheet|icon|preload|modulepreload|manifest)\"[^>]*\bhref|script[^>]*\bsrc|img[^>]*\bsrc)=\"([^\"]+)\"",
    re.I,
)


def first_visit(base: str, path: str, cookie: str) -> dict[str, Any]:
    """The page and every asset it references, fetched without a cache; bytes as read."""
    headers = {
        "User-Agent": PAGE_AGENT,
        "Accept-Encoding": "gzip, deflate, br",
        "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
    }
    with httpx.Client(base_url=base, timeout=60, headers=headers) as http:
        page = http.get(path, cookies={"syllabus_session": cookie})
        if page.status_code != 200:
            raise RuntimeError(f"first visit {path}: {page.status_code}")
        parts = [("html", page)]
        for ref in dict.fromkeys(ASSET.findall(page.text)):
            if ref.startswith("data:"):
                continue
            parts.append((ref, http.get(ref.replace("&amp;", "&"))))
        out: dict[str, Any] = {"parts": {}}
        for name, r in parts:
            out["parts"][name] = {
                "status": r.status_code,
                "wire_bytes": r.num_bytes_downloaded,
                "raw_bytes": len(r.content),
                "gzip_bytes": len(gzip.compress(r.content, 6)),
                "encoding": r.headers.get("content-encoding"),
                "cache_control": r.headers.get("cache-control"),
            }
        ps = out["parts"].values()
        out["total_wire_bytes"] = sum(p["wire_bytes"] for p in ps)
        out["total_raw_bytes"] = sum(p["raw_bytes"] for p in ps)
        out["total_gzip_bytes"] = sum(p["gzip_bytes"] for p in ps)
        out["compressed"] = any(p["encoding"] for p in ps)
        out["errors"] = sum(1 for p in ps if p["status"] != 200)
        return out


# ---------------------------------------------------------------- the section


def measure(
    stack: stackmod.Stack,
    api: stackmod.Api,
    fx: stackmod.Fixtures,
    args: argparse.Namespace,
    gradebook: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Section 10, with run.py's arguments (``--web-samples``, ``--repeats``,
    ``--students``, ``--gradebook-posts``); ``gradebook``: section 7's result, whose
    course is reused when it is in catalog."""
    if "web" not in stack.services:
        say("10. web: not in the stack (deploy/stack.toml): skipped")
        return {"skipped": "web is not in the stack"}
    if not stack.web_secret:
        return {"skipped": "the stack was started without the web's secret (stack.web_secret)"}
    t0 = time.perf_counter()
    samples, reps = args.web_samples, args.repeats
    say(
        f"10. web: pages through the gateway vs the API calls each makes ({samples} sequential "
        f"requests x {reps} repeats); bytes on a first visit"
    )
    instructor = fx.instructor
    if instructor not in api.credentials:
        return {"skipped": "the instructor's password is not known (stack.Api.credentials)"}
    learn = learner_course(api, instructor, fx.admin)
    seed = (gradebook or {}).get("seed") or {}
    reused = bool(seed.get("in_catalog") and seed.get("course_id"))
    if not reused:
        say(
            f"  gradebook course: {args.students:,} students x {args.gradebook_posts} posts, created in catalog, seeded into assessment"
        )
        seed = gradebook_course(stack, api, instructor, args.students, args.gradebook_posts)
        say(f"  seeded in {seed['seconds']} s")
    book = seed["course_id"]
    students = seed.get("students") or (gradebook or {}).get("students") or args.students
    stackmod.settle(stack)
    student = sign_in(stack.gateway, *api.credentials[learn["student"]])
    teacher = sign_in(stack.gateway, *api.credentials[instructor])
    sessions = Sessions(stack.web_secret)
    me = api.call("GET", "/api/v1/users/me", instructor)["id"]
    c, q, t = learn["course"], learn["quiz"], learn["text_post"]
    api_c = f"/api/v1/courses/{c}"
    progress = f"/api/v1/me/courses/{c}/progress"
    cases = [
        Case(
            "course",
            f"course page (student; {learn['posts']} posts in 5 modules, 10 gradable)",
            f"/courses/{c}",
            student,
            [[api_c, progress], [f"/api/v1/me/courses/{c}/grades"]],
        ),
        Case(
            "post",
            "post page (student; a text post of ~3 kB Markdown)",
            f"/courses/{c}/posts/{t}",
            student,
            [[api_c, progress], [f"/api/v1/posts/{t}"]],
        ),
        Case(
            "quiz",
            "post page (student; a quiz, one attempt made)",
            f"/courses/{c}/posts/{q}",
            student,
            [
                [api_c, progress],
                [
                    f"/api/v1/posts/{q}",
                    f"/api/v1/posts/{q}/submissions?user_id={learn['student_id']}&limit=100",
                    # the student's own due date (issue 26)
                    f"/api/v1/me/courses/{c}/grades",
                ],
            ],
        ),
        Case(
            "editor",
            "course editor (instructor; 5 modules, the author's module library)",
            f"/teach/courses/{c}",
            teacher,
            [
                [
                    api_c,
                    f"/api/v1/courses/{c}/modules",
                    f"/api/v1/modules?creator_id={me}&limit=100",
                    # its groups, the groups to follow, its dates per group and student (26)
                    f"/api/v1/courses/{c}/groups",
                    "/api/v1/groups?limit=100",
                    f"/api/v1/courses/{c}/overrides",
                ]
            ],
        ),
        Case(
            "gradebook",
            f"gradebook page, first (instructor; {students:,} students x {args.gradebook_posts} posts, {GRADEBOOK_PAGE} a page)",
            f"/teach/courses/{book}/gradebook",
            teacher,
            [
                [
                    f"/api/v1/courses/{book}",
                    f"/api/v1/courses/{book}/groups?average=false",  # the filter (26)
                    f"/api/v1/courses/{book}/grades?limit={GRADEBOOK_PAGE}",
                ]
            ],
        ),
    ]
    log = CaddyLog(stack)
    web_pid = assessment.listening_pid(stack.services["web"])
    got = asyncio.run(_measure_cases(stack.gateway, cases, sessions, samples, reps, log, web_pid))
    from run import spread

    res: dict[str, Any] = {
        "how": HOW,
        "samples": samples,
        "repeats": reps,
        "gradebook_reused_from_section_7": reused,
        "gradebook_seed": {k: v for k, v in seed.items() if k != "course_id"},
        "pages": {},
        "bytes": {},
    }
    for case in cases:
        ratios = [
            statistics.median(p) / statistics.median(c)
            for p, c in zip(case.page_ms, case.calls_ms, strict=True)
            if p and c
        ]
        every_page = [x for run in case.page_ms for x in run]
        every_call = [x for run in case.calls_ms for x in run]
        p99_page, p99_calls = pct(every_page, 99), pct(every_call, 99)
        res["pages"][case.name] = {
            "label": case.label,
            "page": _short(case.page),
            "calls": case.shape(),
            "calls_check": got["checks"][case.name],
            "page_p50_ms": spread([statistics.median(p) for p in case.page_ms if p]),
            "calls_p50_ms": spread([statistics.median(c) for c in case.calls_ms if c]),
            "page_p99_ms": p99_page,
            "calls_p99_ms": p99_calls,
            "ratio_p50": spread(ratios),
            "ratio_p99": round(p99_page / p99_calls, 3) if p99_page and p99_calls else None,
            "errors": case.errors,
            "web_cpu_ms_per_page": spread(case.cpu_ms),
            "gateway": _gateway_split(case, got["entries"]),
            "runs": {"page_ms": case.page_ms, "calls_ms": case.calls_ms},
        }
    for case in cases:
        res["bytes"][case.name] = first_visit(stack.gateway, case.page, case.cookie)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    res["summary"] = summarize(res)
    say(f"  web section: {res['seconds']} s; {json.dumps(res['summary'])}")
    return res


def summarize(res: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, p in res["pages"].items():
        b = res["bytes"][name]
        out[name] = {
            "page_p50_ms": p["page_p50_ms"]["median"],
            "calls_p50_ms": p["calls_p50_ms"]["median"],
            "ratio_p50": p["ratio_p50"]["median"],
            "page_p99_ms": p["page_p99_ms"],
            "calls_p99_ms": p["calls_p99_ms"],
            "calls_match": p["calls_check"]["match"],
            "errors": p["errors"],
            "web_cpu_ms_per_page": p["web_cpu_ms_per_page"]["median"],
            "web_own_ms_at_gateway": p["gateway"]["web_own_ms"],
            "first_visit_bytes": b["total_wire_bytes"],
        }
    return out


# ---------------------------------------------------------------- the table


def rows(r: dict[str, Any], f: Any, s: Any) -> list[tuple[Any, ...]]:
    w = r.get("web")
    if not w:
        return []
    if "skipped" in w:
        return [("10", "web pages", "-", f"skipped: {w['skipped']}", "", "", None)]
    out: list[tuple[Any, ...]] = []
    for p in w["pages"].values():
        ratio = p["ratio_p50"]["median"]
        ok = (
            ratio is not None
            and ratio <= RATIO_GOAL
            and p["calls_check"]["match"]
            and p["errors"] == 0
        )
        split = p["gateway"]
        out.append(
            (
                "10",
                f"web: {p['label']}, {w['samples']} sequential requests x {w['repeats']}: "
                "p50 / p99 ms",
                f"{s(p['page_p50_ms'], nd=1)} / {f(p['page_p99_ms'], nd=1)}"
                f" (errors {p['errors']}; the web's own share ≈ {f(split['web_own_ms'], nd=1)} ms,"
                f" its CPU {f(p['web_cpu_ms_per_page']['median'], nd=1)} ms a page)",
                f"its API calls {p['calls']}, same token, same order: "
                f"{s(p['calls_p50_ms'], nd=1)} / {f(p['calls_p99_ms'], nd=1)}"
                + ("" if p["calls_check"]["match"] else " (**not the calls the web made**)"),
                f(ratio, "x", 2) + f" (p99 {f(p['ratio_p99'], 'x', 2)})",
                f"≤ {RATIO_GOAL:g}x",
                ok,
            )
        )
    for name, b in w["bytes"].items():
        parts = ", ".join(
            f"{'HTML' if k == 'html' else k.split('?')[0].rsplit('/', 1)[-1]} {v['wire_bytes'] / 1000:,.1f}"
            for k, v in b["parts"].items()
        )
        out.append(
            (
                "10",
                f"web: bytes on a first visit, {TITLES.get(name, name)}: kB "
                f"({'compressed' if b['compressed'] else 'nothing compressed'})",
                f"{b['total_wire_bytes'] / 1000:,.1f} ({parts})",
                f"raw {b['total_raw_bytes'] / 1000:,.1f} kB; gzip -6 would make "
                f"{b['total_gzip_bytes'] / 1000:,.1f} kB",
                "",
                f"≤ {BYTES_GOAL / 1000:g} kB",
                b["total_wire_bytes"] <= BYTES_GOAL and b["errors"] == 0,
            )
        )
    return out

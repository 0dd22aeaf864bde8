"""Read-your-writes with the consistency token, through the gateway (API.md, "Read-your-
writes: the consistency token").

Every user has ONE cookie-keeping ``httpx.Client``, as a browser would, so the
``syllabus_consistency`` cookie each write sets goes back with every later request of
that user, and only of that user. No retry, no polling: each read follows the write it
must see at once, and each check runs ``RYW_ITERATIONS`` times (fresh course and modules
every time), so a read that is only sometimes early fails the test.

A token names only its own client's writes. Where a step depends on ANOTHER user's
writes (a student enrolling in a course an instructor just published), the test hands
that user's token along in the ``Syllabus-Consistency`` header, which the server merges
with the caller's own cookie: a token is no secret, and this is what a client that wants
another user's writes covered does (docs/api-notes.md). Without it such a step would be
bound only by API.md's "within 2 s" and would need polling.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from journey import Actor, actor
from syllabus_devkit.testing.asserts import assert_problem
from syllabus_shared.settings import ServiceSettings

from conftest import Stack

HEADER = "Syllabus-Consistency"
COOKIE = "syllabus_consistency"
# ``2.<6 hex digits: event type code><base-36 position>...`` (docs/events.md).
TOKEN = re.compile(r"2(\.[0-9a-f]{6}[0-9a-z]{1,13})*")
ITERATIONS = int(os.environ.get("RYW_ITERATIONS", "5"))
# The stack's bound on a consistency wait: the services' default (the local runner passes
# no CONSISTENCY_WAIT_SECONDS through to them, so nothing else can set it).
WAIT_BOUND = ServiceSettings.model_fields["consistency_wait_seconds"].default


# ------------------------------------------------------------------ helpers


def token_of(who: Actor) -> str:
    """The token in ``who``'s cookie jar (what their browser would send)."""
    value = who.http.cookies.get(COOKIE)
    assert value, f"no {COOKIE} cookie in the jar: {list(who.http.cookies.jar)}"
    return value


def carrying(token: str) -> dict[str, dict[str, str]]:
    """Request keywords that send ``token`` (another user's) in the header; the caller's
    own cookie goes along, and the server merges the two."""
    return {"headers": {HEADER: token}}


def entries(token: str) -> dict[str, int]:
    """A token's positions per event-type code."""
    assert TOKEN.fullmatch(token), token
    return {entry[:6]: int(entry[6:], 36) for entry in token.split(".")[1:]}


def base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, d = divmod(n, 36)
        out = digits[d] + out
        if not n:
            return out


def published_course(ada: Actor, title: str, posts: int) -> tuple[dict[str, Any], ...]:
    """A new published course with one new module holding ``posts`` published posts:
    (course, module, post, post, ...)."""
    course = ada.course(title)
    module = ada.module(f"{title} module")
    made = [ada.post(module["id"], f"{title} post {i}") for i in range(1, posts + 1)]
    ada.attach(course["id"], module["id"])
    ada.publish(course["id"])
    return (course, module, *made)


def enroll(student: Actor, course_id: str, instructor: Actor) -> None:
    """Enroll at once in a course the instructor just published (their token along)."""
    student.call("POST", f"/courses/{course_id}/enrollments", 201, **carrying(token_of(instructor)))


def roster_row(reader: Actor, course_id: str, user_id: str, **kw: Any) -> dict[str, Any]:
    rows = reader.ok("GET", f"/courses/{course_id}/progress", params={"limit": 100}, **kw)
    row: dict[str, Any] = next(r for r in rows["items"] if r["user_id"] == user_id)
    return row


# ------------------------------------------------------------------ the token itself


def test_writes_answer_a_token_and_a_cookie_reads_and_failures_do_not(stack: Stack) -> None:
    ada = actor(stack, "instructor")
    assert COOKIE not in ada.http.cookies

    # A write on catalog: the token as a header and as a cookie with the promised attributes.
    r = ada.call("POST", "/modules", 201, json={"title": "Tokens"})
    module = r.json()
    first = r.headers[HEADER]
    assert TOKEN.fullmatch(first) and entries(first), first
    cookies = [c for c in r.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}=")]
    assert len(cookies) == 1, r.headers.get_list("set-cookie")
    pair, *attributes = (part.strip() for part in cookies[0].split(";"))
    assert pair == f"{COOKIE}={first}"
    assert {a.lower() for a in attributes} == {"path=/api", "httponly", "samesite=lax"}
    # The client kept it, as a browser would.
    (kept,) = [c for c in ada.http.cookies.jar if c.name == COOKIE]
    assert (kept.value, kept.path) == (first, "/api")
    assert kept.has_nonstandard_attr("HttpOnly")

    # A write on another service (content): its token merges the cookie it was sent.
    r = ada.call(
        "POST",
        f"/modules/{module['id']}/posts",
        201,
        json={"title": "p", "content": {"kind": "text", "body": "x"}},
    )
    second = r.headers[HEADER]
    before, after = entries(first), entries(second)
    assert len(after) > len(before)
    assert all(after[code] >= position for code, position in before.items()), (first, second)
    assert token_of(ada) == second

    # Reads answer no token (and leave the cookie as it was).
    r = ada.call("GET", f"/modules/{module['id']}", 200)
    assert HEADER not in r.headers and "set-cookie" not in r.headers
    r = ada.call("GET", f"/modules/{module['id']}/posts", 200)
    assert HEADER not in r.headers and "set-cookie" not in r.headers
    # A failed write neither.
    r = ada.call("POST", "/modules", 422, json={})
    assert HEADER not in r.headers and "set-cookie" not in r.headers
    assert token_of(ada) == second


def test_a_malformed_token_is_400(stack: Stack) -> None:
    ada = actor(stack, "instructor")
    module = ada.module("Malformed")
    code = entries(token_of(ada))
    assert code
    some = next(iter(code))
    bad = [
        "garbage",
        "3." + some + "1",  # unknown format version
        "2.xyz",
        "2." + some,  # a code with no position
        "2." + some + "0",  # positions start at 1
        "2." + some + "1" * 14,  # more than 13 base-36 digits
        "2.ABCDEF011",  # lower case only
        "2." + ".".join(f"{i:06x}1" for i in range(120)),  # longer than 1 KiB
        "1." + some + "zz",  # format 1 (still read): hexadecimal only
    ]
    for value in bad:
        for method, path in (("GET", f"/modules/{module['id']}"), ("GET", "/me/enrollments")):
            r = ada.call(method, path, headers={HEADER: value})
            body = assert_problem(r, 400)
            assert body["type"].endswith("/malformed-consistency-token"), (value, body)
            assert HEADER not in r.headers and "set-cookie" not in r.headers

    # A write with a malformed token is refused before it writes anything.
    r = ada.call("POST", "/modules", json={"title": "Never"}, headers={HEADER: "garbage"})
    assert_problem(r, 400)
    assert HEADER not in r.headers and "set-cookie" not in r.headers
    mine = ada.ok("GET", "/modules", params={"creator_id": ada.id, "limit": 100})["items"]
    assert [m["title"] for m in mine] == ["Malformed"]

    # A malformed cookie is refused the same way, and the answer clears it (a browser
    # cannot remove an HttpOnly cookie itself): the jar drops it, the next call succeeds.
    with stack.client() as browser:
        browser.cookies.set(COOKIE, "garbage", domain="127.0.0.1", path="/api")
        r = browser.get("/api/v1/courses")
        assert assert_problem(r, 400)["type"].endswith("/malformed-consistency-token")
        (cleared,) = [c for c in r.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}=")]
        pair, *attributes = (part.strip() for part in cleared.split(";"))
        assert pair == f"{COOKIE}="
        assert {"max-age=0", "path=/api"} <= {a.lower() for a in attributes}, cleared
        assert COOKIE not in browser.cookies
        r = browser.get("/api/v1/courses")
        assert r.status_code == 200, r.text
        # Another cookie is nobody's business here.
        r = browser.get("/api/v1/courses", headers={"Cookie": "other=garbage"})
        assert r.status_code == 200, r.text


def test_a_token_from_the_future_is_503_after_the_bound(stack: Stack) -> None:
    """A token naming positions nobody wrote yet: the serving service waits the bound,
    then answers 503 with Retry-After (never stale data); a service that consumes none
    of the token's event types answers at once."""
    ada = actor(stack, "instructor")
    module = ada.module("Future")
    ada.post(module["id"], "p")  # PostCreated: consumed by progress (and assessment)
    real = entries(token_of(ada))
    future = "2." + ".".join(f"{code}{base36(position + 2**40)}" for code, position in real.items())

    started = time.monotonic()
    r = ada.call("GET", "/me/enrollments", headers={HEADER: future})  # progress
    waited = time.monotonic() - started
    body = assert_problem(r, 503)
    assert body["type"].endswith("/consistency-timeout"), body
    assert int(r.headers["retry-after"]) >= 1, r.headers
    assert WAIT_BOUND - 0.05 <= waited <= WAIT_BOUND + 1.5, waited
    assert HEADER not in r.headers and "set-cookie" not in r.headers

    # Identity consumes no events: nothing to wait for.
    started = time.monotonic()
    me = ada.ok("GET", "/users/me", headers={HEADER: future})
    assert me["id"] == ada.id
    assert time.monotonic() - started < WAIT_BOUND

    # The client's own cookie (a real token) still answers at once.
    started = time.monotonic()
    ada.ok("GET", "/me/enrollments")
    assert time.monotonic() - started < WAIT_BOUND


# ------------------------------------------------------------------ read-your-writes


def test_roster_counts_the_posts_just_added_and_the_completion(stack: Stack) -> None:
    """1. The instructor adds two posts and reads the roster at once: both counted (their
    own cookie covers their writes). A student completes one; the instructor reads the
    roster with the student's token in the header, merged with their own cookie."""
    ada = actor(stack, "instructor")
    bo = actor(stack, "student")
    for i in range(ITERATIONS):
        course, module = published_course(ada, f"Roster {i}", posts=0)
        cid = course["id"]
        enroll(bo, cid, ada)
        assert roster_row(ada, cid, bo.id)["total_posts"] == 0

        p1 = ada.post(module["id"], "first")
        ada.post(module["id"], "second")
        row = roster_row(ada, cid, bo.id)
        assert (row["total_posts"], row["completed_posts"]) == (2, 0), (i, row)

        # The student completes a post the instructor just added (their token along).
        bo.call("PUT", f"/me/completions/{p1['id']}", 201, **carrying(token_of(ada)))
        row = roster_row(ada, cid, bo.id, **carrying(token_of(bo)))
        assert (row["total_posts"], row["completed_posts"], row["percent"]) == (2, 1, 50.0), (
            i,
            row,
        )


def test_completion_count_follows_each_completion_at_once(stack: Stack) -> None:
    """2. A student completes a post and reads it at once: ``completion_count`` (content,
    from progress's events) counts it; a second student's completion makes it 2."""
    ada = actor(stack, "instructor")
    bo, cy = actor(stack, "student"), actor(stack, "student")
    for i in range(ITERATIONS):
        course, _module, post = published_course(ada, f"Completions {i}", posts=1)
        path = f"/posts/{post['id']}"
        enroll(bo, course["id"], ada)
        enroll(cy, course["id"], ada)
        assert bo.ok("GET", path)["completion_count"] == 0

        bo.complete(post["id"])
        assert bo.ok("GET", path)["completion_count"] == 1, i
        cy.complete(post["id"])
        assert cy.ok("GET", path)["completion_count"] == 2, i
        # Unmarking counts too.
        bo.call("DELETE", f"/me/completions/{post['id']}", 204)
        assert bo.ok("GET", path)["completion_count"] == 1, i


def test_enrollment_count_follows_each_enrollment_at_once(stack: Stack) -> None:
    """3. A student enrolls and reads the course at once: ``enrollment_count`` (catalog,
    from progress's events) counts it; a second student makes it 2; a drop, 1."""
    ada = actor(stack, "instructor")
    bo, cy = actor(stack, "student"), actor(stack, "student")
    for i in range(ITERATIONS):
        (course, _module) = published_course(ada, f"Enrollments {i}", posts=0)
        path = f"/courses/{course['id']}"
        assert bo.ok("GET", path)["enrollment_count"] == 0

        enroll(bo, course["id"], ada)
        assert bo.ok("GET", path)["enrollment_count"] == 1, i
        enroll(cy, course["id"], ada)
        assert cy.ok("GET", path)["enrollment_count"] == 2, i
        bo.call("DELETE", f"/courses/{course['id']}/enrollments/me", 204)
        assert bo.ok("GET", path)["enrollment_count"] == 1, i


def test_progress_shows_a_module_just_attached(stack: Stack) -> None:
    """4. The instructor attaches a new module with a post to a course a student is in.
    The instructor's roster counts it at once (own cookie); the student's progress
    document shows it at once when the student's request carries the instructor's token."""
    ada = actor(stack, "instructor")
    bo = actor(stack, "student")
    for i in range(ITERATIONS):
        course, first, p1 = published_course(ada, f"Attach {i}", posts=1)
        cid = course["id"]
        enroll(bo, cid, ada)
        assert [m["module_id"] for m in bo.progress(cid)["modules"]] == [first["id"]]

        second = ada.module(f"Attach {i} second")
        if i % 2:  # both orders: post then attach, attach then post
            ada.attach(cid, second["id"])
            p2 = ada.post(second["id"], "later")
        else:
            p2 = ada.post(second["id"], "later")
            ada.attach(cid, second["id"])

        assert roster_row(ada, cid, bo.id)["total_posts"] == 2, i
        doc = bo.ok("GET", f"/me/courses/{cid}/progress", **carrying(token_of(ada)))
        assert [(m["module_id"], m["total_posts"]) for m in doc["modules"]] == [
            (first["id"], 1),
            (second["id"], 1),
        ], (i, doc)
        assert [p["post_id"] for m in doc["modules"] for p in m["posts"]] == [p1["id"], p2["id"]]
        assert (doc["total_posts"], doc["next_post_id"]) == (2, p1["id"]), i

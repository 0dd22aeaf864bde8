"""Completion rules, prerequisites, unlock dates and sequential courses through the gateway
(API.md "Completion rules, prerequisites and locks", issue #14).

- Rules: ``view`` is done by opening the post (never by listing the module's posts),
  ``mark_done`` by ``PUT``, ``submit`` by the first submission, ``min_score`` once the kept
  score reaches it; marking a post with another rule is 409 naming it; changing a rule
  re-derives every student's completion within 2 s (and ``completion_count`` follows).
- Locks: a module waits for its prerequisites (wherever they sit in the course) and for its
  ``unlock_at`` (which passes without any event); in a sequential course each post waits for
  the ones before it; marking a locked post is 403 with ``locks``; a view on a locked post
  counts once it unlocks; ``next_post_id`` skips locked posts.

As in test_journeys.py: what travels by events is awaited by bounded polling (API.md
promises 2 s); a write followed by a dependent read on the same service needs no waiting.
"No completion judged on a stale structure" is tested at the service level (progress).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from journey import CONTENT, Actor, actor, settles, within
from syllabus_devkit.testing.asserts import assert_problem

from conftest import Stack, eventually

QUIZ = {
    "kind": "quiz",
    "questions": [
        {"prompt": "2+2?", "choices": ["3", "4"], "answer_index": 1},
        {"prompt": "3+3?", "choices": ["5", "6"], "answer_index": 1},
    ],
    "max_points": 2,
    "attempts": 3,
}
RIGHT, HALF, WRONG = [1, 1], [1, 0], [0, 0]


def _post(
    author: Actor,
    module_id: str,
    title: str,
    kind: str = "text",
    completion: dict[str, Any] | None = None,
    content: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": title,
        "content": content or CONTENT[kind],
        "status": "published",
    }
    if completion is not None:
        body["completion"] = completion
    post: dict[str, Any] = author.ok("POST", f"/modules/{module_id}/posts", 201, json=body)
    return post


def _enroll_soon(student: Actor, course_id: str) -> None:
    within(2.5, lambda: student.call("POST", f"/courses/{course_id}/enrollments"), 201)


def _when(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _lock(lock: dict[str, Any]) -> tuple[Any, ...]:
    """A lock as (reason, what): the module, the post, or the time (parsed)."""
    reason = lock["reason"]
    if reason == "unlock_at":
        return (reason, _when(lock["at"]))
    return (reason, lock.get("module_id") if reason == "prerequisite" else lock.get("post_id"))


def _posts(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["post_id"]: p for m in doc["modules"] for p in m["posts"]}


def _modules(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["module_id"]: m for m in doc["modules"]}


def _post_view(student: Actor, course_id: str, post_id: str) -> tuple[Any, ...]:
    """(completed, status, score, locked) of one post in the student's progress document."""
    p = _posts(student.progress(course_id))[post_id]
    return (p["completed"], p["status"], p["score"], p["locked"])


def _module_view(student: Actor, course_id: str, module_id: str) -> tuple[Any, ...]:
    """(state, locks, completed_posts, locked per post) of one module in the document."""
    m = _modules(student.progress(course_id))[module_id]
    locks = [_lock(lock) for lock in m["locks"]]
    return (m["state"], locks, m["completed_posts"], [p["locked"] for p in m["posts"]])


def _count(reader: Actor, post_id: str) -> Any:
    return lambda: reader.ok("GET", f"/posts/{post_id}")["completion_count"]


def _refused_for_rule(r: Any, rule: str) -> None:
    """409, and the problem names the post's rule."""
    body = assert_problem(r, 409)
    assert body.get("rule") == rule or rule in body["detail"], body


def test_each_rule_completes_its_way_and_a_rule_change_re_derives(stack: Stack) -> None:
    ada = actor(stack, "instructor")
    course = ada.course("Rules")
    cid = course["id"]
    week = ada.module("Week")
    mid = week["id"]
    reading = _post(ada, mid, "Reading", completion={"rule": "view"})
    watch = _post(ada, mid, "Watch", "video", completion={"rule": "view"})
    notes = _post(ada, mid, "Notes")  # mark_done: the default for text
    quiz = _post(ada, mid, "Quiz", content=QUIZ, completion={"rule": "min_score", "min_score": 2})
    essay = _post(ada, mid, "Essay", "assignment")  # submit: the default for assignments
    later = _post(ada, mid, "Later")
    assert [p["completion"] for p in (reading, notes, quiz, essay)] == [
        {"rule": "view"},
        {"rule": "mark_done"},
        {"rule": "min_score", "min_score": 2},
        {"rule": "submit"},
    ]
    ada.attach(cid, mid)
    ada.publish(cid)
    bo = actor(stack, "student")
    _enroll_soon(bo, cid)

    def rules() -> dict[str, tuple[Any, ...]]:
        posts = _posts(bo.progress(cid)).values()
        return {p["post_id"]: (p["rule"], p["status"], p["locked"], p["score"]) for p in posts}

    settles(
        rules,
        {
            reading["id"]: ("view", "not_started", False, None),
            watch["id"]: ("view", "not_started", False, None),
            notes["id"]: ("mark_done", "not_started", False, None),
            quiz["id"]: ("min_score", "not_started", False, None),
            essay["id"]: ("submit", "not_started", False, None),
            later["id"]: ("mark_done", "not_started", False, None),
        },
    )

    # Listing the module's posts is not a view; opening one is (and only that one).
    listed = bo.ok("GET", f"/modules/{mid}/posts")["items"]
    assert reading["id"] in {p["id"] for p in listed}
    bo.ok("GET", f"/posts/{watch['id']}")
    settles(lambda: _post_view(bo, cid, watch["id"]), (True, "completed", None, False))
    assert _post_view(bo, cid, reading["id"]) == (False, "not_started", None, False)
    bo.ok("GET", f"/posts/{reading['id']}")
    settles(lambda: _post_view(bo, cid, reading["id"]), (True, "completed", None, False))
    bo.ok("GET", f"/posts/{reading['id']}")  # a second opening changes nothing
    settles(_count(ada, reading["id"]), 1)

    # Marking (or unmarking) a post whose rule is not mark_done: 409 naming the rule.
    _refused_for_rule(bo.call("PUT", f"/me/completions/{reading['id']}"), "view")
    _refused_for_rule(bo.call("DELETE", f"/me/completions/{reading['id']}"), "view")
    _refused_for_rule(bo.call("PUT", f"/me/completions/{essay['id']}"), "submit")
    _refused_for_rule(bo.call("PUT", f"/me/completions/{quiz['id']}"), "min_score")
    # mark_done: the student says so, and it shows at once.
    bo.complete(notes["id"])
    assert _post_view(bo, cid, notes["id"]) == (True, "completed", None, False)

    # min_score 2 of 2: a wrong and a half-right attempt are graded, not completed; a right
    # one completes it (the kept score is the highest).
    submit = f"/posts/{quiz['id']}/submissions"
    assert bo.ok("POST", submit, 201, json={"answers": WRONG})["score"] == 0
    settles(lambda: _post_view(bo, cid, quiz["id"]), (False, "graded", 0.0, False))
    assert bo.ok("POST", submit, 201, json={"answers": HALF})["score"] == 1
    settles(lambda: _post_view(bo, cid, quiz["id"]), (False, "graded", 1.0, False))
    assert bo.ok("POST", submit, 201, json={"answers": RIGHT})["score"] == 2
    settles(lambda: _post_view(bo, cid, quiz["id"]), (True, "completed", 2.0, False))

    # submit: done with the first submission, before any grade.
    work = {"body": "My essay."}
    assert bo.ok("POST", f"/posts/{essay['id']}/submissions", 201, json=work)["status"] == (
        "submitted"
    )
    settles(lambda: _post_view(bo, cid, essay["id"]), (True, "completed", None, False))

    # A rule change re-derives: `later` was marked, never opened; as a `view` post it is no
    # longer completed (within 2 s), the count follows; opening it completes it again.
    bo.complete(later["id"])
    settles(_count(ada, later["id"]), 1)
    changed = ada.ok("PATCH", f"/posts/{later['id']}", json={"completion": {"rule": "view"}})
    assert changed["completion"] == {"rule": "view"}
    settles(lambda: _post_view(bo, cid, later["id"]), (False, "in_progress", None, False))
    settles(_count(ada, later["id"]), 0)
    _refused_for_rule(bo.call("PUT", f"/me/completions/{later['id']}"), "view")
    bo.ok("GET", f"/posts/{later['id']}")
    settles(lambda: _post_view(bo, cid, later["id"]), (True, "completed", None, False))
    settles(_count(ada, later["id"]), 1)
    # And back: `reading` (opened, never marked) as mark_done is not completed; the mark it
    # lacked is all it needs.
    ada.ok("PATCH", f"/posts/{reading['id']}", json={"completion": {"rule": "mark_done"}})
    settles(lambda: _post_view(bo, cid, reading["id"]), (False, "in_progress", None, False))
    settles(_count(ada, reading["id"]), 0)
    bo.complete(reading["id"])
    doc = bo.progress(cid)
    assert (doc["status"], doc["percent"], doc["next_post_id"]) == ("completed", 100.0, None)


def test_prerequisites_and_unlock_dates_lock_modules_until_met(stack: Stack) -> None:
    ada = actor(stack, "instructor")
    course = ada.course("Gated")
    cid = course["id"]
    # Order: B first (it requires A, which sits after it), then A, then C and D (dated).
    a, b, c, d = (ada.module(name) for name in ("A", "B", "C", "D"))
    a1 = _post(ada, a["id"], "a1")
    b1 = _post(ada, b["id"], "b1")
    b2 = _post(ada, b["id"], "b2", completion={"rule": "view"})
    c1 = _post(ada, c["id"], "c1")
    d1 = _post(ada, d["id"], "d1")
    for module in (b, a, c, d):
        ada.attach(cid, module["id"])
    far = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=30)
    soon = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=6)
    path = f"/courses/{cid}/modules"
    ada.ok("PATCH", f"{path}/{b['id']}", json={"prerequisites": [a["id"]]})
    ada.ok("PATCH", f"{path}/{c['id']}", json={"unlock_at": far.isoformat()})
    ada.ok("PATCH", f"{path}/{d['id']}", json={"unlock_at": soon.isoformat()})
    # A cycle is refused, naming the modules in it.
    cycle = assert_problem(
        ada.call("PATCH", f"{path}/{a['id']}", json={"prerequisites": [b["id"]]}),
        422,
        "prerequisites",
    )
    assert a["id"] in str(cycle) and b["id"] in str(cycle), cycle
    outline = {e["module_id"]: e for e in ada.ok("GET", path)}
    assert [outline[m["id"]]["position"] for m in (b, a, c, d)] == [1, 2, 3, 4]
    assert outline[b["id"]]["prerequisites"] == [a["id"]]
    assert outline[a["id"]]["prerequisites"] == [] and outline[a["id"]]["unlock_at"] is None
    assert _when(outline[c["id"]]["unlock_at"]) == far
    ada.publish(cid)
    bo = actor(stack, "student")
    _enroll_soon(bo, cid)

    # B waits for A; C for its date; the next post skips both (A's a1, after B's posts).
    prerequisite = [("prerequisite", a["id"])]
    settles(lambda: _module_view(bo, cid, b["id"]), ("locked", prerequisite, 0, [True, True]))
    doc = bo.progress(cid)
    assert [m["module_id"] for m in doc["modules"]] == [b["id"], a["id"], c["id"], d["id"]]
    assert _module_view(bo, cid, b["id"]) == ("locked", prerequisite, 0, [True, True])
    assert _module_view(bo, cid, a["id"]) == ("unlocked", [], 0, [False])
    assert _module_view(bo, cid, c["id"]) == ("locked", [("unlock_at", far)], 0, [True])
    assert doc["next_post_id"] == a1["id"]
    # Marking a locked post: 403, the problem says why.
    refused = assert_problem(bo.call("PUT", f"/me/completions/{b1['id']}"), 403)
    assert [_lock(lock) for lock in refused["locks"]] == prerequisite
    refused = assert_problem(bo.call("PUT", f"/me/completions/{c1['id']}"), 403)
    assert [_lock(lock) for lock in refused["locks"]] == [("unlock_at", far)]
    # Opening a locked post is allowed; the view waits for the lock to lift.
    bo.ok("GET", f"/posts/{b2['id']}")
    settles(lambda: _post_view(bo, cid, b2["id"]), (False, "in_progress", None, True))

    # Completing A unlocks B at once, and b2's earlier view counts now.
    bo.complete(a1["id"])
    assert _module_view(bo, cid, a["id"]) == ("completed", [], 1, [False])
    assert _module_view(bo, cid, b["id"]) == ("started", [], 1, [False, False])
    assert _post_view(bo, cid, b2["id"]) == (True, "completed", None, False)
    assert bo.progress(cid)["next_post_id"] == b1["id"]
    bo.complete(b1["id"])

    # C's date moved into the past: unlocked on the next read after the change arrives.
    past = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    ada.ok("PATCH", f"{path}/{c['id']}", json={"unlock_at": past.isoformat()})
    settles(lambda: _module_view(bo, cid, c["id"]), ("unlocked", [], 0, [False]))
    bo.complete(c1["id"])
    # D's date passes with no event at all: locked before it, unlocked after it.
    if dt.datetime.now(dt.UTC) < soon - dt.timedelta(seconds=0.5):
        assert _module_view(bo, cid, d["id"]) == ("locked", [("unlock_at", soon)], 0, [True])
        assert bo.progress(cid)["next_post_id"] is None
    eventually(lambda: _module_view(bo, cid, d["id"])[0] == "unlocked", timeout=10)
    assert dt.datetime.now(dt.UTC) >= soon
    assert bo.progress(cid)["next_post_id"] == d1["id"]
    bo.complete(d1["id"])
    done = bo.progress(cid)
    assert (done["status"], done["percent"]) == ("completed", 100.0)
    assert [m["state"] for m in done["modules"]] == ["completed"] * 4


def test_a_sequential_course_opens_each_post_after_the_one_before(stack: Stack) -> None:
    ada = actor(stack, "instructor")
    course = ada.course("In order")
    cid = course["id"]
    first, second = ada.module("First"), ada.module("Second")
    p1 = _post(ada, first["id"], "p1")
    p2 = _post(ada, first["id"], "p2", completion={"rule": "view"})
    q1 = _post(ada, second["id"], "q1")
    ada.attach(cid, first["id"])
    ada.attach(cid, second["id"])
    assert ada.ok("PATCH", f"/courses/{cid}", json={"sequential": True})["sequential"] is True
    ada.publish(cid)
    bo = actor(stack, "student")
    _enroll_soon(bo, cid)

    # Only the first post is open; everything after it waits for p1.
    after_p1 = [("sequential", p1["id"])]
    settles(lambda: _module_view(bo, cid, second["id"]), ("locked", after_p1, 0, [True]))
    doc = bo.progress(cid)
    assert [(p["post_id"], p["locked"]) for p in doc["modules"][0]["posts"]] == [
        (p1["id"], False),
        (p2["id"], True),
    ]
    assert [_lock(lock) for lock in doc["modules"][0]["locks"]] == []
    assert doc["next_post_id"] == p1["id"]
    refused = assert_problem(bo.call("PUT", f"/me/completions/{q1['id']}"), 403)
    assert [_lock(lock) for lock in refused["locks"]] == after_p1
    # p2 opened while locked: not completed yet.
    bo.ok("GET", f"/posts/{p2['id']}")
    settles(lambda: _post_view(bo, cid, p2["id"]), (False, "in_progress", None, True))

    # p1 done: p2 unlocks and its view counts, so q1 unlocks too and is next.
    bo.complete(p1["id"])
    assert _post_view(bo, cid, p2["id"]) == (True, "completed", None, False)
    assert _module_view(bo, cid, first["id"]) == ("completed", [], 2, [False, False])
    assert _module_view(bo, cid, second["id"]) == ("unlocked", [], 0, [False])
    assert bo.progress(cid)["next_post_id"] == q1["id"]

    # Switching p2 to mark_done (it was opened, never marked) locks q1 again behind it.
    ada.ok("PATCH", f"/posts/{p2['id']}", json={"completion": {"rule": "mark_done"}})
    after_p2 = [("sequential", p2["id"])]
    settles(lambda: _module_view(bo, cid, second["id"]), ("locked", after_p2, 0, [True]))
    assert bo.progress(cid)["next_post_id"] == p2["id"]
    bo.complete(p2["id"])
    bo.complete(q1["id"])
    done = bo.progress(cid)
    assert (done["status"], done["percent"], done["next_post_id"]) == ("completed", 100.0, None)

"""Completion rules, locks and statuses without a database (``rules.py``): derivation
from facts, the lock fixed point (prerequisites, unlock dates, sequential order), module
states and post statuses."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from syllabus_progress.rules import (
    ModuleFacts,
    PostFacts,
    check_markable,
    evaluate,
    rule_of,
    satisfied,
)
from syllabus_shared.problems import Problem

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def _posts(n: int, *done: int, **facts: bool) -> list[PostFacts]:
    return [PostFacts(post_id=uuid.uuid4(), done=i in done, **facts) for i in range(n)]


def _module(
    posts: list[PostFacts],
    prerequisites: tuple[uuid.UUID, ...] = (),
    unlock_at: dt.datetime | None = None,
) -> ModuleFacts:
    return ModuleFacts(uuid.uuid4(), prerequisites, unlock_at, posts)


# ---------------------------------------------------------------- rules


def test_default_rules_by_kind_and_min_score_only_with_min_score() -> None:
    assert rule_of("text", None, None) == ("mark_done", None)
    assert rule_of("video", None, None) == ("mark_done", None)
    assert rule_of("quiz", None, None) == ("submit", None)
    assert rule_of("assignment", None, None) == ("submit", None)
    assert rule_of("quiz", "min_score", 7.0) == ("min_score", 7.0)
    assert rule_of("quiz", "submit", 7.0) == ("submit", None)
    assert rule_of("video", "view", None) == ("view", None)


@pytest.mark.parametrize(
    ("rule", "min_score", "facts", "expected"),
    [
        ("mark_done", None, {"marked": True}, True),
        ("mark_done", None, {"viewed": True, "submitted": True}, False),
        ("view", None, {"viewed": True}, True),
        ("view", None, {"marked": True}, False),
        ("submit", None, {"submitted": True}, True),
        ("submit", None, {"viewed": True}, False),
        ("min_score", 7.0, {"submitted": True, "score": 7.0}, True),
        ("min_score", 7.0, {"submitted": True, "score": 6.99}, False),
        ("min_score", 7.0, {"submitted": True}, False),  # submitted, not graded
        ("nonsense", None, {"marked": True, "viewed": True}, False),
    ],
)
def test_satisfied_by_the_facts(
    rule: str, min_score: float | None, facts: dict[str, object], expected: bool
) -> None:
    values: dict[str, object] = {
        "marked": False,
        "viewed": False,
        "submitted": False,
        "score": None,
        **facts,
    }
    assert satisfied(rule, min_score, **values) is expected  # type: ignore[arg-type]


def test_marking_a_post_with_another_rule_names_the_rule() -> None:
    check_markable("mark_done")
    with pytest.raises(Problem) as caught:
        check_markable("view")
    assert caught.value.status == 409 and caught.value.extra == {"rule": "view"}


# ---------------------------------------------------------------- locks


def test_nothing_gated_counts_what_is_done() -> None:
    a, b = _module(_posts(2, 0)), _module(_posts(1, 0))
    course = evaluate([a, b], sequential=False, now=NOW)
    assert (course.done, course.total) == (2, 3)
    assert [m.state for m in course.modules] == ["started", "completed"]
    assert [m.locks for m in course.modules] == [[], []]
    assert course.next_post_id == a.posts[1].post_id


def test_prerequisite_locks_a_module_until_it_is_completed() -> None:
    a = _module(_posts(2, 0))
    b = _module(_posts(1, 0), prerequisites=(a.module_id,))  # done, but locked: not counted
    course = evaluate([a, b], sequential=False, now=NOW)
    mb = course.modules[1]
    assert mb.state == "locked"
    assert mb.locks == [{"reason": "prerequisite", "module_id": a.module_id}]
    assert mb.posts[0].locked and not mb.posts[0].completed
    assert mb.posts[0].status == "in_progress"  # its fact waits for the unlock
    assert (course.done, course.total) == (1, 3)

    a = _module([PostFacts(p.post_id, done=True) for p in a.posts])
    b = ModuleFacts(b.module_id, (a.module_id,), None, b.posts)
    course = evaluate([a, b], sequential=False, now=NOW)
    assert [m.state for m in course.modules] == ["completed", "completed"]
    assert (course.done, course.total) == (3, 3) and course.next_post_id is None


def test_a_prerequisite_at_a_higher_position_is_honoured() -> None:
    later = _module(_posts(1))
    first = _module(_posts(1, 0), prerequisites=(later.module_id,))
    course = evaluate([first, later], sequential=False, now=NOW)
    assert course.modules[0].state == "locked"
    assert course.next_post_id == later.posts[0].post_id  # skips the locked one
    later = _module([PostFacts(later.posts[0].post_id, done=True)])
    first = ModuleFacts(first.module_id, (later.module_id,), None, first.posts)
    course = evaluate([first, later], sequential=False, now=NOW)
    assert (course.done, course.total) == (2, 2)  # both, after the fixed point


def test_chains_cycles_unknown_and_empty_prerequisites() -> None:
    a = _module(_posts(1, 0))
    b = _module(_posts(1, 0), prerequisites=(a.module_id,))
    c = _module(_posts(1, 0), prerequisites=(b.module_id, uuid.uuid4()))  # unknown: ignored
    assert evaluate([c, b, a], sequential=False, now=NOW).done == 3

    x = _module(_posts(1, 0))
    y = _module(_posts(1, 0), prerequisites=(x.module_id,))
    x = ModuleFacts(x.module_id, (y.module_id,), None, x.posts)  # a cycle: stays locked
    course = evaluate([x, y], sequential=False, now=NOW)
    assert [m.state for m in course.modules] == ["locked", "locked"] and course.done == 0

    empty = _module([])
    gated = _module(_posts(1, 0), prerequisites=(empty.module_id,))
    course = evaluate([empty, gated], sequential=False, now=NOW)
    assert course.modules[1].state == "completed"  # nothing to do is no obstacle
    assert course.modules[0].state == "unlocked" and not course.modules[0].completed


def test_unlock_at_locks_until_the_time_passes() -> None:
    at = NOW + dt.timedelta(minutes=5)
    m = _module(_posts(1, 0), unlock_at=at)
    course = evaluate([m], sequential=False, now=NOW)
    assert course.modules[0].locks == [{"reason": "unlock_at", "at": at}]
    assert course.done == 0 and course.next_post_id is None
    course = evaluate([m], sequential=False, now=at)  # the moment it passes
    assert course.modules[0].locks == [] and course.done == 1


def test_sequential_locks_each_post_until_those_before_are_completed() -> None:
    first = _module(_posts(2, 1))  # the second is done but comes after an open one
    second = _module(_posts(1))
    course = evaluate([first, second], sequential=True, now=NOW)
    a, b = course.modules[0].posts
    (c,) = course.modules[1].posts
    assert not a.locked and a.status == "not_started"
    assert b.locks == [{"reason": "sequential", "post_id": a.facts.post_id}]
    assert b.status == "in_progress" and not b.completed
    assert course.modules[0].locks == []  # its first post is open
    assert course.modules[1].locks == [{"reason": "sequential", "post_id": a.facts.post_id}]
    assert course.modules[1].state == "locked"
    assert course.next_post_id == a.facts.post_id

    first = _module([PostFacts(a.facts.post_id, done=True), b.facts])
    course = evaluate([first, second], sequential=True, now=NOW)
    assert course.done == 2  # b counts once unlocked
    assert course.next_post_id == c.facts.post_id


def test_post_statuses() -> None:
    cases = {
        "not_started": PostFacts(uuid.uuid4()),
        "in_progress": PostFacts(uuid.uuid4(), viewed=True),
        "submitted": PostFacts(uuid.uuid4(), viewed=True, submitted=True),
        "graded": PostFacts(uuid.uuid4(), submitted=True, graded=True, score=3.0),
        "completed": PostFacts(uuid.uuid4(), submitted=True, graded=True, done=True),
    }
    course = evaluate([_module(list(cases.values()))], sequential=False, now=NOW)
    assert [p.status for p in course.modules[0].posts] == list(cases)

"""Catalog's pure rules, without a database: prerequisites, cycles, detach."""

from __future__ import annotations

import itertools
import uuid

import pytest
from syllabus_catalog.rules import (
    checked_prerequisites,
    cycle_text,
    find_cycle,
    without_prerequisite,
)
from syllabus_shared.problems import Problem

A, B, C, D, E = (uuid.UUID(int=i) for i in range(1, 6))


def _errors_field(problem: Problem) -> list[str]:
    return [e["field"] for e in problem.extra["errors"]]


# ---------------------------------------------------------------- find_cycle


def test_no_cycle() -> None:
    requires = {A: [B, C], B: [C], C: [], D: [A]}
    for start in requires:
        assert find_cycle(requires, start) is None


def test_self_loop_is_a_cycle_of_one() -> None:
    assert find_cycle({A: [A]}, A) == [A]


def test_cycle_starts_at_start_and_follows_requires() -> None:
    # A requires B, B requires C, C requires A.
    requires = {A: [B], B: [C], C: [A], D: [A]}
    assert find_cycle(requires, A) == [A, B, C]
    assert find_cycle(requires, B) == [B, C, A]
    assert find_cycle(requires, D) is None  # D reaches the cycle but is not on it


def test_the_shortest_cycle_is_named() -> None:
    requires = {A: [B, D], B: [C], C: [A], D: [A]}
    assert find_cycle(requires, A) == [A, D]


def test_unknown_nodes_and_long_chains() -> None:
    chain = [uuid.uuid4() for _ in range(5000)]  # deeper than Python's recursion limit
    requires = {m: [n] for m, n in itertools.pairwise(chain)}
    assert find_cycle(requires, chain[0]) is None
    requires[chain[-1]] = [chain[0]]
    cycle = find_cycle(requires, chain[0])
    assert cycle == chain


def test_cycle_text_closes_the_cycle_with_titles() -> None:
    text = cycle_text([A, B], {A: "Intro", B: "Basics"})
    assert text == f"'Intro' ({A}) → 'Basics' ({B}) → 'Intro' ({A})"
    assert cycle_text([A], {}) == f"{A} → {A}"


# ---------------------------------------------------------------- checked_prerequisites


def test_valid_prerequisites_are_deduplicated_in_order() -> None:
    requires = {A: [], B: [], C: [B], D: []}
    assert checked_prerequisites(A, [C, B, C, B, D], requires) == [C, B, D]
    assert checked_prerequisites(A, [], requires) == []


def test_own_prerequisite_is_refused() -> None:
    with pytest.raises(Problem) as caught:
        checked_prerequisites(A, [B, A], {A: [], B: []})
    assert caught.value.status == 422
    assert _errors_field(caught.value) == ["prerequisites"]
    assert "own prerequisite" in caught.value.detail
    assert caught.value.extra["module_ids"] == [str(A)]


def test_prerequisite_not_attached_is_refused() -> None:
    stranger = uuid.uuid4()
    with pytest.raises(Problem) as caught:
        checked_prerequisites(A, [B, stranger], {A: [], B: []})
    assert caught.value.status == 422
    assert _errors_field(caught.value) == ["prerequisites"]
    assert str(stranger) in caught.value.detail
    assert caught.value.extra["module_ids"] == [str(stranger)]


def test_cycle_is_refused_naming_its_modules() -> None:
    # B requires C, C requires A: A requiring B closes A → B → C → A.
    requires = {A: [], B: [C], C: [A], D: []}
    titles = {A: "Alpha", B: "Beta", C: "Gamma", D: "Delta"}
    with pytest.raises(Problem) as caught:
        checked_prerequisites(A, [D, B], requires, titles)
    problem = caught.value
    assert problem.status == 422
    assert _errors_field(problem) == ["prerequisites"]
    assert problem.extra["cycle"] == [str(A), str(B), str(C)]
    assert problem.detail.startswith("prerequisites would form a cycle: ")
    assert f"'Alpha' ({A}) → 'Beta' ({B}) → 'Gamma' ({C}) → 'Alpha' ({A})" in problem.detail


def test_two_module_cycle() -> None:
    with pytest.raises(Problem) as caught:
        checked_prerequisites(A, [B], {A: [], B: [A]})
    assert caught.value.extra["cycle"] == [str(A), str(B)]


def test_replacing_prerequisites_can_break_an_old_path() -> None:
    # A used to require B; B now requiring A is fine once A stops requiring B (checked on
    # the graph with A's new list, not the old one).
    requires = {A: [B], B: []}
    assert checked_prerequisites(A, [], requires) == []
    with pytest.raises(Problem):
        checked_prerequisites(B, [A], requires)


# ---------------------------------------------------------------- without_prerequisite


def test_detach_removes_the_module_from_the_others() -> None:
    requires = {A: [B, C], B: [C], C: [], D: [A]}
    assert without_prerequisite(requires, C) == {A: [B], B: []}
    assert without_prerequisite(requires, A) == {D: []}
    assert without_prerequisite(requires, D) == {}
    assert without_prerequisite({}, A) == {}

"""Completion rules on posts: the kind's default, validation (every refusal a 422 naming
the field), PATCH (the rule checked against the content after the edit), and the rule in
every post event."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from syllabus_devkit.testing.asserts import assert_problem
from syllabus_shared.contracts import content as ev

from conftest import API, CONTENT_OF_EACH_KIND, QUIZ, TEXT, Content, about_module

ASSIGNMENT: dict[str, Any] = {"kind": "assignment", "instructions": "Do it.", "max_points": 10}
MIN_SCORE = {"rule": "min_score", "min_score": 7.5}


@pytest.fixture(scope="module")
def owner() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
async def module_id(content: Content, owner: uuid.UUID) -> uuid.UUID:
    return await content.module(owner)


async def test_each_kind_gets_its_default_rule(
    content: Content, module_id: uuid.UUID, owner: uuid.UUID
) -> None:
    expected = {
        "text": {"rule": "mark_done"},
        "video": {"rule": "mark_done"},
        "link": {"rule": "mark_done"},
        "assignment": {"rule": "submit"},
        "quiz": {"rule": "submit"},
    }
    for kind, body in CONTENT_OF_EACH_KIND.items():
        post = await content.post(module_id, owner, content=body)
        assert post["completion"] == expected[kind], kind
        # null on create is the default too
        post = await content.post(module_id, owner, content=body, completion=None)
        assert post["completion"] == expected[kind], kind
    # Shown in lists and single posts alike.
    r = await content.client.get(
        f"{API}/modules/{module_id}/posts", headers=content.as_("instructor", owner)
    )
    assert [p["completion"] for p in r.json()["items"]] == [
        expected[kind] for kind in CONTENT_OF_EACH_KIND for _ in (1, 2)
    ]


GOOD: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (TEXT, {"rule": "view"}, {"rule": "view"}),
    (TEXT, {"rule": "mark_done"}, {"rule": "mark_done"}),
    (CONTENT_OF_EACH_KIND["video"], {"rule": "view"}, {"rule": "view"}),
    (QUIZ, {"rule": "view"}, {"rule": "view"}),
    (QUIZ, {"rule": "mark_done"}, {"rule": "mark_done"}),
    (ASSIGNMENT, {"rule": "submit"}, {"rule": "submit"}),
    (QUIZ, {"rule": "min_score", "min_score": 10}, {"rule": "min_score", "min_score": 10}),
    (ASSIGNMENT, MIN_SCORE, MIN_SCORE),
    (ASSIGNMENT, {"rule": "min_score", "min_score": 0.5}, {"rule": "min_score", "min_score": 0.5}),
]


@pytest.mark.parametrize(("body", "rule", "shown"), GOOD)
async def test_rules_that_fit_the_kind_are_kept(
    content: Content,
    module_id: uuid.UUID,
    owner: uuid.UUID,
    body: dict[str, Any],
    rule: dict[str, Any],
    shown: dict[str, Any],
) -> None:
    post = await content.post(module_id, owner, content=body, completion=rule)
    assert post["completion"] == shown
    r = await content.client.get(
        f"{API}/posts/{post['id']}", headers=content.as_("instructor", owner)
    )
    assert r.json()["completion"] == shown


BAD: list[tuple[str, dict[str, Any], Any, str]] = [
    ("unknown rule", TEXT, {"rule": "must_view"}, "completion.rule"),
    ("no rule", TEXT, {}, "completion.rule"),
    ("rule null", TEXT, {"rule": None}, "completion.rule"),
    ("not an object", TEXT, "view", "completion"),
    ("unknown field", TEXT, {"rule": "view", "score": 1}, "completion.score"),
    ("submit on text", TEXT, {"rule": "submit"}, "completion.rule"),
    ("submit on video", CONTENT_OF_EACH_KIND["video"], {"rule": "submit"}, "completion.rule"),
    ("min_score on link", CONTENT_OF_EACH_KIND["link"], MIN_SCORE, "completion.rule"),
    ("min_score without n", QUIZ, {"rule": "min_score"}, "completion.min_score"),
    ("min_score null", QUIZ, {"rule": "min_score", "min_score": None}, "completion.min_score"),
    ("n with view", QUIZ, {"rule": "view", "min_score": 3}, "completion.min_score"),
    ("n with submit", QUIZ, {"rule": "submit", "min_score": 3}, "completion.min_score"),
    ("n zero", QUIZ, {"rule": "min_score", "min_score": 0}, "completion.min_score"),
    ("n negative", QUIZ, {"rule": "min_score", "min_score": -1}, "completion.min_score"),
    ("n text", QUIZ, {"rule": "min_score", "min_score": "5"}, "completion.min_score"),
    ("n true", QUIZ, {"rule": "min_score", "min_score": True}, "completion.min_score"),
    ("n above max_points", QUIZ, {"rule": "min_score", "min_score": 10.5}, "completion.min_score"),
    ("n huge", ASSIGNMENT, {"rule": "min_score", "min_score": 10**400}, "completion.min_score"),
]


@pytest.mark.parametrize(("case", "body", "rule", "field"), BAD, ids=[c[0] for c in BAD])
async def test_bad_rules_are_422_naming_the_field(
    content: Content,
    module_id: uuid.UUID,
    owner: uuid.UUID,
    case: str,
    body: dict[str, Any],
    rule: Any,
    field: str,
) -> None:
    headers = content.as_("instructor", owner)
    r = await content.client.post(
        f"{API}/modules/{module_id}/posts",
        json={"title": "T", "content": body, "completion": rule},
        headers=headers,
    )
    assert_problem(r, 422, field)
    # The same rule by PATCH on a post of that kind: the same 422, nothing changed.
    post = await content.post(module_id, owner, content=body)
    url = f"{API}/posts/{post['id']}"
    r = await content.client.patch(url, json={"completion": rule}, headers=headers)
    assert_problem(r, 422, field)
    after = (await content.client.get(url, headers=headers)).json()
    assert (after["version"], after["completion"]) == (1, post["completion"])


async def test_nan_is_refused(content: Content, module_id: uuid.UUID, owner: uuid.UUID) -> None:
    raw = (
        '{"title": "T", "content": {"kind": "assignment", "instructions": "x", "max_points": 5},'
        ' "completion": {"rule": "min_score", "min_score": NaN}}'
    )
    r = await content.client.post(
        f"{API}/modules/{module_id}/posts",
        content=raw,
        headers={**content.as_("instructor", owner), "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422), r.text


async def test_patch_null_completion_is_refused(
    content: Content, module_id: uuid.UUID, owner: uuid.UUID
) -> None:
    post = await content.post(module_id, owner)
    r = await content.client.patch(
        f"{API}/posts/{post['id']}",
        json={"completion": None},
        headers=content.as_("instructor", owner),
    )
    assert_problem(r, 422, "completion")


async def test_max_points_and_min_score_stay_consistent(
    content: Content, module_id: uuid.UUID, owner: uuid.UUID
) -> None:
    headers = content.as_("instructor", owner)
    post = await content.post(
        module_id, owner, content=QUIZ, completion={"rule": "min_score", "min_score": 8}
    )
    url = f"{API}/posts/{post['id']}"
    # Lowering max_points under the kept min_score: 422 on the points, nothing changes.
    r = await content.client.patch(
        url, json={"content": {**QUIZ, "max_points": 5}}, headers=headers
    )
    body = assert_problem(r, 422, "content.max_points")
    assert "min_score" in body["detail"]
    # Down to min_score exactly is fine (0 < n <= max_points).
    r = await content.client.patch(
        url, json={"content": {**QUIZ, "max_points": 8}}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["completion"]) == (
        2,
        {"rule": "min_score", "min_score": 8},
    )
    # Lowering both in one request: checked together.
    r = await content.client.patch(
        url,
        json={
            "content": {**QUIZ, "max_points": 4},
            "completion": {"rule": "min_score", "min_score": 5},
        },
        headers=headers,
    )
    assert_problem(r, 422, "completion.min_score")
    r = await content.client.patch(
        url,
        json={
            "content": {**QUIZ, "max_points": 4},
            "completion": {"rule": "min_score", "min_score": 4},
        },
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["content"]["max_points"] == 4
    # Another rule frees max_points.
    r = await content.client.patch(
        url,
        json={"completion": {"rule": "submit"}, "content": {**QUIZ, "max_points": 1}},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["completion"] == {"rule": "submit"}


async def test_a_rule_change_is_an_edit_with_its_event(content: Content, owner: uuid.UUID) -> None:
    module_id = await content.module(owner)
    headers = content.as_("instructor", owner)
    quiz = await content.post(module_id, owner, content=QUIZ)
    text = await content.post(module_id, owner, completion={"rule": "view"})
    url = f"{API}/posts/{quiz['id']}"
    r = await content.client.patch(url, json={"completion": MIN_SCORE}, headers=headers)
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["completion"]) == (2, MIN_SCORE)
    assert r.headers["etag"].startswith('"2.')
    # The same rule again changes nothing and publishes nothing.
    r = await content.client.patch(url, json={"completion": MIN_SCORE}, headers=headers)
    assert r.json()["version"] == 2
    # A rule and a status change: one event (PostPublished) with the new rule.
    r = await content.client.patch(
        url, json={"completion": {"rule": "submit"}, "status": "published"}, headers=headers
    )
    assert r.json()["version"] == 3
    # Other edits keep the rule.
    r = await content.client.patch(
        f"{API}/posts/{text['id']}",
        json={"title": "Renamed", "content": TEXT | {"body": "x"}},
        headers=headers,
    )
    assert r.json()["completion"] == {"rule": "view"}

    events = await content.published(about_module(module_id))
    states = {
        (e.subject, e.type.split(".")[2], e.sequence): ev.PostState.model_validate(e.data)
        for e in events
        if e.aggregatetype == "post"
    }
    assert set(states) == {
        (quiz["id"], "PostCreated", 1),
        (quiz["id"], "PostUpdated", 2),
        (quiz["id"], "PostPublished", 3),
        (text["id"], "PostCreated", 1),
        (text["id"], "PostUpdated", 2),
    }
    rule = {
        k: (s.completion.rule, s.completion.min_score) for k, s in states.items() if s.completion
    }
    assert len(rule) == len(states)  # every post event carries the effective rule
    assert rule[(quiz["id"], "PostCreated", 1)] == ("submit", None)
    assert rule[(quiz["id"], "PostUpdated", 2)] == ("min_score", 7.5)
    assert rule[(quiz["id"], "PostPublished", 3)] == ("submit", None)
    assert rule[(text["id"], "PostCreated", 1)] == ("view", None)
    assert rule[(text["id"], "PostUpdated", 2)] == ("view", None)

"""Bad content of each kind is a 422 problem naming the field (as the client spelled it)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from syllabus_devkit.testing.asserts import assert_problem

from conftest import API, QUIZ, Content

VIDEO = {"kind": "video", "url": "https://example.com/v.mp4"}
LINK = {"kind": "link", "url": "https://example.com/"}
ASSIGNMENT = {"kind": "assignment", "instructions": "Do it.", "max_points": 10}
Q0 = QUIZ["questions"][0]


def quiz_with(**question: Any) -> dict[str, Any]:
    return {**QUIZ, "questions": [{**Q0, **question}]}


BAD_CONTENT: list[tuple[str, dict[str, Any], str]] = [
    # kind
    ("no kind", {"body": "x"}, "content.kind"),
    ("unknown kind", {"kind": "podcast", "url": "https://x.org"}, "content.kind"),
    ("not an object", "just text", "content"),  # type: ignore[list-item]
    # text
    ("text without body", {"kind": "text"}, "content.body"),
    ("text too long", {"kind": "text", "body": "x" * 100_001}, "content.body"),
    ("text not a string", {"kind": "text", "body": 5}, "content.body"),
    ("text with NUL", {"kind": "text", "body": "a\x00b"}, "content.body"),
    ("text unknown field", {"kind": "text", "body": "x", "bdy": "y"}, "content.bdy"),
    # video
    ("video ftp url", {**VIDEO, "url": "ftp://example.com/v.mp4"}, "content.url"),
    ("video no host", {**VIDEO, "url": "https://"}, "content.url"),
    ("video not a url", {**VIDEO, "url": "example.com/v.mp4"}, "content.url"),
    ("video zero duration", {**VIDEO, "duration_seconds": 0}, "content.duration_seconds"),
    ("video negative duration", {**VIDEO, "duration_seconds": -3}, "content.duration_seconds"),
    ("video without url", {"kind": "video"}, "content.url"),
    ("video unknown field", {**VIDEO, "length": 3}, "content.length"),
    # link
    ("link javascript url", {**LINK, "url": "javascript:alert(1)"}, "content.url"),
    ("link not a url", {**LINK, "url": "not a url"}, "content.url"),
    ("link empty url", {**LINK, "url": ""}, "content.url"),
    ("link body field", {**LINK, "body": "x"}, "content.body"),
    # assignment
    ("assignment empty instructions", {**ASSIGNMENT, "instructions": "  "}, "content.instructions"),
    (
        "assignment huge instructions",
        {**ASSIGNMENT, "instructions": "x" * 20_001},
        "content.instructions",
    ),
    ("assignment zero points", {**ASSIGNMENT, "max_points": 0}, "content.max_points"),
    ("assignment no points", {"kind": "assignment", "instructions": "x"}, "content.max_points"),
    ("assignment points as text", {**ASSIGNMENT, "max_points": "ten"}, "content.max_points"),
    ("assignment naive due_at", {**ASSIGNMENT, "due_at": "2030-01-01T10:00:00"}, "content.due_at"),
    ("assignment bad due_at", {**ASSIGNMENT, "due_at": "next friday"}, "content.due_at"),
    ("assignment epoch due_at", {**ASSIGNMENT, "due_at": 1893456000}, "content.due_at"),
    # quiz
    ("quiz no questions", {**QUIZ, "questions": []}, "content.questions"),
    ("quiz no max_points", {"kind": "quiz", "questions": [Q0]}, "content.max_points"),
    ("quiz negative points", {**QUIZ, "max_points": -1}, "content.max_points"),
    ("quiz empty prompt", quiz_with(prompt=""), "content.questions.0.prompt"),
    ("quiz one choice", quiz_with(choices=["a"], answer_index=0), "content.questions.0.choices"),
    ("quiz empty choice", quiz_with(choices=["a", ""]), "content.questions.0.choices.1"),
    ("quiz choice not text", quiz_with(choices=["a", 2]), "content.questions.0.choices.1"),
    ("quiz answer out of range", quiz_with(answer_index=3), "content.questions.0.answer_index"),
    ("quiz negative answer", quiz_with(answer_index=-1), "content.questions.0.answer_index"),
    (
        "quiz no answer",
        {**QUIZ, "questions": [{"prompt": "p", "choices": ["a", "b"]}]},
        "content.questions.0.answer_index",
    ),
    ("quiz question extra field", quiz_with(hint="h"), "content.questions.0.hint"),
]


@pytest.mark.parametrize(("case", "bad", "field"), BAD_CONTENT, ids=[c[0] for c in BAD_CONTENT])
async def test_bad_content_is_422_naming_the_field(
    content: Content, module_and_owner: tuple[uuid.UUID, uuid.UUID], case: str, bad: Any, field: str
) -> None:
    module_id, owner = module_and_owner
    r = await content.client.post(
        f"{API}/modules/{module_id}/posts",
        json={"title": "T", "content": bad},
        headers=content.as_("instructor", owner),
    )
    body = assert_problem(r, 422, field)
    assert body["type"].endswith("/validation-error")
    assert field in body["detail"]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"content": QUIZ}, "title"),
        ({"title": "", "content": QUIZ}, "title"),
        ({"title": "x" * 201, "content": QUIZ}, "title"),
        ({"title": "t"}, "content"),
        ({"title": "t", "content": QUIZ, "position": 0}, "position"),
        ({"title": "t", "content": QUIZ, "status": "archived"}, "status"),
        ({"title": "t", "content": QUIZ, "stauts": "draft"}, "stauts"),
    ],
)
async def test_bad_post_fields(
    content: Content, module_and_owner: tuple[uuid.UUID, uuid.UUID], bad: dict[str, Any], field: str
) -> None:
    module_id, owner = module_and_owner
    r = await content.client.post(
        f"{API}/modules/{module_id}/posts", json=bad, headers=content.as_("instructor", owner)
    )
    assert_problem(r, 422, field)


async def test_malformed_json_is_400(
    content: Content, module_and_owner: tuple[uuid.UUID, uuid.UUID]
) -> None:
    module_id, owner = module_and_owner
    r = await content.client.post(
        f"{API}/modules/{module_id}/posts",
        content=b'{"title": ',
        headers={**content.as_("instructor", owner), "Content-Type": "application/json"},
    )
    assert_problem(r, 400)


async def test_patch_content_is_validated_like_create(
    content: Content, module_and_owner: tuple[uuid.UUID, uuid.UUID]
) -> None:
    module_id, owner = module_and_owner
    post = await content.post(module_id, owner, content=QUIZ)
    url = f"{API}/posts/{post['id']}"
    headers = content.as_("instructor", owner)
    r = await content.client.patch(
        url, json={"content": quiz_with(answer_index=9)}, headers=headers
    )
    assert_problem(r, 422, "content.questions.0.answer_index")
    r = await content.client.patch(url, json={"content": LINK}, headers=headers)
    body = assert_problem(r, 422, "content.kind")
    assert "quiz" in body["detail"]
    r = await content.client.get(url, headers=headers)
    assert r.json()["version"] == 1


@pytest.fixture(scope="module")
def module_owner() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
async def module_and_owner(
    content: Content, module_owner: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID]:
    return await content.module(module_owner), module_owner

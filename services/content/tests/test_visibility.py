"""Who sees which posts: owner and admin everything; others published posts of modules
used by a course they may see; quiz answers only for the owner and admins."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from syllabus_devkit.testing.asserts import assert_problem, eventually
from syllabus_shared.contracts import catalog as ce

from conftest import API, QUIZ, Content


@dataclass
class Setup:
    owner: uuid.UUID
    module_id: uuid.UUID
    quiz: dict[str, Any]  # published
    draft: dict[str, Any]
    text: dict[str, Any]  # published


async def _module_with_posts(content: Content) -> Setup:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    quiz = await content.post(module_id, owner, content=QUIZ, status="published")
    draft = await content.post(module_id, owner)
    text = await content.post(module_id, owner, status="published")
    return Setup(owner, module_id, quiz, draft, text)


async def _sees(
    content: Content, s: Setup, headers: dict[str, str]
) -> tuple[int, list[str], dict[str, Any] | None]:
    """(list status, listed post ids, the quiz as GET /posts shows it or None)."""
    r = await content.client.get(f"{API}/modules/{s.module_id}/posts", headers=headers)
    listed = [p["id"] for p in r.json()["items"]] if r.status_code == 200 else []
    if r.status_code != 200:
        assert_problem(r, 404)
    one = await content.client.get(f"{API}/posts/{s.quiz['id']}", headers=headers)
    if one.status_code != 200:
        assert_problem(one, 404)
    draft = await content.client.get(f"{API}/posts/{s.draft['id']}", headers=headers)
    if s.draft["id"] not in listed:
        assert_problem(draft, 404)
    return r.status_code, listed, one.json() if one.status_code == 200 else None


def _answers(quiz: dict[str, Any]) -> list[Any]:
    return [q.get("answer_index", "hidden") for q in quiz["content"]["questions"]]


async def test_published_public_course(content: Content) -> None:
    s = await _module_with_posts(content)
    await content.course(s.owner, [s.module_id])
    everything = [s.quiz["id"], s.draft["id"], s.text["id"]]
    published = [s.quiz["id"], s.text["id"]]
    for role, user, listed, answers in (
        (None, None, published, ["hidden", "hidden"]),
        ("student", None, published, ["hidden", "hidden"]),
        ("instructor", None, published, ["hidden", "hidden"]),  # not the owner
        ("instructor", s.owner, everything, [1, 0]),
        ("admin", None, everything, [1, 0]),
    ):
        status, ids, quiz = await _sees(content, s, content.as_(role, user))
        assert (status, ids) == (200, listed), role
        assert quiz is not None
        assert _answers(quiz) == answers, role
        assert quiz["content"]["questions"][0]["choices"] == ["3", "4", "5"]


async def test_the_list_hides_answers_too(content: Content) -> None:
    s = await _module_with_posts(content)
    await content.course(s.owner, [s.module_id])
    r = await content.client.get(
        f"{API}/modules/{s.module_id}/posts", headers=content.as_("student")
    )
    assert "answer_index" not in r.text
    r = await content.client.get(f"{API}/modules/{s.module_id}/posts", headers=content.as_("admin"))
    assert "answer_index" in r.text


@pytest.mark.parametrize(
    ("status", "visibility"),
    [("draft", "public"), ("archived", "public"), ("published", "private")],
)
async def test_course_not_public_hides_posts(
    content: Content, status: str, visibility: str
) -> None:
    s = await _module_with_posts(content)
    creator = uuid.uuid4()  # an instructor who built the course from s's module
    await content.course(creator, [s.module_id], status=status, visibility=visibility)
    for role, user in ((None, None), ("student", None), ("instructor", None)):
        code, _, quiz = await _sees(content, s, content.as_(role, user))
        assert (code, quiz) == (404, None), role
    # The course's own creator sees the published posts (without answers).
    code, ids, quiz = await _sees(content, s, content.as_("instructor", creator))
    assert (code, ids) == (200, [s.quiz["id"], s.text["id"]])
    assert quiz is not None
    assert _answers(quiz) == ["hidden", "hidden"]
    # Owner and admin see everything, whatever the course.
    for role, user in (("instructor", s.owner), ("admin", None)):
        code, ids, _ = await _sees(content, s, content.as_(role, user))
        assert (code, len(ids)) == (200, 3)


async def test_module_in_no_course_is_only_for_owner_and_admin(content: Content) -> None:
    s = await _module_with_posts(content)
    for role in (None, "student", "instructor"):
        code, _, _ = await _sees(content, s, content.as_(role))
        assert code == 404, role
    code, ids, _ = await _sees(content, s, content.as_("instructor", s.owner))
    assert (code, len(ids)) == (200, 3)


async def test_visibility_follows_course_events(content: Content) -> None:
    """Unpublished, detached or deleted: the posts disappear for the public again."""
    s = await _module_with_posts(content)
    course_id = await content.course(s.owner, [s.module_id])
    guest: dict[str, str] = {}
    assert (await _sees(content, s, guest))[0] == 200

    # Archived → hidden.
    await content.publish(content.course_state(course_id, s.owner, "archived"), 3)
    await _eventually_status(content, s, guest, 404)
    # Published again → visible.
    await content.publish(content.course_state(course_id, s.owner, "published"), 4)
    await _eventually_status(content, s, guest, 200)

    # Detached → hidden.
    await content.publish(
        ce.ModuleDetached(course_id=course_id, modules=[], module_id=s.module_id), 2
    )
    await _eventually_status(content, s, guest, 404)
    # A second course using it, then that course deleted.
    other = await content.course(s.owner, [s.module_id])
    assert (await _sees(content, s, guest))[0] == 200
    await content.publish(ce.CourseDeleted(course_id=other), 5)
    await _eventually_status(content, s, guest, 404)


async def _eventually_status(
    content: Content, s: Setup, headers: dict[str, str], status: int
) -> None:
    async def probe() -> int:
        r = await content.client.get(f"{API}/modules/{s.module_id}/posts", headers=headers)
        return r.status_code

    assert await eventually(probe, lambda code: code == status) == status


async def test_unpublished_post_disappears(content: Content) -> None:
    s = await _module_with_posts(content)
    await content.course(s.owner, [s.module_id])
    r = await content.client.patch(
        f"{API}/posts/{s.text['id']}",
        json={"status": "draft"},
        headers=content.as_("instructor", s.owner),
    )
    assert r.status_code == 200
    _, ids, _ = await _sees(content, s, content.as_("student"))
    assert ids == [s.quiz["id"]]
    assert_problem(
        await content.client.get(f"{API}/posts/{s.text['id']}", headers=content.as_("student")),
        404,
    )

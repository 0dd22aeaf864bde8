"""Views: a student's GET /posts/{id} is a view, recorded once per (student, post) and
published as PostViewed in the same transaction; nobody else's reading is, and listing a
module's posts never is."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import delete, select
from syllabus_content.models import Post, PostView
from syllabus_shared.contracts import Envelope
from syllabus_shared.contracts import content as ev

from conftest import API, QUIZ, Content

VIEWED = ev.PostViewed.type_name()


async def _views(content: Content, post_id: str) -> list[Envelope]:
    return [e for e in await content.outbox() if e.type == VIEWED and e.data["post_id"] == post_id]


async def _rows(content: Content, post_id: str) -> list[PostView]:
    async with content.runtime.db.transaction() as session:
        rows = await session.scalars(select(PostView).where(PostView.post_id == uuid.UUID(post_id)))
        return list(rows.all())


async def _published_post(
    content: Content, body: dict[str, Any] | None = None, **fields: Any
) -> tuple[uuid.UUID, dict[str, Any]]:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    post = await content.post(module_id, owner, body, status="published", **fields)
    await content.course(owner, [module_id])
    return owner, post


async def test_a_students_first_get_is_one_view(content: Content) -> None:
    _, post = await _published_post(content, completion={"rule": "view"})
    student = uuid.uuid4()
    url = f"{API}/posts/{post['id']}"
    before = dt.datetime.now(dt.UTC)
    r = await content.client.get(url, headers=content.as_("student", student))
    assert r.status_code == 200
    assert r.json()["completion"] == {"rule": "view"}
    [envelope] = await _views(content, post["id"])
    viewed = ev.PostViewed.model_validate(envelope.data)
    [row] = await _rows(content, post["id"])
    assert (viewed.post_id, viewed.user_id) == (uuid.UUID(post["id"]), student)
    assert viewed.view_id == row.view_id and row.user_id == student
    assert viewed.view_id.version == 7
    assert before <= viewed.viewed_at <= dt.datetime.now(dt.UTC)
    assert viewed.viewed_at == row.viewed_at
    assert (envelope.aggregatetype, envelope.subject, envelope.sequence) == (
        "post_view",
        str(viewed.view_id),
        1,
    )
    assert envelope.source == "content"

    # Later reads, conditional ones included, record and publish nothing more.
    r = await content.client.get(url, headers=content.as_("student", student))
    assert r.status_code == 200
    r = await content.client.get(
        url, headers={**content.as_("student", student), "If-None-Match": r.headers["etag"]}
    )
    assert r.status_code == 304
    assert len(await _views(content, post["id"])) == 1
    assert len(await _rows(content, post["id"])) == 1

    # Another student's first read is their own view; the event reaches the stream.
    other = uuid.uuid4()
    await content.client.get(url, headers=content.as_("student", other))
    assert {e.data["user_id"] for e in await _views(content, post["id"])} == {
        str(student),
        str(other),
    }
    on_bus = await content.published(lambda e: e.type == VIEWED and e.data["post_id"] == post["id"])
    assert len(on_bus) == 2


async def test_a_conditional_get_still_records_the_first_view(content: Content) -> None:
    _, post = await _published_post(content)
    url = f"{API}/posts/{post['id']}"
    etag = (await content.client.get(url)).headers["etag"]  # a guest: not a view
    assert await _views(content, post["id"]) == []
    student = uuid.uuid4()
    r = await content.client.get(
        url, headers={**content.as_("student", student), "If-None-Match": etag}
    )
    assert r.status_code == 304
    [view] = await _views(content, post["id"])
    assert view.data["user_id"] == str(student)


async def test_only_students_reading_a_post_view_it(content: Content) -> None:
    owner, post = await _published_post(content, body=QUIZ)
    url = f"{API}/posts/{post['id']}"
    for headers in (
        {},  # a guest
        content.as_("instructor", owner),  # the owner
        content.as_("instructor"),  # another instructor (the course is public)
        content.as_("admin"),
    ):
        r = await content.client.get(url, headers=headers)
        assert r.status_code == 200, r.text
    assert await _views(content, post["id"]) == []
    # Listing the module's posts is never a view, for a student either.
    student = content.as_("student")
    r = await content.client.get(f"{API}/modules/{post['module_id']}/posts", headers=student)
    assert [p["id"] for p in r.json()["items"]] == [post["id"]]
    assert await _views(content, post["id"]) == []
    assert await _rows(content, post["id"]) == []
    # The student's own read is one, and still hides the quiz's answers.
    r = await content.client.get(url, headers=student)
    assert all("answer_index" not in q for q in r.json()["content"]["questions"])
    assert r.json()["completion"] == {"rule": "submit"}
    assert len(await _views(content, post["id"])) == 1


async def test_a_post_the_student_cannot_read_is_no_view(content: Content) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    draft = await content.post(module_id, owner)
    published = await content.post(module_id, owner, status="published")  # in no course
    student = content.as_("student")
    for post in (draft, published):
        r = await content.client.get(f"{API}/posts/{post['id']}", headers=student)
        assert r.status_code == 404
        assert await _views(content, post["id"]) == []
    r = await content.client.get(f"{API}/posts/{uuid.uuid4()}", headers=student)
    assert r.status_code == 404


async def test_concurrent_first_reads_publish_one_view(content: Content) -> None:
    _, post = await _published_post(content)
    headers = content.as_("student")
    url = f"{API}/posts/{post['id']}"
    responses = await asyncio.gather(*(content.client.get(url, headers=headers) for _ in range(8)))
    assert {r.status_code for r in responses} == {200}
    assert len(await _views(content, post["id"])) == 1


async def test_deleting_a_post_deletes_its_views(content: Content) -> None:
    owner, post = await _published_post(content)
    await content.client.get(f"{API}/posts/{post['id']}", headers=content.as_("student"))
    assert len(await _rows(content, post["id"])) == 1
    r = await content.client.delete(
        f"{API}/posts/{post['id']}", headers=content.as_("instructor", owner)
    )
    assert r.status_code == 204
    assert await _rows(content, post["id"]) == []


async def test_a_view_racing_the_posts_deletion_leaves_no_view(content: Content) -> None:
    """A student's read that waits behind a delete in flight records nothing once the
    delete commits (chaos found stray views of deleted posts before the share lock)."""
    _, post = await _published_post(content)
    post_id = uuid.UUID(post["id"])
    student = content.as_("student", uuid.uuid4())
    async with content.runtime.db.transaction() as session:
        # The delete path's order: the post row locked first, then its views, then the post.
        await session.execute(select(Post).where(Post.id == post_id).with_for_update())
        read = asyncio.create_task(content.client.get(f"{API}/posts/{post_id}", headers=student))
        await asyncio.sleep(0.3)  # the read has loaded the post and waits on its lock
        await session.execute(delete(PostView).where(PostView.post_id == post_id))
        await session.execute(delete(Post).where(Post.id == post_id))
    r = await read
    assert r.status_code in (200, 404)  # read before or after the delete: either is fair
    assert await _rows(content, post["id"]) == []
    assert await _views(content, post["id"]) == []

"""The catalog projection converges under duplicated, redelivered and out-of-order events;
a module deleted in catalog takes its posts with it; completion counts come from progress."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from sqlalchemy import select
from syllabus_content.models import Completion, KnownModule, Post
from syllabus_devkit.testing.asserts import assert_problem, eventually
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as pe
from syllabus_shared.ids import new_id

from conftest import API, QUIZ, Content, about_module


def placements(*modules: uuid.UUID) -> list[ce.ModulePlacement]:
    return [ce.ModulePlacement(module_id=m, position=i + 1) for i, m in enumerate(modules)]


async def _applied(content: Content, marker: uuid.UUID) -> None:
    """Wait until a marker module published last is applied: the single consumer works in
    stream order, so everything published before it has been handled by then."""
    found = await eventually(lambda: content.known_module(marker), lambda m: m is not None)
    assert found is not None


async def _marker(content: Content) -> uuid.UUID:
    marker = new_id()
    await content.publish(ce.ModuleCreated(module_id=marker, title="marker", creator_id=marker), 1)
    return marker


async def test_module_events_converge(content: Content) -> None:
    owner, mid = uuid.uuid4(), new_id()
    v1 = ce.ModuleCreated(module_id=mid, title="v1", creator_id=owner)
    v2 = ce.ModuleUpdated(module_id=mid, title="v2", creator_id=owner)
    v3 = ce.ModuleUpdated(module_id=mid, title="v3", creator_id=owner)
    e1, e2, e3 = content.envelope(v1, 1), content.envelope(v2, 2), content.envelope(v3, 3)
    # Out of order, with duplicates and redeliveries of the same envelopes.
    for event, env in ((v3, e3), (v1, e1), (v2, e2), (v1, e1), (v3, e3), (v2, e2), (v3, e3)):
        await content.publish(event, env.sequence, envelope=env)
    await _applied(content, await _marker(content))
    module = await content.known_module(mid)
    assert module is not None
    assert (module.title, module.creator_id, module.deleted) == ("v3", owner, False)


async def test_deletion_before_creation_leaves_a_tombstone(content: Content) -> None:
    owner, mid = uuid.uuid4(), new_id()
    await content.publish(ce.ModuleDeleted(module_id=mid), 2)
    await content.publish(ce.ModuleCreated(module_id=mid, title="late", creator_id=owner), 1)
    await _applied(content, await _marker(content))
    module = await content.known_module(mid)
    assert module is not None
    assert module.deleted
    # A deleted module is unknown at once (no read-your-writes wait).
    r = await content.client.post(
        f"{API}/modules/{mid}/posts",
        json={"title": "t", "content": QUIZ},
        headers=content.as_("instructor", owner),
    )
    assert_problem(r, 404)


async def test_course_and_outline_events_converge(content: Content) -> None:
    owner = uuid.uuid4()
    course_id = new_id()
    a, b, c = new_id(), new_id(), new_id()
    created = content.course_state(course_id, owner, "draft")
    published = content.course_state(course_id, owner, "published")
    archived = content.course_state(course_id, owner, "archived")
    o1 = ce.ModuleAttached(course_id=course_id, modules=placements(a), module_id=a, position=1)
    o2 = ce.ModuleAttached(course_id=course_id, modules=placements(a, b), module_id=b, position=2)
    o3 = ce.ModuleAttached(
        course_id=course_id, modules=placements(a, b, c), module_id=c, position=3
    )
    o4 = ce.CourseModulesReordered(course_id=course_id, modules=placements(c, a, b))
    o5 = ce.ModuleDetached(course_id=course_id, modules=placements(c, b), module_id=a)
    course_events = [(created, 1), (published, 2), (archived, 3), (published, 4)]
    outline_events = [(o1, 1), (o2, 2), (o3, 3), (o4, 4), (o5, 5)]
    envelopes = [(e, content.envelope(e, s)) for e, s in course_events + outline_events]
    order = [8, 3, 0, 7, 2, 5, 4, 1, 6, 8, 0, 3, 7]  # shuffled, with duplicates
    for i in order:
        event, env = envelopes[i]
        await content.publish(event, env.sequence, envelope=env)
    await _applied(content, await _marker(content))
    course = await content.known_course(course_id)
    assert course is not None
    assert (course.status, course.visibility, course.deleted) == ("published", "public", False)
    assert await content.course_modules(course_id) == [c, b]  # o5, though o1-o4 came later


async def test_course_deletion_wins_over_late_outline_events(content: Content) -> None:
    owner, course_id, mid = uuid.uuid4(), new_id(), new_id()
    await content.publish(ce.CourseDeleted(course_id=course_id), 2)
    await content.publish(content.course_state(course_id, owner, "draft"), 1)
    await content.publish(
        ce.ModuleAttached(course_id=course_id, modules=placements(mid), module_id=mid, position=1),
        1,
    )
    await _applied(content, await _marker(content))
    course = await content.known_course(course_id)
    assert course is not None
    assert course.deleted
    assert await content.course_modules(course_id) == []


async def test_module_deletion_cascades_to_posts(content: Content) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    kept = await content.module(owner)
    posts = [await content.post(module_id, owner, status="published") for _ in range(3)]
    other = await content.post(kept, owner)
    headers = content.as_("instructor", owner)
    # Versions differ: PostDeleted's sequence is each post's version + 1.
    r = await content.client.patch(
        f"{API}/posts/{posts[1]['id']}", json={"title": "v2"}, headers=headers
    )
    assert r.json()["version"] == 2

    deleted = ce.ModuleDeleted(module_id=module_id)
    env = content.envelope(deleted, 2)
    await content.publish(deleted, 2, envelope=env)
    await content.publish(deleted, 2, envelope=env)  # redelivered: nothing happens twice

    async def remaining() -> list[tuple[str, int]]:
        return await content.db_positions(module_id)

    assert await eventually(remaining, lambda rows: rows == []) == []
    await _applied(content, await _marker(content))

    gone = [
        e
        for e in await content.outbox()
        if e.type == "syllabus.content.PostDeleted.v1" and e.data["module_id"] == str(module_id)
    ]
    assert sorted((e.subject, e.sequence) for e in gone) == sorted(
        [(posts[0]["id"], 2), (posts[1]["id"], 3), (posts[2]["id"], 2)]
    )
    assert all(e.causationid == str(env.id) for e in gone)  # caused by catalog's event
    events = await content.published(about_module(module_id))
    assert sum(e.type.endswith("PostDeleted.v1") for e in events) == 3
    last_order = [e for e in events if e.type.endswith("ModulePostsReordered.v1")][-1]
    assert last_order.data["posts"] == []
    assert last_order.sequence == 4  # 3 creates, then the deletion

    module = await content.known_module(module_id)
    assert module is not None
    assert module.deleted
    for p in posts:
        assert_problem(await content.client.get(f"{API}/posts/{p['id']}", headers=headers), 404)
    assert_problem(
        await content.client.get(f"{API}/modules/{module_id}/posts", headers=headers), 404
    )
    r = await content.client.post(
        f"{API}/modules/{module_id}/posts", json={"title": "t", "content": QUIZ}, headers=headers
    )
    assert_problem(r, 404)
    # Other modules are untouched.
    assert await content.order(kept, owner) == [other["id"]]


async def test_module_deletion_races_with_writes(content: Content) -> None:
    """Posts created while the deletion is applied either never happen or are deleted."""
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    headers = content.as_("instructor", owner)
    url = f"{API}/modules/{module_id}/posts"

    async def create() -> int:
        r = await content.client.post(url, json={"title": "t", "content": QUIZ}, headers=headers)
        return r.status_code

    tasks = [asyncio.create_task(create()) for _ in range(10)]
    await content.publish(ce.ModuleDeleted(module_id=module_id), 2)
    codes = await asyncio.gather(*tasks)
    assert set(codes) <= {201, 404}
    assert await eventually(lambda: content.db_positions(module_id), lambda rows: rows == []) == []
    await _applied(content, await _marker(content))
    events = await content.published(about_module(module_id))
    created = {e.subject for e in events if e.type.endswith("PostCreated.v1")}
    removed = {e.subject for e in events if e.type.endswith("PostDeleted.v1")}
    assert created == removed
    assert len(created) == codes.count(201)


async def test_completion_count(content: Content) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    post = await content.post(module_id, owner, status="published")
    pid = uuid.UUID(post["id"])
    now = dt.datetime.now(dt.UTC)

    def completed(cid: uuid.UUID, user: uuid.UUID) -> pe.PostCompleted:
        return pe.PostCompleted(completion_id=cid, user_id=user, post_id=pid, completed_at=now)

    def uncompleted(cid: uuid.UUID, user: uuid.UUID) -> pe.PostUncompleted:
        return pe.PostUncompleted(completion_id=cid, user_id=user, post_id=pid)

    users = [uuid.uuid4() for _ in range(4)]
    cids = [new_id() for _ in users]
    # Three users complete it (one of them twice over: a duplicate); user 3 completes,
    # un-completes, and the stale completion arrives last; user 4's v2 un-complete arrives
    # before its v1.
    c0 = content.envelope(completed(cids[0], users[0]), 1)
    for event, seq, env in (
        (completed(cids[0], users[0]), 1, c0),
        (completed(cids[0], users[0]), 1, c0),
        (completed(cids[1], users[1]), 1, None),
        (uncompleted(cids[2], users[2]), 2, None),
        (completed(cids[2], users[2]), 1, None),
        (completed(cids[2], users[2]), 3, None),
        (uncompleted(cids[3], users[3]), 2, None),
        (completed(cids[3], users[3]), 1, None),
    ):
        await content.publish(event, seq, envelope=env)

    async def count() -> int:
        async with content.runtime.db.transaction() as session:
            return int(
                await session.scalar(select(Post.completion_count).where(Post.id == pid)) or 0
            )

    # Count settles at 3 (users 0, 1, 2), never 4 or 5; check it stays there.
    await _applied_progress(content, pid, users)
    assert await count() == 3
    r = await content.client.get(f"{API}/posts/{pid}", headers=content.as_("instructor", owner))
    assert (r.json()["completion_count"], r.json()["version"]) == (3, 1)


async def _applied_progress(content: Content, pid: uuid.UUID, users: list[uuid.UUID]) -> None:
    """Wait for a marker completion published last (the progress consumer works in order)."""
    marker_cid = new_id()
    await content.publish(
        pe.PostUncompleted(completion_id=marker_cid, user_id=users[0], post_id=pid), 1
    )

    async def marker_seen() -> bool:
        async with content.runtime.db.transaction() as session:
            return await session.get(Completion, marker_cid) is not None

    assert await eventually(marker_seen, bool)


async def test_module_projection_rows(content: Content) -> None:
    """ModuleUpdated keeps the owner; the order counter starts at 0 and is content's own."""
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    await content.publish(
        ce.ModuleUpdated(module_id=module_id, title="Renamed", creator_id=owner), 2
    )

    async def title() -> str | None:
        async with content.runtime.db.transaction() as session:
            return await session.scalar(
                select(KnownModule.title).where(KnownModule.module_id == module_id)
            )

    assert await eventually(title, lambda t: t == "Renamed") == "Renamed"
    module = await content.known_module(module_id)
    assert module is not None
    assert (module.creator_id, module.posts_order_version) == (owner, 0)


async def test_completions_that_arrive_together_are_counted_as_one_by_one(
    content: Content,
) -> None:
    """A consumer that fell behind gets many completions in one batch (set-based: one
    upsert, one recount per post); the counts equal applying them one at a time, with
    a completion's newest state winning and a deleted account's completion left out."""
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    posts = [uuid.UUID((await content.post(module_id, owner, status="published"))["id"])]
    posts.append(uuid.UUID((await content.post(module_id, owner, status="published"))["id"]))
    now = dt.datetime.now(dt.UTC)
    users = [uuid.uuid4() for _ in range(5)]
    gone = users[4]
    await content.publish(ie.UserDeleted(user_id=gone, deleted_at=now), 2)

    async def deletion_applied() -> bool:
        deleted = content.runtime.tables.deleted_users
        async with content.runtime.db.transaction() as session:
            found = await session.scalar(select(deleted.c.user_id).where(deleted.c.user_id == gone))
        return found is not None

    assert await eventually(deletion_applied, bool)
    [from_progress] = [c for c in content.runtime.consumers if c.subscription.source == "progress"]
    from_progress.pause()
    try:
        cid = {(u, p): new_id() for u in users for p in posts}
        for u in users:
            for p in posts:
                event = pe.PostCompleted(
                    completion_id=cid[u, p], user_id=u, post_id=p, completed_at=now
                )
                await content.publish(event, 1)
        # User 0 un-completes post 0 (newer), in the same batch as its completion.
        await content.publish(
            pe.PostUncompleted(
                completion_id=cid[users[0], posts[0]], user_id=users[0], post_id=posts[0]
            ),
            2,
        )
    finally:
        from_progress.resume()

    async def counts() -> list[int]:
        async with content.runtime.db.transaction() as session:
            rows = dict((await session.execute(select(Post.id, Post.completion_count))).all())
        return [rows.get(p, 0) for p in posts]

    # Post 0: users 1-3 (0 un-completed, 4 deleted); post 1: users 0-3.
    assert await eventually(counts, lambda c: c == [3, 4]) == [3, 4]

"""What content publishes: one post event per change with the post's whole state, and
ModulePostsReordered with the whole order on every change of a module's order."""

from __future__ import annotations

import uuid
from collections import Counter

from syllabus_shared.contracts import EVENTS_BY_TYPE
from syllabus_shared.contracts import content as ev

from conftest import API, CONTENT_OF_EACH_KIND, QUIZ, Content, about_module


def short(type_name: str) -> str:
    return type_name.split(".")[2]


async def test_each_change_is_published_exactly_once(content: Content) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    headers = content.as_("instructor", owner)
    a = await content.post(module_id, owner, content=QUIZ, title="Quiz")  # 1 create
    b = await content.post(module_id, owner, content=CONTENT_OF_EACH_KIND["assignment"])
    c = await content.post(module_id, owner, position=1)  # inserts first
    ua = f"{API}/posts/{a['id']}"
    steps = [
        (ua, {"title": "Quiz 1"}),  # PostUpdated v2
        (ua, {"status": "published", "title": "Quiz one"}),  # PostPublished v3 (one event)
        (ua, {"position": 3}),  # ModulePostsReordered only
        (ua, {"status": "draft"}),  # PostUnpublished v4
        (ua, {"status": "draft"}),  # nothing
    ]
    for url, body in steps:
        r = await content.client.patch(url, json=body, headers=headers)
        assert r.status_code == 200, r.text
    r = await content.client.put(
        f"{API}/modules/{module_id}/posts",
        json={"post_ids": [a["id"], b["id"], c["id"]]},
        headers=headers,
    )
    assert r.status_code == 200
    r = await content.client.delete(f"{API}/posts/{b['id']}", headers=headers)
    assert r.status_code == 204

    events = await content.published(about_module(module_id))
    assert len({e.id for e in events}) == len(events)  # each exactly once in the stream
    post_events = [
        (short(e.type), e.subject, e.sequence) for e in events if e.aggregatetype == "post"
    ]
    assert Counter(post_events) == Counter(
        [
            ("PostCreated", a["id"], 1),
            ("PostCreated", b["id"], 1),
            ("PostCreated", c["id"], 1),
            ("PostUpdated", a["id"], 2),
            ("PostPublished", a["id"], 3),
            ("PostUnpublished", a["id"], 4),
            ("PostDeleted", b["id"], 2),
        ]
    )
    orders = sorted(
        (e for e in events if e.aggregatetype == "module_posts"), key=lambda e: e.sequence
    )
    assert all(e.subject == str(module_id) for e in orders)
    # 3 creates, 1 move, 1 reorder, 1 delete.
    assert [e.sequence for e in orders] == [1, 2, 3, 4, 5, 6]
    final = [(p["post_id"], p["position"]) for p in orders[-1].data["posts"]]
    assert final == [(a["id"], 1), (c["id"], 2)]
    assert [p["post_id"] for p in orders[2].data["posts"]] == [c["id"], a["id"], b["id"]]

    # Payloads parse as the contracts say and carry what progress needs.
    for e in events:
        EVENTS_BY_TYPE[e.type].model_validate(e.data)
        assert e.source == "content"
    published = next(e for e in events if short(e.type) == "PostPublished")
    data = ev.PostPublished.model_validate(published.data)
    assert (data.title, data.kind, data.status, data.max_points) == (
        "Quiz one",
        "quiz",
        "published",
        10,
    )
    assert (data.module_id, data.creator_id, data.position) == (module_id, owner, 2)
    created_b = next(e for e in events if short(e.type) == "PostCreated" and e.subject == b["id"])
    assert created_b.data["max_points"] == 50
    created_c = next(e for e in events if short(e.type) == "PostCreated" and e.subject == c["id"])
    assert (created_c.data["max_points"], created_c.data["position"]) == (None, 1)
    # The request id correlates a request's events.
    assert published.correlationid


async def test_failed_write_emits_nothing(content: Content) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    headers = content.as_("instructor", owner)
    post = await content.post(module_id, owner, content=QUIZ)
    r = await content.client.patch(
        f"{API}/posts/{post['id']}", json={"title": "x", "position": 9}, headers=headers
    )
    assert r.status_code == 422
    r = await content.client.patch(
        f"{API}/posts/{post['id']}", json={"title": "x"}, headers={**headers, "If-Match": '"5"'}
    )
    assert r.status_code == 412
    events = await content.published(about_module(module_id))
    assert [short(e.type) for e in events] == ["PostCreated", "ModulePostsReordered"]

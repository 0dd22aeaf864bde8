"""Every route's happy path, and the HTTP conventions (ETag, If-Match, Idempotency-Key)."""

from __future__ import annotations

import uuid

import pytest
from syllabus_devkit.testing.asserts import assert_problem

from conftest import API, CONTENT_OF_EACH_KIND, QUIZ, TEXT, Content


@pytest.mark.parametrize("kind", list(CONTENT_OF_EACH_KIND))
async def test_create_and_read_each_kind(content: Content, kind: str) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    body = CONTENT_OF_EACH_KIND[kind]
    r = await content.client.post(
        f"{API}/modules/{module_id}/posts",
        json={"title": f"  A {kind}  ", "content": body},
        headers=content.as_("instructor", owner),
    )
    assert r.status_code == 201, r.text
    post = r.json()
    assert post["title"] == f"A {kind}"
    assert post["status"] == "draft"
    assert post["position"] == 1
    assert post["module_id"] == str(module_id)
    assert post["creator_id"] == str(owner)
    assert post["completion_count"] == 0
    assert post["submission_count"] == 0
    assert post["version"] == 1
    assert post["content"]["kind"] == kind
    assert r.headers["etag"] == '"1.1-0-0"'  # version 1, position 1, no completions or submitters
    assert r.headers["location"] == f"/api/v1/posts/{post['id']}"
    assert uuid.UUID(post["id"]).version == 7
    if kind == "assignment":
        assert post["content"]["due_at"] == "2030-01-31T23:59:00+01:00"
        assert post["content"]["attempts"] is None  # unlimited, the default
    elif kind == "quiz":
        assert post["content"] == {**body, "due_at": None, "attempts": 1}  # the default
    elif kind == "video":
        assert post["content"]["url"] == body["url"]  # stored as given, not normalised
    else:
        assert post["content"] == {**body}

    r = await content.client.get(
        f"{API}/posts/{post['id']}", headers=content.as_("instructor", owner)
    )
    assert r.status_code == 200
    assert r.json() == post
    assert r.headers["etag"] == '"1.1-0-0"'  # version 1, position 1, no completions or submitters


async def test_create_at_position_and_default_at_end(content: Content) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    a = await content.post(module_id, owner, title="A")
    b = await content.post(module_id, owner, title="B")
    c = await content.post(module_id, owner, title="C", position=1)
    d = await content.post(module_id, owner, title="D", position=3, status="published")
    assert (a["position"], b["position"], c["position"], d["position"]) == (1, 2, 1, 3)
    assert d["status"] == "published"
    assert await content.order(module_id, owner) == [c["id"], a["id"], d["id"], b["id"]]
    r = await content.client.post(
        f"{API}/modules/{module_id}/posts",
        json={"title": "E", "content": TEXT, "position": 6},
        headers=content.as_("instructor", owner),
    )
    assert_problem(r, 422, "position")


async def test_list_is_ordered_and_paginated(content: Content) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    ids = [(await content.post(module_id, owner, title=f"P{i}"))["id"] for i in range(5)]
    headers = content.as_("instructor", owner)
    url = f"{API}/modules/{module_id}/posts"
    r = await content.client.get(f"{url}?limit=2", headers=headers)
    assert r.status_code == 200
    page = r.json()
    seen = [p["id"] for p in page["items"]]
    while page["next_cursor"]:
        r = await content.client.get(f"{url}?limit=2&cursor={page['next_cursor']}", headers=headers)
        assert r.status_code == 200
        page = r.json()
        seen += [p["id"] for p in page["items"]]
    assert seen == ids
    r = await content.client.get(url, headers=headers)
    assert r.json()["next_cursor"] is None
    assert [p["position"] for p in r.json()["items"]] == [1, 2, 3, 4, 5]
    assert_problem(
        await content.client.get(f"{url}?limit=101", headers=headers), 422, "query.limit"
    )
    assert_problem(await content.client.get(f"{url}?cursor=nope", headers=headers), 400)
    r = await content.client.get(f"{url}?cursor=eyJpZCI6MX0", headers=headers)  # {"id":1}
    assert_problem(r, 400)


async def test_patch_title_content_status_position(content: Content) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    headers = content.as_("instructor", owner)
    a = await content.post(module_id, owner, content=QUIZ)
    b = await content.post(module_id, owner)
    url = f"{API}/posts/{a['id']}"

    new_quiz = {**QUIZ, "max_points": 20}
    r = await content.client.patch(
        url, json={"title": "Renamed", "content": new_quiz}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Renamed"
    assert r.json()["content"]["max_points"] == 20
    assert r.json()["version"] == 2
    assert r.headers["etag"] == f'"2.{r.json()["position"]}-0-0"'

    r = await content.client.patch(url, json={"status": "published"}, headers=headers)
    assert (r.json()["status"], r.json()["version"]) == ("published", 3)

    # A move is the module's order, not the post's own state: no new version.
    r = await content.client.patch(url, json={"position": 2}, headers=headers)
    assert (r.json()["position"], r.json()["version"]) == (2, 3)
    assert await content.order(module_id, owner) == [b["id"], a["id"]]

    # Nothing to change: same version, nothing emitted.
    r = await content.client.patch(url, json={"title": "Renamed", "position": 2}, headers=headers)
    assert r.json()["version"] == 3

    for bad, field in (
        ({"title": None}, "title"),
        ({"status": None}, "status"),
        ({"content": None}, "content"),
        ({"position": None}, "position"),
        ({"position": 3}, "position"),
        ({"position": 0}, "position"),
        ({"status": "archived"}, "status"),
        ({"stauts": "published"}, "stauts"),
        ({"content": TEXT}, "content.kind"),  # a quiz stays a quiz
    ):
        assert_problem(await content.client.patch(url, json=bad, headers=headers), 422, field)


async def test_if_match_and_if_none_match(content: Content) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    headers = content.as_("instructor", owner)
    post = await content.post(module_id, owner)
    url = f"{API}/posts/{post['id']}"
    first = await content.client.get(url, headers=headers)
    r = await content.client.get(url, headers={**headers, "If-None-Match": first.headers["etag"]})
    assert r.status_code == 304
    # A neighbour inserted before it moves it: a new representation, a new tag...
    await content.post(module_id, owner, position=1)
    r = await content.client.get(url, headers={**headers, "If-None-Match": first.headers["etag"]})
    assert r.status_code == 200
    assert r.json()["position"] == 2
    # ...but not an edit: the tag it had still satisfies If-Match.
    r = await content.client.patch(
        url, json={"title": "y"}, headers={**headers, "If-Match": first.headers["etag"]}
    )
    assert r.status_code == 200
    r = await content.client.patch(url, json={"title": "x"}, headers={**headers, "If-Match": '"2"'})
    assert r.status_code == 200
    r = await content.client.patch(url, json={"title": "x"}, headers={**headers, "If-Match": '"7"'})
    assert_problem(r, 412)
    r = await content.client.delete(url, headers={**headers, "If-Match": '"1"'})
    assert_problem(r, 412)
    r = await content.client.delete(url, headers={**headers, "If-Match": '"3"'})
    assert r.status_code == 204


async def test_delete_closes_the_gap(content: Content) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    headers = content.as_("instructor", owner)
    ids = [(await content.post(module_id, owner))["id"] for _ in range(4)]
    r = await content.client.delete(f"{API}/posts/{ids[1]}", headers=headers)
    assert r.status_code == 204
    assert await content.order(module_id, owner) == [ids[0], ids[2], ids[3]]
    assert_problem(await content.client.get(f"{API}/posts/{ids[1]}", headers=headers), 404)
    assert_problem(await content.client.delete(f"{API}/posts/{ids[1]}", headers=headers), 404)
    assert [p for _, p in await content.db_positions(module_id)] == [1, 2, 3]


async def test_reorder_all(content: Content) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    headers = content.as_("instructor", owner)
    ids = [(await content.post(module_id, owner, title=f"P{i}"))["id"] for i in range(4)]
    url = f"{API}/modules/{module_id}/posts"
    wanted = [ids[3], ids[1], ids[0], ids[2]]
    r = await content.client.put(url, json={"post_ids": wanted}, headers=headers)
    assert r.status_code == 200, r.text
    assert [(e["post_id"], e["position"]) for e in r.json()] == [
        (p, i + 1) for i, p in enumerate(wanted)
    ]
    assert {"title", "kind", "status"} <= r.json()[0].keys()
    assert await content.order(module_id, owner) == wanted

    assert_problem(
        await content.client.put(url, json={"post_ids": wanted[:3]}, headers=headers), 409
    )
    extra = [*wanted, str(uuid.uuid4())]
    assert_problem(await content.client.put(url, json={"post_ids": extra}, headers=headers), 409)
    dupes = [wanted[0], *wanted]
    assert_problem(
        await content.client.put(url, json={"post_ids": dupes}, headers=headers), 422, "post_ids"
    )
    assert_problem(
        await content.client.put(url, json={"post_ids": ["x"]}, headers=headers), 422, "post_ids.0"
    )
    assert await content.order(module_id, owner) == wanted


async def test_idempotent_create(content: Content) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    headers = {**content.as_("instructor", owner), "Idempotency-Key": "k-1"}
    url = f"{API}/modules/{module_id}/posts"
    body = {"title": "Once", "content": TEXT}
    first = await content.client.post(url, json=body, headers=headers)
    again = await content.client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"]
    other = await content.client.post(url, json={**body, "title": "Twice"}, headers=headers)
    assert_problem(other, 422)
    assert len(await content.order(module_id, owner)) == 1


async def test_who_may_write(content: Content) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    post = await content.post(module_id, owner, status="published")
    await content.course(owner, [module_id])
    create = f"{API}/modules/{module_id}/posts"
    body = {"title": "t", "content": TEXT}
    one = f"{API}/posts/{post['id']}"
    reorder = {"post_ids": [post["id"]]}

    # Guests: 401; students: 403; other instructors: 403 (they can see it, not change it).
    for role, status in ((None, 401), ("student", 403), ("instructor", 403)):
        headers = content.as_(role)
        assert_problem(await content.client.post(create, json=body, headers=headers), status)
        assert_problem(
            await content.client.patch(one, json={"title": "x"}, headers=headers), status
        )
        assert_problem(await content.client.delete(one, headers=headers), status)
        assert_problem(await content.client.put(create, json=reorder, headers=headers), status)

    # A draft another instructor cannot see is a 404 for them.
    draft = await content.post(module_id, owner)
    r = await content.client.patch(
        f"{API}/posts/{draft['id']}", json={"title": "x"}, headers=content.as_("instructor")
    )
    assert_problem(r, 404)

    # Admins may write anyone's module.
    admin = content.as_("admin")
    r = await content.client.post(create, json=body, headers=admin)
    assert r.status_code == 201
    r = await content.client.patch(one, json={"title": "By admin"}, headers=admin)
    assert r.status_code == 200
    r = await content.client.delete(f"{API}/posts/{draft['id']}", headers=admin)
    assert r.status_code == 204


async def test_unknown_module_and_post(content: Content) -> None:
    headers = content.as_("instructor")
    old = uuid.uuid4()  # not a v7: cannot be in flight, answered at once
    r = await content.client.post(
        f"{API}/modules/{old}/posts", json={"title": "t", "content": TEXT}, headers=headers
    )
    assert_problem(r, 404)
    assert_problem(await content.client.get(f"{API}/modules/{old}/posts", headers=headers), 404)
    r = await content.client.put(
        f"{API}/modules/{old}/posts", json={"post_ids": []}, headers=headers
    )
    assert_problem(r, 404)
    for method in ("GET", "DELETE"):
        r = await content.client.request(method, f"{API}/posts/{old}", headers=headers)
        assert_problem(r, 404)
    r = await content.client.patch(f"{API}/posts/{old}", json={"title": "x"}, headers=headers)
    assert_problem(r, 404)
    assert_problem(await content.client.get(f"{API}/posts/not-a-uuid", headers=headers), 422)


async def test_operations_routes(content: Content) -> None:
    assert (await content.client.get("/healthz")).status_code == 200
    r = await content.client.get("/readyz")
    assert r.status_code == 200, r.text
    assert (await content.client.get("/metrics")).status_code == 200
    spec = (await content.client.get("/openapi.json")).json()
    assert "/api/v1/modules/{module_id}/posts" in spec["paths"]
    assert "/api/v1/posts/{post_id}" in spec["paths"]

"""Courses: create, validate, list (visibility, filters, search, pages), read, change, delete."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import uuid
from typing import Any

import pytest
from syllabus_devkit.testing.asserts import assert_problem

from conftest import API, Catalog


def _ids(items: list[dict[str, Any]]) -> set[str]:
    return {c["id"] for c in items}


async def _list(catalog: Catalog, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every course the caller may list with ``params``, following cursors."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(50):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await catalog.client.get(f"{API}/courses", params=query, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


# ---------------------------------------------------------------- create


async def test_create_course(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    r = await shared_catalog.client.post(
        f"{API}/courses",
        json={
            "title": "  Intro to Rust  ",
            "description": "Ownership and borrowing",
            "learning_objectives": "Write safe code",
            "prerequisites": "Some C",
        },
        headers={**shared_catalog.as_("instructor", owner), "X-Request-ID": "req-create-1"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "draft"
    assert body["visibility"] == "public"
    assert body["creator_id"] == str(owner)
    assert body["title"] == "Intro to Rust"  # surrounding whitespace is trimmed
    assert body["slug"] == "intro-to-rust"
    assert body["description"] == "Ownership and borrowing"
    assert body["learning_objectives"] == "Write safe code"
    assert body["prerequisites"] == "Some C"
    assert body["enrollment_count"] == 0
    assert body["version"] == 1
    assert uuid.UUID(body["id"]).version == 7
    for stamp in ("created_at", "updated_at"):
        assert dt.datetime.fromisoformat(body[stamp]).tzinfo is not None
    assert r.headers["location"] == f"{API}/courses/{body['id']}"
    assert r.headers["etag"] == '"1.0"'
    assert r.headers["x-request-id"] == "req-create-1"

    r = await shared_catalog.client.get(
        r.headers["location"], headers=shared_catalog.as_("instructor", owner)
    )
    assert r.status_code == 200
    assert r.json() == body


async def test_admin_creates_course_and_defaults(shared_catalog: Catalog) -> None:
    admin = uuid.uuid4()
    r = await shared_catalog.client.post(
        f"{API}/courses",
        json={"title": "Admin's course", "visibility": "private"},
        headers=shared_catalog.as_("admin", admin),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["creator_id"] == str(admin)
    assert body["visibility"] == "private"
    assert body["description"] == ""
    assert body["learning_objectives"] is None
    assert body["prerequisites"] is None
    assert body["slug"] == "admin-s-course"


async def test_slugs_are_unique_with_numeric_suffixes(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    slugs = [(await shared_catalog.course(owner, "Data Science!"))["slug"] for _ in range(3)]
    assert slugs == ["data-science", "data-science-2", "data-science-3"]
    assert (await shared_catalog.course(owner, "Café Crème 101"))["slug"] == "cafe-creme-101"
    # A title with no usable characters still gets a unique slug.
    odd = [(await shared_catalog.course(owner, t))["slug"] for t in ("!!!", "中文")]
    assert len(set(odd)) == 2
    assert all(s.startswith("course") for s in odd)


async def test_concurrent_creates_with_one_title_get_distinct_slugs(
    shared_catalog: Catalog,
) -> None:
    owner = uuid.uuid4()
    results = await asyncio.gather(
        *(
            shared_catalog.client.post(
                f"{API}/courses",
                json={"title": "Same Title"},
                headers=shared_catalog.as_("instructor", owner),
            )
            for _ in range(6)
        )
    )
    assert [r.status_code for r in results] == [201] * 6, [r.text for r in results]
    slugs = {r.json()["slug"] for r in results}
    assert slugs == {"same-title", *(f"same-title-{n}" for n in range(2, 7))}


async def test_title_of_200_characters_is_accepted(shared_catalog: Catalog) -> None:
    course = await shared_catalog.course(uuid.uuid4(), "x" * 200)
    assert course["title"] == "x" * 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": 5}, "title"),
        ({"title": None}, "title"),
        ({}, "title"),
        ({"title": "ok", "visibility": "secret"}, "visibility"),
        ({"title": "ok", "stauts": "draft"}, "stauts"),
        ({"title": "ok", "status": "published"}, "status"),  # a course starts as a draft
        ({"title": "ok", "description": None}, "description"),
        ({"title": "ok", "description": "x" * 20_001}, "description"),
        ({"title": "nul\u0000byte"}, "title"),
        ({"title": "ok", "prerequisites": "nul\u0000"}, "prerequisites"),
    ],
)
async def test_create_course_validation(
    shared_catalog: Catalog, body: dict[str, Any], field: str
) -> None:
    owner = uuid.uuid4()
    r = await shared_catalog.client.post(
        f"{API}/courses", json=body, headers=shared_catalog.as_("instructor", owner)
    )
    assert_problem(r, 422, field)
    admin = shared_catalog.as_("admin")
    assert await _list(shared_catalog, admin, creator_id=str(owner)) == []


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'"title"', b"", b"null"])
async def test_create_course_malformed_body(shared_catalog: Catalog, raw: bytes) -> None:
    r = await shared_catalog.client.post(
        f"{API}/courses",
        content=raw,
        headers={**shared_catalog.as_("instructor"), "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422), r.text
    body = assert_problem(r, r.status_code)
    assert body["errors"], body


# ---------------------------------------------------------------- list: visibility


async def test_list_visibility_per_role(catalog: Catalog) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    a_draft = await catalog.course(a, "A draft")
    a_pub = await catalog.course(a, "A published", status="published")
    a_private = await catalog.course(a, "A private", status="published", visibility="private")
    a_archived = await catalog.course(a, "A archived", status="archived")
    b_draft = await catalog.course(b, "B draft")
    b_pub = await catalog.course(b, "B published", status="published")
    public = {a_pub["id"], b_pub["id"]}

    assert _ids(await _list(catalog, {})) == public
    assert _ids(await _list(catalog, catalog.as_("student"))) == public
    assert _ids(await _list(catalog, catalog.as_("instructor", a))) == public | {
        a_draft["id"],
        a_private["id"],
        a_archived["id"],
    }
    assert _ids(await _list(catalog, catalog.as_("instructor", b))) == public | {b_draft["id"]}
    assert _ids(await _list(catalog, catalog.as_("admin"))) == public | {
        a_draft["id"],
        a_private["id"],
        a_archived["id"],
        b_draft["id"],
    }


async def test_list_filters_status_and_creator(catalog: Catalog) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    a_draft = await catalog.course(a)
    a_pub = await catalog.course(a, status="published")
    a_arch = await catalog.course(a, status="archived")
    b_draft = await catalog.course(b)
    b_pub = await catalog.course(b, status="published")
    admin = catalog.as_("admin")

    assert _ids(await _list(catalog, admin, status="draft")) == {a_draft["id"], b_draft["id"]}
    assert _ids(await _list(catalog, admin, status="published")) == {a_pub["id"], b_pub["id"]}
    assert _ids(await _list(catalog, admin, status="archived")) == {a_arch["id"]}
    assert _ids(await _list(catalog, admin, creator_id=str(a))) == {
        a_draft["id"],
        a_pub["id"],
        a_arch["id"],
    }
    assert _ids(await _list(catalog, admin, creator_id=str(b), status="draft")) == {b_draft["id"]}
    # Filters never widen what the caller may see.
    assert await _list(catalog, {}, status="draft") == []
    assert _ids(await _list(catalog, {}, creator_id=str(a))) == {a_pub["id"]}
    assert _ids(await _list(catalog, catalog.as_("instructor", b), creator_id=str(a))) == {
        a_pub["id"]
    }
    assert await _list(catalog, admin, creator_id=str(uuid.uuid4())) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "deleted"}, "query.status"),
        ({"creator_id": "not-a-uuid"}, "query.creator_id"),
        ({"q": "x" * 201}, "query.q"),
        ({"q": "nul\u0000"}, "query.q"),
        ({"limit": "0"}, "query.limit"),
        ({"limit": "101"}, "query.limit"),
        ({"limit": "-1"}, "query.limit"),
        ({"limit": "ten"}, "query.limit"),
    ],
)
async def test_list_rejects_bad_query(
    shared_catalog: Catalog, params: dict[str, str], field: str
) -> None:
    r = await shared_catalog.client.get(f"{API}/courses", params=params)
    assert_problem(r, 422, field)


# ---------------------------------------------------------------- list: full-text search


async def test_search_title_and_description_with_stemming(catalog: Catalog) -> None:
    owner = uuid.uuid4()
    testing = await catalog.course(
        owner, "Testing in Python", description="Fixtures and mocks", status="published"
    )
    cooking = await catalog.course(
        owner, "Cooking", description="We run tests on every recipe", status="published"
    )
    garden = await catalog.course(
        owner, "Gardening", description="Flowers, soil and patience", status="published"
    )
    hidden = await catalog.course(owner, "Testing drafts", description="tests")

    async def search(q: str, headers: dict[str, str] | None = None, **more: str) -> set[str]:
        return _ids(await _list(catalog, headers or {}, q=q, **more))

    assert await search("tests") == {testing["id"], cooking["id"]}
    assert await search("testing") == {testing["id"], cooking["id"]}
    assert await search("python") == {testing["id"]}
    assert await search("flower") == {garden["id"]}  # description, singular/plural
    assert await search("PATIENCE") == {garden["id"]}
    assert await search("python fixtures") == {testing["id"]}  # all words must match
    assert await search("python recipe") == set()
    assert await search("python OR recipe") == {testing["id"], cooking["id"]}
    assert await search("quantum") == set()
    # Search never reveals what the caller may not see; admins do find drafts.
    assert hidden["id"] not in await search("drafts")
    assert await search("drafts", catalog.as_("admin")) == {hidden["id"]}
    assert await search("tests", catalog.as_("admin"), status="draft") == {hidden["id"]}
    # Operators and punctuation are input, not syntax errors.
    for odd in ("&|!:*'", '"unclosed', "-", "()", "the"):
        r = await catalog.client.get(f"{API}/courses", params={"q": odd})
        assert r.status_code == 200, (odd, r.text)


async def test_search_sees_renamed_title(catalog: Catalog) -> None:
    owner = uuid.uuid4()
    course = await catalog.course(owner, "Astronomy", status="published")
    r = await catalog.client.patch(
        f"{API}/courses/{course['id']}",
        json={"title": "Astrophysics", "description": "Galaxies"},
        headers=catalog.as_("instructor", owner),
    )
    assert r.status_code == 200
    assert _ids(await _list(catalog, {}, q="galaxy")) == {course["id"]}
    assert await _list(catalog, {}, q="astronomy") == []


# ---------------------------------------------------------------- list: pagination


async def test_cursor_pagination(catalog: Catalog) -> None:
    owner = uuid.uuid4()
    created = [(await catalog.course(owner, f"Course {i}"))["id"] for i in range(23)]
    admin = catalog.as_("admin")

    r = await catalog.client.get(f"{API}/courses", headers=admin)
    first = r.json()
    assert len(first["items"]) == 20  # the default limit
    assert first["next_cursor"]
    r = await catalog.client.get(
        f"{API}/courses", params={"cursor": first["next_cursor"]}, headers=admin
    )
    rest = r.json()
    assert len(rest["items"]) == 3
    assert rest["next_cursor"] is None

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = (await catalog.client.get(f"{API}/courses", params=params, headers=admin)).json()
        pages += 1
        assert len(page["items"]) <= 5
        seen += [c["id"] for c in page["items"]]
        if pages == 2:
            # Courses created between pages appear neither twice nor shift later pages.
            await catalog.course(owner, "Late arrival")
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 5
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == set(created)
    assert seen == sorted(seen, reverse=True)  # newest first, a stable order

    r = await catalog.client.get(f"{API}/courses", params={"limit": 100}, headers=admin)
    assert len(r.json()["items"]) == 24
    assert r.json()["next_cursor"] is None
    # An exact-fit page has no next cursor.
    r = await catalog.client.get(f"{API}/courses", params={"limit": 24}, headers=admin)
    assert r.json()["next_cursor"] is None


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!!",
        "@@@@",
        _b64([1, 2]),
        _b64({"no": "id"}),
        _b64({"id": "not-a-uuid"}),
        _b64({"id": None}),
        _b64("just a string"),
        base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
    ],
)
async def test_invalid_cursor_is_400(shared_catalog: Catalog, cursor: str) -> None:
    r = await shared_catalog.client.get(f"{API}/courses", params={"cursor": cursor})
    assert_problem(r, 400, "query.cursor")


# ---------------------------------------------------------------- read


async def test_get_unknown_course_is_404(shared_catalog: Catalog) -> None:
    r = await shared_catalog.client.get(
        f"{API}/courses/{uuid.uuid4()}", headers=shared_catalog.as_("admin")
    )
    assert_problem(r, 404)
    r = await shared_catalog.client.get(f"{API}/courses/not-a-uuid")
    assert_problem(r, 422, "path.course_id")


async def test_conditional_get(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    course = await shared_catalog.course(owner, status="published")  # version 2
    url = f"{API}/courses/{course['id']}"
    r = await shared_catalog.client.get(url)
    assert r.status_code == 200
    assert r.headers["etag"] == '"2.0"'  # version 2, enrollment_count 0

    for tag in ('"2.0"', 'W/"2.0"', '"1.0", "2.0"', "*"):
        r = await shared_catalog.client.get(url, headers={"If-None-Match": tag})
        assert r.status_code == 304, tag
        assert r.content == b""
        assert r.headers["etag"] == '"2.0"'
    r = await shared_catalog.client.get(url, headers={"If-None-Match": '"1.0"'})
    assert r.status_code == 200
    assert r.json()["id"] == course["id"]

    r = await shared_catalog.client.patch(
        url, json={"title": "New"}, headers=shared_catalog.as_("instructor", owner)
    )
    assert r.headers["etag"] == '"3.0"'
    r = await shared_catalog.client.get(url, headers={"If-None-Match": '"2.0"'})
    assert r.status_code == 200
    assert r.json()["title"] == "New"
    # A caller who may not see the course gets 404, never 304.
    hidden = await shared_catalog.course(owner)
    r = await shared_catalog.client.get(
        f"{API}/courses/{hidden['id']}", headers={"If-None-Match": "*"}
    )
    assert_problem(r, 404)


# ---------------------------------------------------------------- status moves

ALLOWED = {("draft", "published"), ("published", "archived"), ("archived", "published")}
STATES = ("draft", "published", "archived")


@pytest.mark.parametrize("start", STATES)
@pytest.mark.parametrize("target", STATES)
async def test_status_transitions(shared_catalog: Catalog, start: str, target: str) -> None:
    owner = uuid.uuid4()
    course = await shared_catalog.course(owner, status=start)
    url = f"{API}/courses/{course['id']}"
    r = await shared_catalog.client.patch(
        url, json={"status": target}, headers=shared_catalog.as_("instructor", owner)
    )
    after = (await shared_catalog.client.get(url, headers=shared_catalog.as_("admin"))).json()
    if (start, target) in ALLOWED:
        assert r.status_code == 200, r.text
        assert r.json()["status"] == target
        assert r.json()["version"] == course["version"] + 1
        assert after["status"] == target
    elif start == target:
        # Not a move: nothing changes (no new version).
        assert r.status_code == 200, r.text
        assert after["version"] == course["version"]
        assert after["status"] == start
    else:
        body = assert_problem(r, 409)
        assert body["type"].endswith("/invalid-status-change")
        assert after["status"] == start
        assert after["version"] == course["version"]


async def test_invalid_status_value_is_422(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    course = await shared_catalog.course(owner)
    r = await shared_catalog.client.patch(
        f"{API}/courses/{course['id']}",
        json={"status": "deleted"},
        headers=shared_catalog.as_("instructor", owner),
    )
    assert_problem(r, 422, "status")


async def test_rejected_status_move_changes_nothing_else(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    course = await shared_catalog.course(owner)
    url = f"{API}/courses/{course['id']}"
    r = await shared_catalog.client.patch(
        url, json={"title": "Changed", "status": "archived"}, headers=shared_catalog.as_("admin")
    )
    assert_problem(r, 409)
    after = (await shared_catalog.client.get(url, headers=shared_catalog.as_("admin"))).json()
    assert after["title"] == course["title"]
    assert after["version"] == 1


# ---------------------------------------------------------------- update


async def test_patch_with_if_match(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    course = await shared_catalog.course(owner, "Original")
    url = f"{API}/courses/{course['id']}"
    headers = shared_catalog.as_("instructor", owner)

    r = await shared_catalog.client.patch(
        url, json={"title": "Stale"}, headers={**headers, "If-Match": '"7"'}
    )
    body = assert_problem(r, 412)
    assert body["current_version"] == 1

    r = await shared_catalog.client.patch(
        url,
        json={"title": "Renamed", "description": "More", "visibility": "private"},
        headers={**headers, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["version"] == 2
    assert r.headers["etag"] == '"2.0"'
    assert updated["title"] == "Renamed"
    assert updated["description"] == "More"
    assert updated["visibility"] == "private"
    assert updated["slug"] == course["slug"]  # a slug is a stable address
    assert updated["created_at"] == course["created_at"]
    assert dt.datetime.fromisoformat(updated["updated_at"]) > dt.datetime.fromisoformat(
        course["updated_at"]
    )

    # The first If-Match is now stale; weak and wildcard tags work.
    r = await shared_catalog.client.patch(
        url, json={"title": "X"}, headers={**headers, "If-Match": '"1"'}
    )
    assert_problem(r, 412)
    r = await shared_catalog.client.patch(
        url, json={"title": "Weak"}, headers={**headers, "If-Match": 'W/"2"'}
    )
    assert r.status_code == 200
    r = await shared_catalog.client.patch(
        url, json={"title": "Any"}, headers={**headers, "If-Match": "*"}
    )
    assert r.status_code == 200
    assert r.json()["version"] == 4
    # Without If-Match the write is unconditional.
    r = await shared_catalog.client.patch(url, json={"prerequisites": None}, headers=headers)
    assert r.status_code == 200
    assert r.json()["prerequisites"] is None


async def test_patch_precondition_checked_only_for_callers_who_may_edit(
    shared_catalog: Catalog,
) -> None:
    owner = uuid.uuid4()
    course = await shared_catalog.course(owner, status="published")
    r = await shared_catalog.client.patch(
        f"{API}/courses/{course['id']}",
        json={"title": "X"},
        headers={**shared_catalog.as_("instructor"), "If-Match": '"99"'},
    )
    assert_problem(r, 403)


async def test_empty_patch_changes_nothing(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    course = await shared_catalog.course(owner)
    r = await shared_catalog.client.patch(
        f"{API}/courses/{course['id']}", json={}, headers=shared_catalog.as_("instructor", owner)
    )
    assert r.status_code == 200
    assert r.json()["version"] == 1
    assert r.json()["updated_at"] == course["updated_at"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": None}, "title"),
        ({"title": ""}, "title"),
        ({"title": " "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"visibility": None}, "visibility"),
        ({"visibility": "hidden"}, "visibility"),
        ({"status": None}, "status"),
        ({"description": None}, "description"),
        ({"slug": "custom"}, "slug"),
        ({"creator_id": str(uuid.uuid4())}, "creator_id"),
        ({"enrollment_count": 99}, "enrollment_count"),
        ({"version": 5}, "version"),
    ],
)
async def test_patch_validation(shared_catalog: Catalog, body: dict[str, Any], field: str) -> None:
    owner = uuid.uuid4()
    course = await shared_catalog.course(owner)
    r = await shared_catalog.client.patch(
        f"{API}/courses/{course['id']}", json=body, headers=shared_catalog.as_("instructor", owner)
    )
    assert_problem(r, 422, field)
    r = await shared_catalog.client.get(
        f"{API}/courses/{course['id']}", headers=shared_catalog.as_("admin")
    )
    assert r.json() == course


async def test_patch_unknown_course_is_404(shared_catalog: Catalog) -> None:
    r = await shared_catalog.client.patch(
        f"{API}/courses/{uuid.uuid4()}", json={"title": "X"}, headers=shared_catalog.as_("admin")
    )
    assert_problem(r, 404)


async def test_making_a_course_private_hides_it(catalog: Catalog) -> None:
    owner = uuid.uuid4()
    course = await catalog.course(owner, status="published")
    url = f"{API}/courses/{course['id']}"
    assert (await catalog.client.get(url)).status_code == 200
    r = await catalog.client.patch(
        url, json={"visibility": "private"}, headers=catalog.as_("instructor", owner)
    )
    assert r.status_code == 200
    assert_problem(await catalog.client.get(url), 404)
    assert_problem(await catalog.client.get(url, headers=catalog.as_("student")), 404)
    assert await _list(catalog, {}) == []
    assert (
        await catalog.client.get(url, headers=catalog.as_("instructor", owner))
    ).status_code == (200)


# ---------------------------------------------------------------- delete


async def test_delete_draft(catalog: Catalog) -> None:
    owner = uuid.uuid4()
    course = await catalog.course(owner)
    url = f"{API}/courses/{course['id']}"
    headers = catalog.as_("instructor", owner)
    r = await catalog.client.delete(url, headers={**headers, "If-Match": '"2"'})
    assert_problem(r, 412)
    assert (await catalog.client.get(url, headers=headers)).status_code == 200

    r = await catalog.client.delete(url, headers={**headers, "If-Match": '"1"'})
    assert r.status_code == 204
    assert r.content == b""
    assert_problem(await catalog.client.get(url, headers=headers), 404)
    assert_problem(await catalog.client.get(url, headers=catalog.as_("admin")), 404)
    assert_problem(await catalog.client.delete(url, headers=headers), 404)
    assert await _list(catalog, catalog.as_("admin")) == []
    # Its slug is free again.
    assert (await catalog.course(owner, course["title"]))["slug"] == course["slug"]


@pytest.mark.parametrize("status", ["published", "archived"])
async def test_only_drafts_can_be_deleted(shared_catalog: Catalog, status: str) -> None:
    owner = uuid.uuid4()
    course = await shared_catalog.course(owner, status=status)
    url = f"{API}/courses/{course['id']}"
    for who in (shared_catalog.as_("instructor", owner), shared_catalog.as_("admin")):
        body = assert_problem(await shared_catalog.client.delete(url, headers=who), 409)
        assert body["type"].endswith("/course-not-draft")
    assert (await shared_catalog.client.get(url)).status_code == (
        200 if status == "published" else 404
    )
    assert (await shared_catalog.client.get(url, headers=shared_catalog.as_("admin"))).json()[
        "status"
    ] == status


async def test_delete_draft_with_modules_attached(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    course = await shared_catalog.course(owner)
    module = await shared_catalog.module(owner)
    await shared_catalog.attach(course["id"], module["id"], owner)
    headers = shared_catalog.as_("instructor", owner)
    r = await shared_catalog.client.delete(f"{API}/courses/{course['id']}", headers=headers)
    assert r.status_code == 204
    assert await shared_catalog.db_positions(course["id"]) == []
    # The module is no longer in use anywhere, so it can go too.
    r = await shared_catalog.client.delete(f"{API}/modules/{module['id']}", headers=headers)
    assert r.status_code == 204


# ---------------------------------------------------------------- Idempotency-Key


async def test_idempotent_create(catalog: Catalog) -> None:
    owner = uuid.uuid4()
    headers = {**catalog.as_("instructor", owner), "Idempotency-Key": "create-rust-1"}
    body = {"title": "Rust", "description": "Once"}
    first = await catalog.client.post(f"{API}/courses", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await catalog.client.post(f"{API}/courses", json=body, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers.get("idempotent-replayed") == "true"

    # Same body, keys in another order: the same request.
    again = await catalog.client.post(
        f"{API}/courses", json={"description": "Once", "title": "Rust"}, headers=headers
    )
    assert again.json()["id"] == first.json()["id"]

    other = await catalog.client.post(f"{API}/courses", json={"title": "Go"}, headers=headers)
    assert_problem(other, 422)

    everything = await _list(catalog, catalog.as_("admin"))
    assert [c["id"] for c in everything] == [first.json()["id"]]

    # The key is scoped to its caller: another user's same key is a new request.
    mine = await catalog.client.post(
        f"{API}/courses",
        json=body,
        headers={**catalog.as_("instructor"), "Idempotency-Key": "create-rust-1"},
    )
    assert mine.status_code == 201
    assert mine.json()["id"] != first.json()["id"]
    assert mine.json()["slug"] == "rust-2"


async def test_concurrent_idempotent_creates_make_one_course(catalog: Catalog) -> None:
    headers = {**catalog.as_("instructor"), "Idempotency-Key": "burst"}
    results = await asyncio.gather(
        *(
            catalog.client.post(f"{API}/courses", json={"title": "Burst"}, headers=headers)
            for _ in range(8)
        )
    )
    assert {r.status_code for r in results} == {201}, [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    assert len(await _list(catalog, catalog.as_("admin"))) == 1


async def test_failed_create_does_not_burn_the_key(shared_catalog: Catalog) -> None:
    headers = {**shared_catalog.as_("instructor", uuid.uuid4()), "Idempotency-Key": "retry-me"}
    r = await shared_catalog.client.post(f"{API}/courses", json={"title": ""}, headers=headers)
    assert_problem(r, 422)
    r = await shared_catalog.client.post(f"{API}/courses", json={"title": "Fixed"}, headers=headers)
    assert r.status_code == 201


async def test_idempotency_key_too_long_is_400(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    for key in ("k" * 201, ""):
        r = await shared_catalog.client.post(
            f"{API}/courses",
            json={"title": "X"},
            headers={**shared_catalog.as_("instructor", owner), "Idempotency-Key": key},
        )
        assert_problem(r, 400)
    admin = shared_catalog.as_("admin")
    assert await _list(shared_catalog, admin, creator_id=str(owner)) == []

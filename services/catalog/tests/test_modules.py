"""Modules: CRUD, listing and search, who may see and change them, where they are used."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from syllabus_devkit.testing.asserts import assert_problem

from conftest import API, Catalog


async def _module_ids(catalog: Catalog, **params: Any) -> list[str]:
    r = await catalog.client.get(f"{API}/modules", params=params, headers=catalog.as_("instructor"))
    assert r.status_code == 200, r.text
    return [m["id"] for m in r.json()["items"]]


async def test_create_and_read_module(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    r = await shared_catalog.client.post(
        f"{API}/modules",
        json={"title": " Ownership ", "description": "Moves and borrows"},
        headers=shared_catalog.as_("instructor", owner),
    )
    assert r.status_code == 201, r.text
    module = r.json()
    assert set(module) == {
        "id",
        "title",
        "description",
        "creator_id",
        "created_at",
        "updated_at",
        "version",
    }
    assert module["title"] == "Ownership"
    assert module["description"] == "Moves and borrows"
    assert module["creator_id"] == str(owner)
    assert module["version"] == 1
    assert r.headers["location"] == f"{API}/modules/{module['id']}"
    assert r.headers["etag"] == '"1"'

    # Any instructor (not only the owner) and admins may read it.
    for who in (shared_catalog.as_("instructor"), shared_catalog.as_("admin")):
        r = await shared_catalog.client.get(f"{API}/modules/{module['id']}", headers=who)
        assert r.status_code == 200
        assert r.json() == module
        assert r.headers["etag"] == '"1"'
    r = await shared_catalog.client.get(
        f"{API}/modules/{module['id']}",
        headers={**shared_catalog.as_("admin"), "If-None-Match": '"1"'},
    )
    assert r.status_code == 304


async def test_module_defaults_and_admin_create(shared_catalog: Catalog) -> None:
    admin = uuid.uuid4()
    r = await shared_catalog.client.post(
        f"{API}/modules", json={"title": "Bare"}, headers=shared_catalog.as_("admin", admin)
    )
    assert r.status_code == 201
    assert r.json()["description"] == ""
    assert r.json()["creator_id"] == str(admin)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "  "}, "title"),
        ({"title": "m" * 201}, "title"),
        ({"title": "ok", "position": 1}, "position"),
        ({"title": "ok", "description": None}, "description"),
        ({"title": "nul\u0000"}, "title"),
    ],
)
async def test_create_module_validation(
    shared_catalog: Catalog, body: dict[str, Any], field: str
) -> None:
    owner = uuid.uuid4()
    r = await shared_catalog.client.post(
        f"{API}/modules", json=body, headers=shared_catalog.as_("instructor", owner)
    )
    assert_problem(r, 422, field)
    assert await _module_ids(shared_catalog, creator_id=str(owner)) == []


async def test_module_idempotent_create(catalog: Catalog) -> None:
    headers = {**catalog.as_("instructor"), "Idempotency-Key": "m-1"}
    first = await catalog.client.post(f"{API}/modules", json={"title": "A"}, headers=headers)
    again = await catalog.client.post(f"{API}/modules", json={"title": "A"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = await catalog.client.post(f"{API}/modules", json={"title": "B"}, headers=headers)
    assert_problem(other, 422)
    assert await _module_ids(catalog) == [first.json()["id"]]


async def test_unknown_module_is_404(shared_catalog: Catalog) -> None:
    missing = uuid.uuid4()
    admin = shared_catalog.as_("admin")
    assert_problem(await shared_catalog.client.get(f"{API}/modules/{missing}", headers=admin), 404)
    r = await shared_catalog.client.patch(
        f"{API}/modules/{missing}", json={"title": "x"}, headers=admin
    )
    assert_problem(r, 404)
    assert_problem(
        await shared_catalog.client.delete(f"{API}/modules/{missing}", headers=admin), 404
    )
    r = await shared_catalog.client.get(f"{API}/modules/{missing}/courses", headers=admin)
    assert_problem(r, 404)


async def test_list_modules_filters_search_and_pages(catalog: Catalog) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    loops = await catalog.module(a, "Loops", "for and while statements")
    funcs = await catalog.module(a, "Functions", "Testing pure functions")
    tests = await catalog.module(b, "Unit tests", "Assertions")

    assert set(await _module_ids(catalog)) == {loops["id"], funcs["id"], tests["id"]}
    assert set(await _module_ids(catalog, creator_id=str(a))) == {loops["id"], funcs["id"]}
    assert await _module_ids(catalog, creator_id=str(b)) == [tests["id"]]
    assert set(await _module_ids(catalog, q="test")) == {funcs["id"], tests["id"]}
    assert await _module_ids(catalog, q="statement") == [loops["id"]]
    assert await _module_ids(catalog, q="test", creator_id=str(b)) == [tests["id"]]
    assert await _module_ids(catalog, q="nothing") == []

    r = await catalog.client.get(
        f"{API}/modules", params={"limit": 2}, headers=catalog.as_("admin")
    )
    page = r.json()
    assert len(page["items"]) == 2
    r = await catalog.client.get(
        f"{API}/modules",
        params={"limit": 2, "cursor": page["next_cursor"]},
        headers=catalog.as_("admin"),
    )
    last = r.json()
    assert last["next_cursor"] is None
    ids = [m["id"] for m in page["items"] + last["items"]]
    assert sorted(ids) == sorted([loops["id"], funcs["id"], tests["id"]])

    for params in ({"limit": 0}, {"limit": 101}, {"creator_id": "x"}):
        r = await catalog.client.get(f"{API}/modules", params=params, headers=catalog.as_("admin"))
        assert_problem(r, 422)
    r = await catalog.client.get(
        f"{API}/modules", params={"cursor": "garbage!"}, headers=catalog.as_("admin")
    )
    assert_problem(r, 400, "query.cursor")


async def test_modules_are_for_staff_only(shared_catalog: Catalog) -> None:
    module = await shared_catalog.module(uuid.uuid4())
    for path in ("/modules", f"/modules/{module['id']}", f"/modules/{module['id']}/courses"):
        r = await shared_catalog.client.get(f"{API}{path}")
        assert_problem(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert_problem(
            await shared_catalog.client.get(f"{API}{path}", headers=shared_catalog.as_("student")),
            403,
        )


async def test_update_module(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    module = await shared_catalog.module(owner, "Old", "old text")
    url = f"{API}/modules/{module['id']}"
    headers = shared_catalog.as_("instructor", owner)

    r = await shared_catalog.client.patch(
        url, json={"title": "New"}, headers={**headers, "If-Match": '"2"'}
    )
    assert_problem(r, 412)
    r = await shared_catalog.client.patch(
        url, json={"title": "New"}, headers={**headers, "If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "New"
    assert r.json()["description"] == "old text"
    assert r.json()["version"] == 2
    assert r.headers["etag"] == '"2"'

    r = await shared_catalog.client.patch(url, json={}, headers=headers)
    assert r.status_code == 200
    assert r.json()["version"] == 2

    r = await shared_catalog.client.patch(
        url, json={"title": "Hijack"}, headers=shared_catalog.as_("instructor")
    )
    assert_problem(r, 403)
    r = await shared_catalog.client.patch(
        url, json={"description": "by admin"}, headers=shared_catalog.as_("admin")
    )
    assert r.status_code == 200
    assert r.json()["version"] == 3
    assert r.json()["creator_id"] == str(owner)  # an admin's edit does not take ownership

    for body, field in (
        ({"title": None}, "title"),
        ({"title": ""}, "title"),
        ({"description": None}, "description"),
        ({"creator_id": str(uuid.uuid4())}, "creator_id"),
    ):
        assert_problem(
            await shared_catalog.client.patch(url, json=body, headers=headers), 422, field
        )
    r = await shared_catalog.client.get(url, headers=headers)
    assert r.json()["title"] == "New"
    assert r.json()["version"] == 3


async def test_module_rename_shows_in_outline(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    course = await shared_catalog.course(owner, status="published")
    module = await shared_catalog.module(owner, "Before")
    await shared_catalog.attach(course["id"], module["id"], owner)
    r = await shared_catalog.client.patch(
        f"{API}/modules/{module['id']}",
        json={"title": "After"},
        headers=shared_catalog.as_("instructor", owner),
    )
    assert r.status_code == 200
    r = await shared_catalog.client.get(f"{API}/courses/{course['id']}/modules")
    assert [e["title"] for e in r.json()] == ["After"]


async def test_delete_module_only_when_detached(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    course = await shared_catalog.course(owner)
    other_course = await shared_catalog.course(owner)
    module = await shared_catalog.module(owner)
    await shared_catalog.attach(course["id"], module["id"], owner)
    await shared_catalog.attach(other_course["id"], module["id"], owner)
    url = f"{API}/modules/{module['id']}"
    headers = shared_catalog.as_("instructor", owner)

    body = assert_problem(await shared_catalog.client.delete(url, headers=headers), 409)
    assert body["type"].endswith("/module-in-use")
    assert_problem(
        await shared_catalog.client.delete(url, headers=shared_catalog.as_("admin")), 409
    )
    assert (await shared_catalog.client.get(url, headers=headers)).status_code == 200

    r = await shared_catalog.client.delete(
        f"{API}/courses/{course['id']}/modules/{module['id']}", headers=headers
    )
    assert r.status_code == 204
    assert_problem(await shared_catalog.client.delete(url, headers=headers), 409)  # still in one
    r = await shared_catalog.client.delete(
        f"{API}/courses/{other_course['id']}/modules/{module['id']}", headers=headers
    )
    assert r.status_code == 204

    assert_problem(
        await shared_catalog.client.delete(url, headers={**headers, "If-Match": '"9"'}), 412
    )
    r = await shared_catalog.client.delete(url, headers={**headers, "If-Match": '"1"'})
    assert r.status_code == 204
    assert_problem(await shared_catalog.client.get(url, headers=headers), 404)
    assert_problem(await shared_catalog.client.delete(url, headers=headers), 404)
    # A deleted module cannot be attached.
    r = await shared_catalog.client.post(
        f"{API}/courses/{course['id']}/modules", json={"module_id": module["id"]}, headers=headers
    )
    assert_problem(r, 404)


async def test_delete_and_attach_race_never_leaves_a_dangling_module(
    shared_catalog: Catalog,
) -> None:
    owner = uuid.uuid4()
    headers = shared_catalog.as_("instructor", owner)
    for _ in range(5):
        course = await shared_catalog.course(owner)
        module = await shared_catalog.module(owner)
        attach, delete = await asyncio.gather(
            shared_catalog.client.post(
                f"{API}/courses/{course['id']}/modules",
                json={"module_id": module["id"]},
                headers=headers,
            ),
            shared_catalog.client.delete(f"{API}/modules/{module['id']}", headers=headers),
        )
        # Exactly one wins.
        assert sorted([attach.status_code, delete.status_code]) in ([201, 409], [204, 404]), (
            attach.text,
            delete.text,
        )
        exists = (
            await shared_catalog.client.get(f"{API}/modules/{module['id']}", headers=headers)
        ).status_code == 200
        attached = await shared_catalog.outline_ids(course["id"])
        assert attached == ([module["id"]] if exists else [])


async def test_module_courses_lists_usage_with_positions(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    first = await shared_catalog.course(owner, "First course")
    second = await shared_catalog.course(owner, "Second course", status="published")
    shared = await shared_catalog.module(owner, "Shared")
    filler = [await shared_catalog.module(owner) for _ in range(2)]
    await shared_catalog.attach(first["id"], shared["id"], owner)
    for m in filler:
        await shared_catalog.attach(second["id"], m["id"], owner)
    await shared_catalog.attach(second["id"], shared["id"], owner)

    r = await shared_catalog.client.get(
        f"{API}/modules/{shared['id']}/courses", headers=shared_catalog.as_("instructor", owner)
    )
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["next_cursor"] is None
    usage = {u["course_id"]: u for u in page["items"]}
    assert usage == {
        first["id"]: {
            "course_id": first["id"],
            "slug": first["slug"],
            "title": "First course",
            "status": "draft",
            "position": 1,
        },
        second["id"]: {
            "course_id": second["id"],
            "slug": second["slug"],
            "title": "Second course",
            "status": "published",
            "position": 3,
        },
    }

    # Positions follow moves.
    r = await shared_catalog.client.patch(
        f"{API}/courses/{second['id']}/modules/{shared['id']}",
        json={"position": 1},
        headers=shared_catalog.as_("instructor", owner),
    )
    assert r.status_code == 200
    r = await shared_catalog.client.get(
        f"{API}/modules/{shared['id']}/courses", headers=shared_catalog.as_("admin")
    )
    assert {u["course_id"]: u["position"] for u in r.json()["items"]} == {
        first["id"]: 1,
        second["id"]: 1,
    }
    # Another instructor is not shown the owner's draft course.
    r = await shared_catalog.client.get(
        f"{API}/modules/{shared['id']}/courses", headers=shared_catalog.as_("instructor")
    )
    assert [u["course_id"] for u in r.json()["items"]] == [second["id"]]

    unused = await shared_catalog.module(owner)
    r = await shared_catalog.client.get(
        f"{API}/modules/{unused['id']}/courses", headers=shared_catalog.as_("admin")
    )
    assert r.json() == {"items": [], "next_cursor": None}

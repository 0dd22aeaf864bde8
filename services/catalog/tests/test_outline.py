"""A course's ordered modules: attach, move, reorder, detach; positions always 1..n."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import pytest
from syllabus_devkit.testing.asserts import assert_problem

from conftest import API, Catalog


async def _course_with_modules(
    catalog: Catalog, n: int, *, status: str = "draft"
) -> tuple[uuid.UUID, dict[str, Any], list[str]]:
    owner = uuid.uuid4()
    course = await catalog.course(owner, status=status)
    ids = []
    for i in range(n):
        module = await catalog.module(owner, f"M{i + 1}")
        await catalog.attach(course["id"], module["id"], owner)
        ids.append(module["id"])
    return owner, course, ids


def _assert_whole_list(entries: list[dict[str, Any]], expected: list[str]) -> None:
    assert [e["module_id"] for e in entries] == expected
    assert [e["position"] for e in entries] == list(range(1, len(expected) + 1))
    assert all(isinstance(e["title"], str) and e["title"] for e in entries)


async def _assert_stored(catalog: Catalog, course_id: str, expected: list[str]) -> None:
    assert await catalog.outline_ids(course_id) == expected
    assert await catalog.db_positions(course_id) == [(m, i + 1) for i, m in enumerate(expected)]


# ---------------------------------------------------------------- attach


async def test_attach_appends_and_inserts(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    course = await shared_catalog.course(owner)
    a, b, c, d, e = [await shared_catalog.module(owner, t) for t in "ABCDE"]
    headers = shared_catalog.as_("instructor", owner)
    url = f"{API}/courses/{course['id']}/modules"

    assert await shared_catalog.outline_ids(course["id"]) == []
    r = await shared_catalog.client.post(url, json={"module_id": a["id"]}, headers=headers)
    assert r.status_code == 201
    assert r.json() == [
        {"module_id": a["id"], "position": 1, "title": "A", "prerequisites": [], "unlock_at": None}
    ]
    _assert_whole_list(
        await shared_catalog.attach(course["id"], b["id"], owner), [a["id"], b["id"]]
    )
    # position inserts and shifts the rest down
    _assert_whole_list(
        await shared_catalog.attach(course["id"], c["id"], owner, position=1),
        [c["id"], a["id"], b["id"]],
    )
    _assert_whole_list(
        await shared_catalog.attach(course["id"], d["id"], owner, position=2),
        [c["id"], d["id"], a["id"], b["id"]],
    )
    # n + 1 is the end
    _assert_whole_list(
        await shared_catalog.attach(course["id"], e["id"], owner, position=5),
        [c["id"], d["id"], a["id"], b["id"], e["id"]],
    )
    await _assert_stored(
        shared_catalog, course["id"], [c["id"], d["id"], a["id"], b["id"], e["id"]]
    )


async def test_attach_errors(shared_catalog: Catalog) -> None:
    owner, course, ids = await _course_with_modules(shared_catalog, 2)
    headers = shared_catalog.as_("instructor", owner)
    url = f"{API}/courses/{course['id']}/modules"
    spare = await shared_catalog.module(owner)

    body = assert_problem(
        await shared_catalog.client.post(url, json={"module_id": ids[0]}, headers=headers), 409
    )
    assert body["type"].endswith("/already-attached")
    # already attached wins over a bad position too: the module's place is unchanged
    assert_problem(
        await shared_catalog.client.post(
            url, json={"module_id": ids[1], "position": 1}, headers=headers
        ),
        409,
    )
    assert_problem(
        await shared_catalog.client.post(
            url, json={"module_id": str(uuid.uuid4())}, headers=headers
        ),
        404,
    )
    for position in (0, -1, 4, 100):
        r = await shared_catalog.client.post(
            url, json={"module_id": spare["id"], "position": position}, headers=headers
        )
        assert_problem(r, 422, "position")
    for body_in, field in (
        ({}, "module_id"),
        ({"module_id": "nope"}, "module_id"),
        ({"module_id": spare["id"], "position": "first"}, "position"),
        ({"module_id": spare["id"], "extra": 1}, "extra"),
    ):
        assert_problem(
            await shared_catalog.client.post(url, json=body_in, headers=headers), 422, field
        )
    r = await shared_catalog.client.post(
        f"{API}/courses/{uuid.uuid4()}/modules", json={"module_id": spare["id"]}, headers=headers
    )
    assert_problem(r, 404)
    await _assert_stored(shared_catalog, course["id"], ids)


# ---------------------------------------------------------------- move


async def test_move(shared_catalog: Catalog) -> None:
    owner, course, ids = await _course_with_modules(shared_catalog, 4)
    headers = shared_catalog.as_("instructor", owner)
    a, b, c, d = ids

    async def move(module_id: str, position: Any) -> Any:
        return await shared_catalog.client.patch(
            f"{API}/courses/{course['id']}/modules/{module_id}",
            json={"position": position},
            headers=headers,
        )

    r = await move(a, 3)
    assert r.status_code == 200, r.text
    _assert_whole_list(r.json(), [b, c, a, d])
    r = await move(d, 1)
    _assert_whole_list(r.json(), [d, b, c, a])
    r = await move(b, 4)
    _assert_whole_list(r.json(), [d, c, a, b])
    r = await move(c, 2)  # where it already is
    assert r.status_code == 200
    _assert_whole_list(r.json(), [d, c, a, b])
    for position in (0, 5, -3):
        assert_problem(await move(a, position), 422, "position")
    assert_problem(await move(a, None), 422, "position")
    # a module that exists but is not in this course
    stranger = await shared_catalog.module(owner)
    assert_problem(await move(stranger["id"], 1), 404)
    assert_problem(await move(str(uuid.uuid4()), 1), 404)
    await _assert_stored(shared_catalog, course["id"], [d, c, a, b])


# ---------------------------------------------------------------- reorder


async def test_reorder(shared_catalog: Catalog) -> None:
    owner, course, ids = await _course_with_modules(shared_catalog, 4)
    headers = shared_catalog.as_("instructor", owner)
    url = f"{API}/courses/{course['id']}/modules"
    wanted = [ids[2], ids[0], ids[3], ids[1]]

    r = await shared_catalog.client.put(url, json={"module_ids": wanted}, headers=headers)
    assert r.status_code == 200, r.text
    _assert_whole_list(r.json(), wanted)
    r = await shared_catalog.client.put(
        url, json={"module_ids": wanted}, headers=headers
    )  # same again
    _assert_whole_list(r.json(), wanted)
    await _assert_stored(shared_catalog, course["id"], wanted)

    stranger = (await shared_catalog.module(owner))["id"]
    for bad in (
        wanted[:3],  # one missing
        [*wanted, stranger],  # one extra (a real module, not attached)
        [*wanted[:3], stranger],  # right size, wrong set
        [*wanted, str(uuid.uuid4())],  # an unknown id
        [],
    ):
        r = await shared_catalog.client.put(url, json={"module_ids": bad}, headers=headers)
        body = assert_problem(r, 409)
        assert body["type"].endswith("/order-mismatch")
    for bad_body, field in (
        ({"module_ids": [*wanted, wanted[0]]}, "module_ids"),  # duplicate
        ({"module_ids": [wanted[0], wanted[0], wanted[1], wanted[2]]}, "module_ids"),
        ({"module_ids": ["x"]}, "module_ids.0"),
        ({}, "module_ids"),
        ({"module_ids": None}, "module_ids"),
    ):
        assert_problem(
            await shared_catalog.client.put(url, json=bad_body, headers=headers), 422, field
        )
    await _assert_stored(shared_catalog, course["id"], wanted)


async def test_reorder_empty_course(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    course = await shared_catalog.course(owner)
    r = await shared_catalog.client.put(
        f"{API}/courses/{course['id']}/modules",
        json={"module_ids": []},
        headers=shared_catalog.as_("instructor", owner),
    )
    assert r.status_code == 200
    assert r.json() == []


# ---------------------------------------------------------------- detach


@pytest.mark.parametrize("index", [0, 2, 4])
async def test_detach_closes_gaps(shared_catalog: Catalog, index: int) -> None:
    owner, course, ids = await _course_with_modules(shared_catalog, 5)
    headers = shared_catalog.as_("instructor", owner)
    url = f"{API}/courses/{course['id']}/modules/{ids[index]}"
    r = await shared_catalog.client.delete(url, headers=headers)
    assert r.status_code == 204
    assert r.content == b""
    remaining = [m for m in ids if m != ids[index]]
    await _assert_stored(shared_catalog, course["id"], remaining)
    assert_problem(await shared_catalog.client.delete(url, headers=headers), 404)
    # It can be attached again (at the end by default).
    _assert_whole_list(
        await shared_catalog.attach(course["id"], ids[index], owner), [*remaining, ids[index]]
    )


async def test_one_module_in_two_courses(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    first = await shared_catalog.course(owner)
    second = await shared_catalog.course(owner)
    shared, x, y = [await shared_catalog.module(owner, t) for t in ("Shared", "X", "Y")]
    await shared_catalog.attach(first["id"], shared["id"], owner)
    await shared_catalog.attach(first["id"], x["id"], owner)
    await shared_catalog.attach(second["id"], x["id"], owner)
    await shared_catalog.attach(second["id"], y["id"], owner)
    await shared_catalog.attach(second["id"], shared["id"], owner)
    await _assert_stored(shared_catalog, first["id"], [shared["id"], x["id"]])
    await _assert_stored(shared_catalog, second["id"], [x["id"], y["id"], shared["id"]])

    headers = shared_catalog.as_("instructor", owner)
    r = await shared_catalog.client.patch(
        f"{API}/courses/{first['id']}/modules/{shared['id']}",
        json={"position": 2},
        headers=headers,
    )
    assert r.status_code == 200
    r = await shared_catalog.client.delete(
        f"{API}/courses/{second['id']}/modules/{x['id']}", headers=headers
    )
    assert r.status_code == 204
    # Each course keeps its own order.
    await _assert_stored(shared_catalog, first["id"], [x["id"], shared["id"]])
    await _assert_stored(shared_catalog, second["id"], [y["id"], shared["id"]])


async def test_outline_visible_to_whoever_sees_the_course(shared_catalog: Catalog) -> None:
    owner, course, ids = await _course_with_modules(shared_catalog, 2)
    url = f"{API}/courses/{course['id']}/modules"
    assert_problem(await shared_catalog.client.get(url), 404)
    assert_problem(await shared_catalog.client.get(url, headers=shared_catalog.as_("student")), 404)
    assert_problem(
        await shared_catalog.client.get(url, headers=shared_catalog.as_("instructor")), 404
    )
    r = await shared_catalog.client.get(url, headers=shared_catalog.as_("instructor", owner))
    _assert_whole_list(r.json(), ids)
    await shared_catalog.client.patch(
        f"{API}/courses/{course['id']}",
        json={"status": "published"},
        headers=shared_catalog.as_("instructor", owner),
    )
    r = await shared_catalog.client.get(url)
    assert r.status_code == 200
    _assert_whole_list(r.json(), ids)
    assert [e["title"] for e in r.json()] == ["M1", "M2"]
    assert_problem(await shared_catalog.client.get(f"{API}/courses/{uuid.uuid4()}/modules"), 404)


# ---------------------------------------------------------------- concurrency


async def test_twenty_concurrent_moves_keep_positions_contiguous(shared_catalog: Catalog) -> None:
    owner, course, ids = await _course_with_modules(shared_catalog, 10)
    headers = shared_catalog.as_("instructor", owner)
    rng = random.Random(20)
    moves = [(rng.choice(ids), rng.randint(1, 10)) for _ in range(20)]

    results = await asyncio.gather(
        *(
            shared_catalog.client.patch(
                f"{API}/courses/{course['id']}/modules/{m}",
                json={"position": p},
                headers=headers,
            )
            for m, p in moves
        )
    )
    for r, (m, p) in zip(results, moves, strict=True):
        assert r.status_code == 200, r.text
        entries = r.json()
        # Every response is a whole, valid order with the moved module where it was put.
        assert sorted(e["module_id"] for e in entries) == sorted(ids)
        assert [e["position"] for e in entries] == list(range(1, 11))
        assert entries[p - 1]["module_id"] == m

    final = await shared_catalog.outline_ids(course["id"])
    assert sorted(final) == sorted(ids)
    assert len(set(final)) == 10
    positions = await shared_catalog.db_positions(course["id"])
    assert [p for _, p in positions] == list(range(1, 11))
    assert [m for m, _ in positions] == final
    # One of the responses is the final state: the moves were serialized.
    assert any([e["module_id"] for e in r.json()] == final for r in results)


async def test_concurrent_attaches(shared_catalog: Catalog) -> None:
    owner = uuid.uuid4()
    course = await shared_catalog.course(owner)
    modules = [(await shared_catalog.module(owner))["id"] for _ in range(12)]
    headers = shared_catalog.as_("instructor", owner)
    results = await asyncio.gather(
        *(
            shared_catalog.client.post(
                f"{API}/courses/{course['id']}/modules",
                json={"module_id": m, **({"position": 1} if i % 3 == 0 else {})},
                headers=headers,
            )
            for i, m in enumerate(modules)
        )
    )
    assert [r.status_code for r in results] == [201] * 12, [r.text for r in results]
    assert sorted(len(r.json()) for r in results) == list(range(1, 13))
    final = await shared_catalog.outline_ids(course["id"])
    assert sorted(final) == sorted(modules)
    positions = await shared_catalog.db_positions(course["id"])
    assert [p for _, p in positions] == list(range(1, 13))


async def test_concurrent_mixed_outline_changes(shared_catalog: Catalog) -> None:
    owner, course, ids = await _course_with_modules(shared_catalog, 6)
    extra = [(await shared_catalog.module(owner))["id"] for _ in range(3)]
    headers = shared_catalog.as_("instructor", owner)
    base = f"{API}/courses/{course['id']}/modules"
    rng = random.Random(7)
    calls = [
        *(shared_catalog.client.post(base, json={"module_id": m}, headers=headers) for m in extra),
        shared_catalog.client.delete(f"{base}/{ids[0]}", headers=headers),
        shared_catalog.client.delete(f"{base}/{ids[1]}", headers=headers),
        *(
            shared_catalog.client.patch(
                f"{base}/{rng.choice(ids[2:])}",
                json={"position": rng.randint(1, 4)},
                headers=headers,
            )
            for _ in range(8)
        ),
        # Same module attached twice at once: exactly one wins.
        shared_catalog.client.post(base, json={"module_id": extra[0]}, headers=headers),
    ]
    results = await asyncio.gather(*calls)
    codes = [r.status_code for r in results]
    assert codes[1:3] == [201, 201], codes
    assert codes[3:5] == [204, 204], codes
    assert all(c == 200 for c in codes[5:13]), [r.text for r in results]
    assert sorted([codes[0], codes[-1]]) == [201, 409], codes
    final = await shared_catalog.outline_ids(course["id"])
    assert sorted(final) == sorted(ids[2:] + extra)
    positions = await shared_catalog.db_positions(course["id"])
    assert [p for _, p in positions] == list(range(1, len(final) + 1))


async def test_validation_field_names_agree(shared_catalog: Catalog) -> None:
    """Schema and service-level checks name the same field the same way."""
    owner, course, ids = await _course_with_modules(shared_catalog, 1)
    url = f"{API}/courses/{course['id']}/modules/{ids[0]}"
    headers = shared_catalog.as_("instructor", owner)
    too_small = await shared_catalog.client.patch(url, json={"position": 0}, headers=headers)
    too_big = await shared_catalog.client.patch(url, json={"position": 2}, headers=headers)
    assert too_small.status_code == too_big.status_code == 422
    assert [e["field"] for e in too_small.json()["errors"]] == ["position"]
    assert [e["field"] for e in too_big.json()["errors"]] == ["position"]

"""Gating in a course: prerequisites and unlock_at per attached module, sequential courses."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from typing import Any

import pytest
from syllabus_catalog.rules import find_cycle
from syllabus_devkit.testing.asserts import assert_problem

from conftest import API, Catalog


async def _course_with_modules(
    catalog: Catalog, n: int, **course_fields: Any
) -> tuple[uuid.UUID, dict[str, Any], list[str]]:
    owner = uuid.uuid4()
    course = await catalog.course(owner, **course_fields)
    ids = []
    for i in range(n):
        module = await catalog.module(owner, f"M{i + 1}")
        await catalog.attach(course["id"], module["id"], owner)
        ids.append(module["id"])
    return owner, course, ids


async def _outline(catalog: Catalog, course_id: str) -> list[dict[str, Any]]:
    r = await catalog.client.get(f"{API}/courses/{course_id}/modules", headers=catalog.as_("admin"))
    assert r.status_code == 200, r.text
    entries: list[dict[str, Any]] = r.json()
    return entries


def _gating(entries: list[dict[str, Any]]) -> dict[str, tuple[list[str], str | None]]:
    return {e["module_id"]: (e["prerequisites"], e["unlock_at"]) for e in entries}


async def _events(catalog: Catalog, course_id: str | None = None) -> list[dict[str, Any]]:
    """The envelopes catalog recorded in its outbox (what its relay publishes), in order."""
    envelopes = [json.loads(row.payload) for row in await catalog.outbox()]
    if course_id is not None:
        envelopes = [e for e in envelopes if e["subject"] == course_id]
    return envelopes


def _name(envelope: dict[str, Any]) -> str:
    return str(envelope["type"].split(".")[2])


def _patch(catalog: Catalog, owner: uuid.UUID, course_id: str, module_id: str, body: Any) -> Any:
    return catalog.client.patch(
        f"{API}/courses/{course_id}/modules/{module_id}",
        json=body,
        headers=catalog.as_("instructor", owner),
    )


def _assert_consistent(entries: list[dict[str, Any]]) -> None:
    """Positions 1..n; every prerequisite attached, never the module itself, no cycle."""
    assert [e["position"] for e in entries] == list(range(1, len(entries) + 1))
    attached = {e["module_id"] for e in entries}
    requires = {e["module_id"]: e["prerequisites"] for e in entries}
    for m, prerequisites in requires.items():
        assert set(prerequisites) <= attached, (m, prerequisites, attached)
        assert m not in prerequisites
        assert len(set(prerequisites)) == len(prerequisites)
        assert find_cycle(requires, m) is None


# ---------------------------------------------------------------- happy paths


async def test_set_show_and_clear_gating(shared_catalog: Catalog) -> None:
    catalog = shared_catalog
    owner, course, (a, b, c) = await _course_with_modules(catalog, 3)
    cid = course["id"]

    r = await _patch(
        catalog,
        owner,
        cid,
        c,
        # duplicates are dropped, first occurrence kept; a time with an offset is kept in UTC
        {"prerequisites": [b, a, b], "unlock_at": "2030-05-01T10:00:00+02:00"},
    )
    assert r.status_code == 200, r.text
    entries = r.json()
    assert [e["module_id"] for e in entries] == [a, b, c]  # the whole list, order unchanged
    assert entries[2] == {
        "module_id": c,
        "position": 3,
        "title": "M3",
        "prerequisites": [b, a],
        "unlock_at": "2030-05-01T08:00:00Z",
    }
    assert entries[0]["prerequisites"] == [] and entries[0]["unlock_at"] is None
    assert await _outline(catalog, cid) == entries

    # Chains are fine (b requires a, c requires b and a); students see the gating too.
    r = await _patch(catalog, owner, cid, b, {"prerequisites": [a]})
    assert r.status_code == 200, r.text
    await catalog.client.patch(
        f"{API}/courses/{cid}",
        json={"status": "published"},
        headers=catalog.as_("instructor", owner),
    )
    r = await catalog.client.get(f"{API}/courses/{cid}/modules", headers=catalog.as_("student"))
    assert _gating(r.json()) == {
        a: ([], None),
        b: ([a], None),
        c: ([b, a], "2030-05-01T08:00:00Z"),
    }

    # Only what is sent changes: unlock_at alone keeps the prerequisites, and back.
    r = await _patch(catalog, owner, cid, c, {"unlock_at": None})
    assert _gating(r.json())[c] == ([b, a], None)
    r = await _patch(catalog, owner, cid, c, {"prerequisites": []})
    assert _gating(r.json())[c] == ([], None)
    # An empty body changes nothing and answers the list.
    r = await _patch(catalog, owner, cid, c, {})
    assert r.status_code == 200
    assert _gating(r.json())[c] == ([], None)


async def test_gating_survives_moves_and_reorders(shared_catalog: Catalog) -> None:
    catalog = shared_catalog
    owner, course, (a, b, c) = await _course_with_modules(catalog, 3)
    cid = course["id"]
    # Position and gating at once: one change, the module both moved and gated.
    r = await _patch(
        catalog, owner, cid, a, {"position": 3, "prerequisites": [c], "unlock_at": None}
    )
    assert r.status_code == 200, r.text
    assert [e["module_id"] for e in r.json()] == [b, c, a]
    assert _gating(r.json())[a] == ([c], None)
    # A prerequisite may sit at a later position: gating is not the order.
    r = await _patch(catalog, owner, cid, a, {"position": 1})
    assert [e["module_id"] for e in r.json()] == [a, b, c]
    r = await catalog.client.put(
        f"{API}/courses/{cid}/modules",
        json={"module_ids": [c, b, a]},
        headers=catalog.as_("instructor", owner),
    )
    assert _gating(r.json()) == {c: ([], None), b: ([], None), a: ([c], None)}
    spare = await catalog.module(owner, "Spare")
    entries = await catalog.attach(cid, spare["id"], owner, position=1)
    assert _gating(entries)[a] == ([c], None)
    assert _gating(entries)[spare["id"]] == ([], None)


async def test_detach_removes_the_module_from_prerequisites(shared_catalog: Catalog) -> None:
    catalog = shared_catalog
    owner, course, (a, b, c, d) = await _course_with_modules(catalog, 4)
    cid = course["id"]
    assert (await _patch(catalog, owner, cid, b, {"prerequisites": [a]})).status_code == 200
    assert (await _patch(catalog, owner, cid, c, {"prerequisites": [a, b]})).status_code == 200
    r = await _patch(
        catalog, owner, cid, d, {"prerequisites": [c], "unlock_at": "2031-01-01T00:00:00Z"}
    )
    assert r.status_code == 200

    r = await catalog.client.delete(
        f"{API}/courses/{cid}/modules/{a}", headers=catalog.as_("instructor", owner)
    )
    assert r.status_code == 204
    assert _gating(await _outline(catalog, cid)) == {
        b: ([], None),
        c: ([b], None),
        d: ([c], "2031-01-01T00:00:00Z"),
    }
    # Attached again, it starts without gating and nobody requires it.
    entries = await catalog.attach(cid, a, owner)
    assert _gating(entries)[a] == ([], None)
    assert all(a not in e["prerequisites"] for e in entries)
    # The same module in another course keeps that course's own gating.
    other = await catalog.course(owner)
    await catalog.attach(other["id"], b, owner)
    await catalog.attach(other["id"], c, owner)
    assert (await _patch(catalog, owner, other["id"], c, {"prerequisites": [b]})).status_code == 200
    r = await catalog.client.delete(
        f"{API}/courses/{cid}/modules/{b}", headers=catalog.as_("instructor", owner)
    )
    assert r.status_code == 204
    assert _gating(await _outline(catalog, other["id"]))[c] == ([b], None)
    assert _gating(await _outline(catalog, cid))[c] == ([], None)


# ---------------------------------------------------------------- validation


async def test_prerequisite_problems(shared_catalog: Catalog) -> None:
    catalog = shared_catalog
    owner, course, (a, b, c) = await _course_with_modules(catalog, 3)
    cid = course["id"]
    elsewhere = await catalog.module(owner, "Elsewhere")  # exists, not in this course
    unknown = str(uuid.uuid4())

    for bad in ([elsewhere["id"]], [b, unknown]):
        body = assert_problem(await _patch(catalog, owner, cid, a, {"prerequisites": bad}), 422)
        assert [e["field"] for e in body["errors"]] == ["prerequisites"]
        assert body["module_ids"] == bad[-1:]
        assert bad[-1] in body["detail"]

    body = assert_problem(
        await _patch(catalog, owner, cid, a, {"prerequisites": [b, a]}), 422, "prerequisites"
    )
    assert "own prerequisite" in body["detail"]

    # a → b → c, then c requiring a closes the cycle: named, in order, with titles and ids.
    assert (await _patch(catalog, owner, cid, a, {"prerequisites": [b]})).status_code == 200
    assert (await _patch(catalog, owner, cid, b, {"prerequisites": [c]})).status_code == 200
    body = assert_problem(
        await _patch(catalog, owner, cid, c, {"prerequisites": [a]}), 422, "prerequisites"
    )
    assert body["cycle"] == [c, a, b]
    assert body["detail"] == (
        f"prerequisites would form a cycle: 'M3' ({c}) → 'M1' ({a}) → 'M2' ({b}) → 'M3' ({c})"
        " (each module requires the next)"
    )
    body = assert_problem(await _patch(catalog, owner, cid, b, {"prerequisites": [a]}), 422)
    assert body["cycle"] == [b, a]

    for bad_body, field in (
        ({"prerequisites": None}, "prerequisites"),
        ({"prerequisites": "x"}, "prerequisites"),
        ({"prerequisites": ["nope"]}, "prerequisites.0"),
        ({"position": None}, "position"),
        ({"unlock_at": "2030-01-01T00:00:00"}, "unlock_at"),  # no timezone
        ({"unlock_at": "2030-01-01"}, "unlock_at"),
        ({"unlock_at": "soon"}, "unlock_at"),
        ({"unlock_at": 5}, "unlock_at"),  # not a Unix time either
        ({"unlock_at": True}, "unlock_at"),
        ({"unlock_at": "0001-01-01T00:00:00+01:00"}, "unlock_at"),  # before UTC can say
        ({"unlock_by": None}, "unlock_by"),
    ):
        assert_problem(await _patch(catalog, owner, cid, c, bad_body), 422, field)
    # A bad position refuses the whole change, gating included.
    assert_problem(
        await _patch(catalog, owner, cid, c, {"position": 9, "prerequisites": [b]}), 422, "position"
    )
    # Refused changes changed nothing.
    assert _gating(await _outline(catalog, cid)) == {a: ([b], None), b: ([c], None), c: ([], None)}
    # Not attached: 404, as for a move.
    assert_problem(await _patch(catalog, owner, cid, elsewhere["id"], {"prerequisites": []}), 404)


# ---------------------------------------------------------------- events


async def test_events_carry_gating_and_sequential(catalog: Catalog) -> None:
    owner, course, (a, b, c) = await _course_with_modules(catalog, 3, sequential=True)
    cid = course["id"]
    assert course["sequential"] is True
    r = await _patch(
        catalog, owner, cid, c, {"prerequisites": [a, b], "unlock_at": "2030-01-01T00:00:00Z"}
    )
    assert r.status_code == 200
    r = await _patch(catalog, owner, cid, c, {"position": 1})  # a move alone
    assert r.status_code == 200
    r = await _patch(catalog, owner, cid, c, {"prerequisites": [a, b]})  # no change
    assert r.status_code == 200
    r = await _patch(catalog, owner, cid, b, {"position": 3, "unlock_at": "2030-02-01T00:00:00Z"})
    assert r.status_code == 200
    r = await catalog.client.delete(
        f"{API}/courses/{cid}/modules/{a}", headers=catalog.as_("instructor", owner)
    )
    assert r.status_code == 204
    r = await catalog.client.patch(
        f"{API}/courses/{cid}", json={"sequential": False}, headers=catalog.as_("instructor", owner)
    )
    assert r.status_code == 200

    events = await _events(catalog, cid)
    outline = [e for e in events if e["aggregatetype"] == "course_outline"]
    assert [(_name(e), e["sequence"]) for e in outline] == [
        ("ModuleAttached", 1),
        ("ModuleAttached", 2),
        ("ModuleAttached", 3),
        ("ModuleGatingChanged", 4),
        ("CourseModulesReordered", 5),
        ("ModuleGatingChanged", 6),  # position and gating at once: one gating event
        ("ModuleDetached", 7),
    ]
    gated = outline[3]["data"]
    assert gated["module_id"] == c and gated["course_id"] == cid
    assert gated["modules"] == [
        {"module_id": a, "position": 1, "prerequisites": [], "unlock_at": None},
        {"module_id": b, "position": 2, "prerequisites": [], "unlock_at": None},
        {
            "module_id": c,
            "position": 3,
            "prerequisites": [a, b],
            "unlock_at": "2030-01-01T00:00:00Z",
        },
    ]
    # Every outline event carries each placement's gating.
    assert outline[4]["data"]["modules"][0] == gated["modules"][2] | {"position": 1}
    assert outline[5]["data"]["module_id"] == b
    assert [m["module_id"] for m in outline[5]["data"]["modules"]] == [c, a, b]
    assert outline[5]["data"]["modules"][2]["unlock_at"] == "2030-02-01T00:00:00Z"
    # The detach's event already has a removed from c's prerequisites.
    assert outline[6]["data"]["modules"] == [
        {"module_id": c, "position": 1, "prerequisites": [b], "unlock_at": "2030-01-01T00:00:00Z"},
        {"module_id": b, "position": 2, "prerequisites": [], "unlock_at": "2030-02-01T00:00:00Z"},
    ]
    courses = [e for e in events if e["aggregatetype"] == "course"]
    assert [(_name(e), e["data"]["sequential"]) for e in courses] == [
        ("CourseCreated", True),
        ("CourseUpdated", False),
    ]


# ---------------------------------------------------------------- sequential


async def test_sequential_round_trip(shared_catalog: Catalog) -> None:
    catalog = shared_catalog
    owner = uuid.uuid4()
    headers = catalog.as_("instructor", owner)
    course = await catalog.course(owner)
    assert course["sequential"] is False
    url = f"{API}/courses/{course['id']}"
    r = await catalog.client.patch(url, json={"sequential": True}, headers=headers)
    assert r.status_code == 200
    assert r.json()["sequential"] is True and r.json()["version"] == 2
    assert (await catalog.client.get(url, headers=headers)).json()["sequential"] is True
    for bad in (None, "yes", "true", 1, 2):
        assert_problem(
            await catalog.client.patch(url, json={"sequential": bad}, headers=headers),
            422,
            "sequential",
        )
    r = await catalog.client.post(
        f"{API}/courses", json={"title": "Seq", "sequential": True}, headers=headers
    )
    assert r.status_code == 201 and r.json()["sequential"] is True
    r = await catalog.client.get(
        f"{API}/courses", params={"creator_id": str(owner)}, headers=headers
    )
    assert sorted(c["sequential"] for c in r.json()["items"]) == [True, True]


# ---------------------------------------------------------------- ETag / If-Match


async def test_etags_unchanged_by_gating(shared_catalog: Catalog) -> None:
    catalog = shared_catalog
    owner, course, (a, b) = await _course_with_modules(catalog, 2)
    headers = catalog.as_("instructor", owner)
    url = f"{API}/courses/{course['id']}"
    etag = (await catalog.client.get(url, headers=headers)).headers["etag"]

    # Outline changes, gating included, are not edits of the course: its ETag stays.
    assert (
        await _patch(catalog, owner, course["id"], b, {"prerequisites": [a]})
    ).status_code == 200
    r = await catalog.client.get(url, headers={**headers, "If-None-Match": etag})
    assert r.status_code == 304

    # sequential is a course field: If-Match guards it like any other.
    r = await catalog.client.patch(
        url, json={"sequential": True}, headers={**headers, "If-Match": '"7"'}
    )
    assert_problem(r, 412)
    assert (await catalog.client.get(url, headers=headers)).json()["sequential"] is False
    r = await catalog.client.patch(
        url, json={"sequential": True}, headers={**headers, "If-Match": etag}
    )
    assert r.status_code == 200, r.text
    assert r.headers["etag"] != etag
    r = await catalog.client.get(url, headers={**headers, "If-None-Match": etag})
    assert r.status_code == 200 and r.json()["sequential"] is True


# ---------------------------------------------------------------- concurrency


@pytest.mark.parametrize("seed", range(4))
async def test_racing_attach_detach_and_gating_stay_consistent(
    shared_catalog: Catalog, seed: int
) -> None:
    """Detaches race prerequisite changes naming the detached modules, attaches and moves:
    whatever the order, no prerequisite dangles, none is a cycle, positions stay 1..n, and
    the last outline event carries exactly the final outline."""
    catalog = shared_catalog
    owner, course, ids = await _course_with_modules(catalog, 8)
    cid = course["id"]
    extra = [(await catalog.module(owner))["id"] for _ in range(3)]
    headers = catalog.as_("instructor", owner)
    base = f"{API}/courses/{cid}/modules"
    rng = random.Random(seed)
    doomed = ids[:2]
    # Each module only requires modules earlier in ``ids``: never a cycle by construction.
    gating = [
        (m, [*rng.sample(ids[:k], k=min(k, 3)), rng.choice(doomed)])
        for k, m in enumerate(ids)
        if k >= 2
    ]
    calls = [
        *(catalog.client.delete(f"{base}/{m}", headers=headers) for m in doomed),
        *(_patch(catalog, owner, cid, m, {"prerequisites": p}) for m, p in gating),
        *(catalog.client.post(base, json={"module_id": m}, headers=headers) for m in extra),
        *(
            _patch(
                catalog,
                owner,
                cid,
                rng.choice(ids[2:]),
                {"position": rng.randint(1, 6), "unlock_at": "2030-01-01T00:00:00Z"},
            )
            for _ in range(4)
        ),
    ]
    rng.shuffle(calls)
    results = await asyncio.gather(*calls)
    for r in results:
        assert r.status_code in (200, 201, 204, 422), r.text
        if r.status_code == 422:
            # Only a gating change that came after a detach of its prerequisite.
            body = r.json()
            assert [e["field"] for e in body["errors"]] == ["prerequisites"], body
            assert set(body["module_ids"]) <= set(doomed)
        elif r.status_code in (200, 201):
            _assert_consistent(r.json())

    final = await _outline(catalog, cid)
    _assert_consistent(final)
    assert sorted(e["module_id"] for e in final) == sorted(ids[2:] + extra)
    assert all(not set(doomed) & set(e["prerequisites"]) for e in final)
    positions = await catalog.db_positions(cid)
    assert [(e["module_id"], e["position"]) for e in final] == positions
    last = max(
        (e for e in await _events(catalog, cid) if e["aggregatetype"] == "course_outline"),
        key=lambda e: e["sequence"],
    )
    assert last["data"]["modules"] == [
        {k: e[k] for k in ("module_id", "position", "prerequisites", "unlock_at")} for e in final
    ]

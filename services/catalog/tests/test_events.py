"""Catalog's events: each change published exactly once, in CloudEvents form, in order."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from typing import Any

import nats
from syllabus_devkit.testing.asserts import assert_problem, eventually
from syllabus_shared.contracts import EVENTS_BY_TYPE, Envelope

from conftest import API, Catalog

CLOUDEVENTS_FIELDS = {
    "specversion",
    "id",
    "source",
    "type",
    "subject",
    "time",
    "datacontenttype",
    "aggregatetype",
    "sequence",
    "data",
}


async def _published(catalog: Catalog) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    """Drain the outbox, then every message of this test's CATALOG stream: (subject, body, headers)."""
    await catalog.runtime.relay.drain()
    # The background relay may hold some rows; wait until every one is marked sent.
    rows = await eventually(
        catalog.outbox, lambda rows: all(r.published_at is not None for r in rows)
    )
    assert all(r.published_at is not None for r in rows), "outbox not drained"
    stream = f"{catalog.settings.event_namespace.upper()}_CATALOG"
    nc = await nats.connect(catalog.settings.nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        messages = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            assert msg.data is not None
            assert msg.subject is not None
            messages.append((msg.subject, json.loads(msg.data), dict(msg.headers or {})))
        return messages
    finally:
        await nc.close()


async def test_every_change_is_published_once_in_order(catalog: Catalog) -> None:
    owner = uuid.uuid4()
    headers = {**catalog.as_("instructor", owner), "X-Request-ID": "trace-create-course"}
    r = await catalog.client.post(f"{API}/courses", json={"title": "Events 101"}, headers=headers)
    course = r.json()
    m1 = await catalog.module(owner, "One")
    m2 = await catalog.module(owner, "Two")
    await catalog.attach(course["id"], m1["id"], owner)
    await catalog.attach(course["id"], m2["id"], owner)
    auth = catalog.as_("instructor", owner)
    r = await catalog.client.put(
        f"{API}/courses/{course['id']}/modules",
        json={"module_ids": [m2["id"], m1["id"]]},
        headers=auth,
    )
    assert r.status_code == 200
    r = await catalog.client.delete(
        f"{API}/courses/{course['id']}/modules/{m1['id']}", headers=auth
    )
    assert r.status_code == 204
    r = await catalog.client.patch(
        f"{API}/courses/{course['id']}", json={"status": "published"}, headers=auth
    )
    assert r.status_code == 200
    # Requests that change nothing publish nothing.
    await catalog.client.patch(f"{API}/courses/{course['id']}", json={}, headers=auth)
    await catalog.client.put(
        f"{API}/courses/{course['id']}/modules", json={"module_ids": [m2["id"]]}, headers=auth
    )

    messages = await _published(catalog)
    outbox = await catalog.outbox()
    assert len(messages) == len(outbox) == 8
    envelopes = [body for _, body, _ in messages]
    ids = [e["id"] for e in envelopes]
    assert len(set(ids)) == len(ids)
    assert set(ids) == {str(row.id) for row in outbox}

    ns = catalog.settings.event_namespace
    expected = [
        ("course", "CourseCreated", course["id"], 1),
        ("module", "ModuleCreated", m1["id"], 1),
        ("module", "ModuleCreated", m2["id"], 1),
        ("course_outline", "ModuleAttached", course["id"], 1),
        ("course_outline", "ModuleAttached", course["id"], 2),
        ("course_outline", "CourseModulesReordered", course["id"], 3),
        ("course_outline", "ModuleDetached", course["id"], 4),
        ("course", "CoursePublished", course["id"], 2),
    ]
    got = [
        (e["aggregatetype"], e["type"].split(".")[2], e["subject"], e["sequence"])
        for e in envelopes
    ]
    assert got == expected

    for subject, body, msg_headers in messages:
        assert body.keys() >= CLOUDEVENTS_FIELDS, body
        assert body["specversion"] == "1.0"
        assert body["source"] == "catalog"
        assert body["datacontenttype"] == "application/json"
        assert body["type"] in EVENTS_BY_TYPE
        assert body["type"].startswith("syllabus.catalog.") and body["type"].endswith(".v1")
        assert dt.datetime.fromisoformat(body["time"]).tzinfo is not None
        name = body["type"].split(".")[2]
        assert subject == f"{ns}.catalog.{body['aggregatetype']}.{name}"
        assert msg_headers.get("Nats-Msg-Id") == body["id"]
        # The envelope and its data parse with the shared contracts.
        Envelope.model_validate(body)
        EVENTS_BY_TYPE[body["type"]].model_validate(body["data"])
    assert envelopes[0]["correlationid"] == "trace-create-course"

    # Sequences rise by one per aggregate instance.
    per_aggregate: dict[tuple[str, str], list[int]] = defaultdict(list)
    for e in envelopes:
        per_aggregate[(e["aggregatetype"], e["subject"])].append(e["sequence"])
    for seqs in per_aggregate.values():
        assert seqs == list(range(1, len(seqs) + 1))

    created = envelopes[0]["data"]
    assert created["course_id"] == course["id"]
    assert created["slug"] == "events-101"
    assert created["status"] == "draft"
    assert created["creator_id"] == str(owner)
    assert envelopes[7]["data"]["status"] == "published"
    assert envelopes[1]["data"] == {"module_id": m1["id"], "title": "One", "creator_id": str(owner)}

    # Outline events carry the whole order after the change.
    def order(e: dict[str, Any]) -> list[tuple[str, int]]:
        return [(p["module_id"], p["position"]) for p in e["data"]["modules"]]

    assert order(envelopes[3]) == [(m1["id"], 1)]
    assert envelopes[3]["data"]["module_id"] == m1["id"]
    assert envelopes[3]["data"]["position"] == 1
    assert order(envelopes[4]) == [(m1["id"], 1), (m2["id"], 2)]
    assert envelopes[4]["data"]["position"] == 2
    assert order(envelopes[5]) == [(m2["id"], 1), (m1["id"], 2)]
    assert order(envelopes[6]) == [(m2["id"], 1)]
    assert envelopes[6]["data"]["module_id"] == m1["id"]


async def test_moves_deletes_and_updates_are_published(catalog: Catalog) -> None:
    owner = uuid.uuid4()
    auth = catalog.as_("instructor", owner)
    course = await catalog.course(owner)
    modules = [await catalog.module(owner) for _ in range(3)]
    for m in modules:
        await catalog.attach(course["id"], m["id"], owner)
    a, b, c = (m["id"] for m in modules)
    r = await catalog.client.patch(
        f"{API}/courses/{course['id']}/modules/{c}", json={"position": 1}, headers=auth
    )
    assert r.status_code == 200
    await catalog.client.patch(f"{API}/modules/{a}", json={"title": "Renamed"}, headers=auth)
    await catalog.client.patch(f"{API}/courses/{course['id']}", json={"title": "T2"}, headers=auth)
    spare = await catalog.module(owner)
    await catalog.client.delete(f"{API}/modules/{spare['id']}", headers=auth)
    r = await catalog.client.delete(f"{API}/courses/{course['id']}", headers=auth)
    assert r.status_code == 204

    envelopes = [body for _, body, _ in await _published(catalog)]
    kinds = [e["type"].split(".")[2] for e in envelopes]
    assert kinds == [
        "CourseCreated",
        "ModuleCreated",
        "ModuleCreated",
        "ModuleCreated",
        "ModuleAttached",
        "ModuleAttached",
        "ModuleAttached",
        "CourseModulesReordered",
        "ModuleUpdated",
        "CourseUpdated",
        "ModuleCreated",
        "ModuleDeleted",
        "CourseDeleted",
    ]
    moved = envelopes[7]["data"]["modules"]
    assert [(p["module_id"], p["position"]) for p in moved] == [(c, 1), (a, 2), (b, 3)]
    assert envelopes[8]["data"]["title"] == "Renamed"
    assert envelopes[8]["sequence"] == 2
    assert envelopes[9]["data"]["title"] == "T2"
    assert envelopes[9]["sequence"] == 2
    assert envelopes[11]["subject"] == spare["id"]
    assert envelopes[11]["sequence"] == 2  # after the module's last version (1)
    assert envelopes[12]["subject"] == course["id"]
    assert envelopes[12]["sequence"] == 3  # after the course's last version (2)


async def test_failed_changes_leave_no_outbox_row(catalog: Catalog) -> None:
    owner = uuid.uuid4()
    auth = catalog.as_("instructor", owner)
    course = await catalog.course(owner)
    module = await catalog.module(owner)
    await catalog.attach(course["id"], module["id"], owner)
    before = len(await catalog.outbox())
    assert before == 3

    failures = [
        # unknown module
        await catalog.client.post(
            f"{API}/courses/{course['id']}/modules",
            json={"module_id": str(uuid.uuid4())},
            headers=auth,
        ),
        # already attached
        await catalog.client.post(
            f"{API}/courses/{course['id']}/modules", json={"module_id": module["id"]}, headers=auth
        ),
        # position out of range (checked after the course row was locked)
        await catalog.client.patch(
            f"{API}/courses/{course['id']}/modules/{module['id']}",
            json={"position": 5},
            headers=auth,
        ),
        await catalog.client.put(
            f"{API}/courses/{course['id']}/modules", json={"module_ids": []}, headers=auth
        ),
        # stale If-Match, invalid status move, module in use
        await catalog.client.patch(
            f"{API}/courses/{course['id']}",
            json={"title": "x"},
            headers={**auth, "If-Match": '"9"'},
        ),
        await catalog.client.patch(
            f"{API}/courses/{course['id']}", json={"status": "archived"}, headers=auth
        ),
        await catalog.client.delete(f"{API}/modules/{module['id']}", headers=auth),
        # not allowed
        await catalog.client.patch(
            f"{API}/courses/{course['id']}", json={"title": "x"}, headers=catalog.as_("student")
        ),
    ]
    assert [r.status_code for r in failures] == [404, 409, 422, 409, 412, 409, 409, 403]
    for r in failures:
        assert_problem(r, r.status_code)
    assert len(await catalog.outbox()) == before
    messages = await _published(catalog)
    assert len(messages) == before

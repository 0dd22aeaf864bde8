from __future__ import annotations

import uuid

from conftest import Catalog


async def test_create_and_read_course(catalog: Catalog) -> None:
    owner = uuid.uuid4()
    r = await catalog.client.post(
        "/api/v1/courses", json={"title": "Intro to Rust"}, headers=catalog.as_("instructor", owner)
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "draft"
    assert body["slug"] == "intro-to-rust"
    assert body["creator_id"] == str(owner)
    r = await catalog.client.get(
        f"/api/v1/courses/{body['id']}", headers=catalog.as_("instructor", owner)
    )
    assert r.status_code == 200
    assert r.headers["etag"] == '"1.0"'

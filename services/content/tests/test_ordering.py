"""Positions stay 1..n per module under concurrent moves, creates, deletes and reorders."""

from __future__ import annotations

import asyncio
import random
import uuid

import httpx

from conftest import API, TEXT, Content, about_module


async def test_twenty_concurrent_moves(content: Content) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    ids = [(await content.post(module_id, owner, title=f"P{i}"))["id"] for i in range(20)]
    headers = content.as_("instructor", owner)
    rng = random.Random(7)
    moves = [(rng.choice(ids), rng.randint(1, 20)) for _ in range(20)]
    results = await asyncio.gather(
        *(
            content.client.patch(f"{API}/posts/{p}", json={"position": pos}, headers=headers)
            for p, pos in moves
        )
    )
    assert [r.status_code for r in results] == [200] * 20, [r.text for r in results]
    positions = await content.db_positions(module_id)
    assert [p for _, p in positions] == list(range(1, 21))
    assert sorted(p for p, _ in positions) == sorted(ids)
    assert await content.order(module_id, owner) == [p for p, _ in positions]

    # The last ModulePostsReordered describes the final order.
    events = [
        e
        for e in await content.published(about_module(module_id))
        if e.type.endswith("ModulePostsReordered.v1")
    ]
    last = max(events, key=lambda e: e.sequence)
    assert [p["post_id"] for p in last.data["posts"]] == [p for p, _ in positions]
    # One per change, with a sequence each: 20 creates + the moves that changed something.
    assert sorted(e.sequence for e in events) == list(range(1, len(events) + 1))


async def test_mixed_concurrent_changes(content: Content) -> None:
    owner = uuid.uuid4()
    module_id = await content.module(owner)
    ids = [(await content.post(module_id, owner))["id"] for _ in range(8)]
    headers = content.as_("instructor", owner)
    url = f"{API}/modules/{module_id}/posts"
    reordered = list(reversed(ids))

    async def create(position: int | None) -> httpx.Response:
        body = {"title": "new", "content": TEXT, **({"position": position} if position else {})}
        return await content.client.post(url, json=body, headers=headers)

    calls = [
        create(1),
        create(None),
        create(3),
        content.client.delete(f"{API}/posts/{ids[0]}", headers=headers),
        content.client.delete(f"{API}/posts/{ids[1]}", headers=headers),
        content.client.patch(f"{API}/posts/{ids[5]}", json={"position": 1}, headers=headers),
        content.client.patch(f"{API}/posts/{ids[6]}", json={"position": 2}, headers=headers),
        content.client.put(url, json={"post_ids": reordered}, headers=headers),  # may be stale: 409
    ]
    results = await asyncio.gather(*calls)
    codes = [r.status_code for r in results]
    assert codes[:3] == [201, 201, 201], codes
    assert codes[3:5] == [204, 204], codes
    assert codes[5:7] == [200, 200], codes
    assert codes[7] in (200, 409), codes
    positions = await content.db_positions(module_id)
    assert [p for _, p in positions] == list(range(1, 10))  # 8 + 3 - 2
    assert ids[0] not in dict(positions)

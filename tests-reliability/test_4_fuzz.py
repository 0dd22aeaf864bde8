"""RELIABILITY item 14: bad input over HTTP (fuzzed from the OpenAPI schema) never yields a
5xx nor a response that breaks our own schema, authorization holds for every role x route,
and the data stays consistent afterwards. Short here; ``make fuzz`` runs the long one."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from fuzz import run_fuzz
from harness import ReliabilityStack

from conftest import World, settle

pytestmark = pytest.mark.asyncio(loop_scope="session")


# Operations of issue 26 that must answer 2xx at least once (on the real resources).
REACHED = (
    "GET /api/v1/groups/{group_id}",
    "GET /api/v1/groups/{group_id}/members",
    "PUT /api/v1/groups/{group_id}/members/{user_id}",
    "GET /api/v1/courses/{course_id}/groups",
    "PUT /api/v1/courses/{course_id}/groups/{group_id}",
    "PUT /api/v1/courses/{course_id}/modules/{module_id}/overrides/{kind}/{id}",
    "PUT /api/v1/posts/{post_id}/overrides/{kind}/{id}",
    "GET /api/v1/me/groups",
)


async def group_fixtures(stack: ReliabilityStack, world: World) -> dict[str, str]:
    """Real resources for the routes of groups and dates (issue 26), so the fuzzer gets past
    their 404s: a group of the world's instructor with the student in it, followed by the
    world's course, with an unlock override; an assignment in the world's module (a due
    override needs a gradable post) with a due override. Its own, not the world's: the
    fuzzer may delete them."""
    tag = uuid.uuid4().hex[:6]
    async with stack.client(world.instructor) as c:
        r = await c.post("/api/v1/groups", json={"name": f"fuzz group {tag}"})
        assert r.status_code == 201, r.text
        group = r.json()["id"]
        r = await c.put(f"/api/v1/groups/{group}/members/{world.student.id}")
        assert r.status_code == 201, r.text
        r = await c.put(f"/api/v1/courses/{world.course}/groups/{group}")
        assert r.status_code == 201, r.text
        r = await c.post(
            f"/api/v1/modules/{world.module}/posts",
            json={
                "title": f"fuzz assignment {tag}",
                "status": "published",
                "content": {"kind": "assignment", "instructions": "do", "max_points": 10},
            },
        )
        assert r.status_code == 201, r.text
        post = r.json()["id"]
        when = {"unlock_at": "2020-01-01T00:00:00Z"}
        overrides = f"/api/v1/courses/{world.course}/modules/{world.module}/overrides"
        r = await c.put(f"{overrides}/groups/{group}", json=when)
        assert r.status_code == 201, r.text
        r = await c.put(
            f"/api/v1/posts/{post}/overrides/groups/{group}",
            json={"due_at": "2030-01-01T00:00:00Z"},
        )
        assert r.status_code == 201, r.text
    return {"group_id": group, "kind": "groups", "id": group, "post_id": post}


async def test_14_fuzz_every_operation_for_every_role(
    stack: ReliabilityStack, world: World, request: pytest.FixtureRequest
) -> None:
    examples = request.config.getoption("--fuzz-examples") or 3
    assert stack.admin is not None
    roles = {
        "guest": {},
        "student": world.student.headers,
        "instructor": world.instructor.headers,
        "admin": stack.admin.headers,
    }
    # The fuzzer is synchronous: run it in a thread so this loop keeps serving the stack.
    real = {
        "course_id": world.course,
        "module_id": world.module,
        "post_id": world.post,
        "user_id": world.student.id,
        **await group_fixtures(stack, world),
    }
    result = await asyncio.to_thread(
        run_fuzz, stack.gateway_url, roles, max_examples=examples, path_ids=real
    )
    print(result.summary())
    # The routes of groups and dates were reached past their 404s (on the real resources).
    groups = sorted(op for op in result.reached if "group" in op or "overrides" in op)
    print("group routes answered 2xx:", {op: result.reached[op] for op in groups})
    for op in REACHED:
        assert result.reached[op], f"{op} never answered 2xx: {groups}"
    assert result.operations >= 30
    assert not result.failures, "\n".join(result.failures[:40])
    assert not any(s.startswith("5") for s in result.statuses), result.statuses
    await settle(stack)

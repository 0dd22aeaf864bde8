"""RELIABILITY item 14: bad input over HTTP (fuzzed from the OpenAPI schema) never yields a
5xx nor a response that breaks our own schema, authorization holds for every role x route,
and the data stays consistent afterwards. Short here; ``make fuzz`` runs the long one."""

from __future__ import annotations

import asyncio

import pytest

from fuzz import run_fuzz
from harness import ReliabilityStack

from conftest import World, settle

pytestmark = pytest.mark.asyncio(loop_scope="session")


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
    }
    result = await asyncio.to_thread(
        run_fuzz, stack.gateway_url, roles, max_examples=examples, path_ids=real
    )
    print(result.summary())
    assert result.operations >= 30
    assert not result.failures, "\n".join(result.failures[:40])
    assert not any(s.startswith("5") for s in result.statuses), result.statuses
    await settle(stack)

"""syllabus_client: every operation of the public API is there, typed, and works against
the real service it names."""

from __future__ import annotations

import importlib
import inspect
import json
import typing
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from syllabus_client import AuthenticatedClient, Client
from syllabus_client.api.course_modules import course_modules_attach, course_modules_list
from syllabus_client.api.courses import courses_create, courses_get, courses_list, courses_update
from syllabus_client.api.modules import modules_create
from syllabus_client.api.submissions import submissions_grade
from syllabus_client.models import (
    AttachModule,
    CourseCreate,
    CoursePublic,
    CourseStatus,
    CourseUpdate,
    GradeInput,
    ModuleCreate,
    ModulePublic,
    OutlineEntry,
    PageCoursePublic,
    Problem,
    SubmissionPublic,
)
from syllabus_client.types import Response
from syllabus_devkit.testing.tokens import TokenFactory

OPENAPI_JSON = Path(__file__).resolve().parents[3] / "contracts" / "openapi.json"
FUNCTIONS = ("sync", "sync_detailed", "asyncio", "asyncio_detailed")


def _operations() -> list[tuple[str, str]]:
    """(module path, operationId) of every operation in the merged document."""
    document = json.loads(OPENAPI_JSON.read_text())
    return sorted(
        (operation.get("tags", ["default"])[0].replace(" ", "_"), operation["operationId"])
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    )


@pytest.mark.parametrize(("tag", "operation_id"), _operations(), ids=lambda v: str(v))
def test_every_operation_is_a_module_named_by_its_operation_id(tag: str, operation_id: str) -> None:
    module = importlib.import_module(f"syllabus_client.api.{tag}.{operation_id}")
    for name in FUNCTIONS:
        function = getattr(module, name)
        assert "client" in inspect.signature(function).parameters, (operation_id, name)


def test_operations_are_typed_with_the_api_shapes() -> None:
    hints = typing.get_type_hints(courses_list.sync)
    assert hints["return"] == PageCoursePublic | Problem | None
    assert hints["limit"] is not None
    create = typing.get_type_hints(courses_create.asyncio_detailed)
    assert create["body"] is CourseCreate
    assert create["return"] == Response[CoursePublic | Problem]
    grade = typing.get_type_hints(submissions_grade.sync)
    assert grade["body"] is GradeInput
    assert grade["submission_id"] is uuid.UUID
    assert grade["return"] == Problem | SubmissionPublic | None
    attach = typing.get_type_hints(course_modules_attach.sync)
    assert attach["return"] == Problem | list[OutlineEntry] | None


async def test_the_client_drives_the_real_catalog(catalog_app: Any, tokens: TokenFactory) -> None:
    owner = uuid.uuid4()
    transport = httpx.ASGITransport(app=catalog_app)
    instructor = AuthenticatedClient(
        base_url="http://catalog",
        token=tokens.token(owner, "instructor"),
        httpx_args={"transport": transport},
    )
    async with instructor:
        created = await courses_create.asyncio_detailed(
            client=instructor,
            body=CourseCreate(title="Intro to Databases", description="Relational thinking"),
        )
        assert created.status_code == 201, created.content
        course = created.parsed
        assert isinstance(course, CoursePublic)
        assert (course.status, course.creator_id) == (CourseStatus.DRAFT, owner)

        module = await modules_create.asyncio(client=instructor, body=ModuleCreate(title="Joins"))
        assert isinstance(module, ModulePublic)
        outline = await course_modules_attach.asyncio(
            course.id, client=instructor, body=AttachModule(module_id=module.id)
        )
        assert isinstance(outline, list)
        assert [(e.module_id, e.position, e.title) for e in outline] == [(module.id, 1, "Joins")]

        published = await courses_update.asyncio(
            course.id, client=instructor, body=CourseUpdate(status=CourseStatus.PUBLISHED)
        )
        assert isinstance(published, CoursePublic)
        assert published.status == CourseStatus.PUBLISHED

    # A guest: the plain Client, no token.
    async with Client(base_url="http://catalog", httpx_args={"transport": transport}) as guest:
        page = await courses_list.asyncio(client=guest, q="databases")
        assert isinstance(page, PageCoursePublic)
        assert course.id in {c.id for c in page.items}
        seen = await course_modules_list.asyncio(course.id, client=guest)
        assert isinstance(seen, list)
        assert [e.module_id for e in seen] == [module.id]

        missing = await courses_get.asyncio_detailed(uuid.uuid4(), client=guest)
        assert missing.status_code == 404
        assert isinstance(missing.parsed, Problem)
        assert missing.parsed.status == 404

"""Catalog HTTP routes: thin; rules live in ``service``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from syllabus_shared.auth import MaybeUser, Staff
from syllabus_shared.http import idempotent, not_modified, versioned
from syllabus_shared.pagination import Page, PageParams, page_of, page_params
from syllabus_shared.runtime import UnitOfWorkDep

from syllabus_catalog import schemas, service
from syllabus_catalog.rules import override_kind

router = APIRouter()
Paging = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]
Search = Annotated[str | None, Query(max_length=200), schemas.NoNul]
# An override's collection in its path; any other word is no such collection (404, not 422).
OverrideKindPath = Annotated[
    str,
    Path(
        description="`groups` (the members of a group the course follows) or `users` "
        "(one student enrolled in the course)",
        json_schema_extra={"enum": ["groups", "users"]},
    ),
]
TargetId = Annotated[uuid.UUID, Path(alias="id", description="the group's or the user's id")]


def _course(course: object) -> schemas.CoursePublic:
    return schemas.CoursePublic.model_validate(course)


def _module(module: object) -> schemas.ModulePublic:
    return schemas.ModulePublic.model_validate(module)


# ---------------------------------------------------------------- courses


@router.post(
    "/courses",
    operation_id="courses_create",
    status_code=201,
    response_model=schemas.CoursePublic,
    tags=["courses"],
)
async def create_course(
    body: schemas.CourseCreate, who: Staff, uow: UnitOfWorkDep, request: Request
) -> JSONResponse:
    async def create() -> JSONResponse:
        course = _course(await service.create_course(uow, who, body))
        return versioned(
            course,
            course.version,
            201,
            {"Location": f"/api/v1/courses/{course.id}"},
            derived=course.enrollment_count,
        )

    return await idempotent(
        request, uow, scope=f"{who.user_id}:POST /courses", body=body, create=create
    )


@router.get(
    "/courses",
    operation_id="courses_list",
    response_model=Page[schemas.CoursePublic],
    tags=["courses"],
)
async def list_courses(
    who: MaybeUser,
    uow: UnitOfWorkDep,
    paging: Paging,
    status: schemas.CourseStatus | None = None,
    q: Search = None,
    creator_id: uuid.UUID | None = None,
) -> Page[schemas.CoursePublic]:
    rows = await service.list_courses(uow, who, paging, status=status, q=q, creator_id=creator_id)
    return page_of([_course(r) for r in rows], paging, lambda c: {"id": str(c.id)})


@router.get(
    "/courses/{course_id}",
    operation_id="courses_get",
    response_model=schemas.CoursePublic,
    tags=["courses"],
)
async def get_course(
    course_id: uuid.UUID, who: MaybeUser, uow: UnitOfWorkDep, request: Request
) -> Response:
    course = _course(await service.get_course(uow, who, course_id))
    return not_modified(request, course.version, course.enrollment_count) or versioned(
        course, course.version, derived=course.enrollment_count
    )


@router.patch(
    "/courses/{course_id}",
    operation_id="courses_update",
    response_model=schemas.CoursePublic,
    tags=["courses"],
)
async def update_course(
    course_id: uuid.UUID,
    body: schemas.CourseUpdate,
    who: Staff,
    uow: UnitOfWorkDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    course = _course(await service.update_course(uow, who, course_id, body, if_match))
    return versioned(course, course.version, derived=course.enrollment_count)


@router.delete(
    "/courses/{course_id}", operation_id="courses_delete", status_code=204, tags=["courses"]
)
async def delete_course(
    course_id: uuid.UUID, who: Staff, uow: UnitOfWorkDep, if_match: IfMatch = None
) -> Response:
    await service.delete_course(uow, who, course_id, if_match)
    return Response(status_code=204)


# ---------------------------------------------------------------- outline


@router.get(
    "/courses/{course_id}/modules",
    operation_id="course_modules_list",
    response_model=list[schemas.OutlineEntry],
    tags=["course modules"],
)
async def course_modules(
    course_id: uuid.UUID, who: MaybeUser, uow: UnitOfWorkDep
) -> list[schemas.OutlineEntry]:
    return await service.course_outline(uow, who, course_id)


@router.post(
    "/courses/{course_id}/modules",
    operation_id="course_modules_attach",
    status_code=201,
    response_model=list[schemas.OutlineEntry],
    tags=["course modules"],
)
async def attach_module(
    course_id: uuid.UUID, body: schemas.AttachModule, who: Staff, uow: UnitOfWorkDep
) -> list[schemas.OutlineEntry]:
    return await service.attach_module(uow, who, course_id, body)


@router.patch(
    "/courses/{course_id}/modules/{module_id}",
    operation_id="course_modules_update",
    response_model=list[schemas.OutlineEntry],
    tags=["course modules"],
)
async def move_module(
    course_id: uuid.UUID,
    module_id: uuid.UUID,
    body: schemas.MoveModule,
    who: Staff,
    uow: UnitOfWorkDep,
) -> list[schemas.OutlineEntry]:
    return await service.change_attachment(uow, who, course_id, module_id, body)


@router.put(
    "/courses/{course_id}/modules",
    operation_id="course_modules_reorder",
    response_model=list[schemas.OutlineEntry],
    tags=["course modules"],
)
async def reorder_modules(
    course_id: uuid.UUID, body: schemas.ReorderModules, who: Staff, uow: UnitOfWorkDep
) -> list[schemas.OutlineEntry]:
    return await service.reorder_modules(uow, who, course_id, body)


@router.delete(
    "/courses/{course_id}/modules/{module_id}",
    operation_id="course_modules_detach",
    status_code=204,
    tags=["course modules"],
)
async def detach_module(
    course_id: uuid.UUID, module_id: uuid.UUID, who: Staff, uow: UnitOfWorkDep
) -> Response:
    await service.detach_module(uow, who, course_id, module_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- modules


@router.post(
    "/modules",
    operation_id="modules_create",
    status_code=201,
    response_model=schemas.ModulePublic,
    tags=["modules"],
)
async def create_module(
    body: schemas.ModuleCreate, who: Staff, uow: UnitOfWorkDep, request: Request
) -> JSONResponse:
    async def create() -> JSONResponse:
        module = _module(await service.create_module(uow, who, body))
        return versioned(module, module.version, 201, {"Location": f"/api/v1/modules/{module.id}"})

    return await idempotent(
        request, uow, scope=f"{who.user_id}:POST /modules", body=body, create=create
    )


@router.get(
    "/modules",
    operation_id="modules_list",
    response_model=Page[schemas.ModulePublic],
    tags=["modules"],
)
async def list_modules(
    who: Staff,
    uow: UnitOfWorkDep,
    paging: Paging,
    q: Search = None,
    creator_id: uuid.UUID | None = None,
) -> Page[schemas.ModulePublic]:
    rows = await service.list_modules(uow, paging, q=q, creator_id=creator_id)
    return page_of([_module(r) for r in rows], paging, lambda m: {"id": str(m.id)})


@router.get(
    "/modules/{module_id}",
    operation_id="modules_get",
    response_model=schemas.ModulePublic,
    tags=["modules"],
)
async def get_module(
    module_id: uuid.UUID, who: Staff, uow: UnitOfWorkDep, request: Request
) -> Response:
    module = _module(await service.get_module(uow, module_id))
    return not_modified(request, module.version) or versioned(module, module.version)


@router.patch(
    "/modules/{module_id}",
    operation_id="modules_update",
    response_model=schemas.ModulePublic,
    tags=["modules"],
)
async def update_module(
    module_id: uuid.UUID,
    body: schemas.ModuleUpdate,
    who: Staff,
    uow: UnitOfWorkDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    module = _module(await service.update_module(uow, who, module_id, body, if_match))
    return versioned(module, module.version)


@router.delete(
    "/modules/{module_id}", operation_id="modules_delete", status_code=204, tags=["modules"]
)
async def delete_module(
    module_id: uuid.UUID, who: Staff, uow: UnitOfWorkDep, if_match: IfMatch = None
) -> Response:
    await service.delete_module(uow, who, module_id, if_match)
    return Response(status_code=204)


@router.get(
    "/modules/{module_id}/courses",
    operation_id="module_courses_list",
    response_model=Page[schemas.ModuleUsage],
    tags=["modules"],
)
async def module_courses(
    module_id: uuid.UUID, who: Staff, uow: UnitOfWorkDep
) -> Page[schemas.ModuleUsage]:
    usage = await service.module_usage(uow, who, module_id)
    # A module sits in few courses; one page holds them all.
    return Page[schemas.ModuleUsage](items=usage, next_cursor=None)


# ---------------------------------------------------------------- unlock overrides


def _override(row: object) -> schemas.UnlockOverridePublic:
    return schemas.UnlockOverridePublic.model_validate(row)


@router.put(
    "/courses/{course_id}/modules/{module_id}/overrides/{kind}/{id}",
    operation_id="course_module_overrides_set",
    response_model=schemas.UnlockOverridePublic,
    responses={201: {"model": schemas.UnlockOverridePublic}},
    tags=["course modules"],
)
async def set_unlock_override(
    course_id: uuid.UUID,
    module_id: uuid.UUID,
    kind: OverrideKindPath,
    target_id: TargetId,
    body: schemas.UnlockOverrideBody,
    who: Staff,
    uow: UnitOfWorkDep,
) -> JSONResponse:
    """The module opens at ``unlock_at`` for a group's members or one student of the course
    instead of the course's date (201 set, 200 replaced or unchanged; docs/dates.md)."""
    row, created = await service.set_unlock_override(
        uow, who, course_id, module_id, override_kind(kind), target_id, body
    )
    return JSONResponse(jsonable_encoder(_override(row)), status_code=201 if created else 200)


@router.get(
    "/courses/{course_id}/modules/{module_id}/overrides",
    operation_id="course_module_overrides_list",
    response_model=list[schemas.UnlockOverridePublic],
    tags=["course modules"],
)
async def list_unlock_overrides(
    course_id: uuid.UUID, module_id: uuid.UUID, who: Staff, uow: UnitOfWorkDep
) -> list[schemas.UnlockOverridePublic]:
    rows = await service.list_unlock_overrides(uow, who, course_id, module_id)
    return [_override(r) for r in rows]


@router.delete(
    "/courses/{course_id}/modules/{module_id}/overrides/{kind}/{id}",
    operation_id="course_module_overrides_delete",
    status_code=204,
    tags=["course modules"],
)
async def remove_unlock_override(
    course_id: uuid.UUID,
    module_id: uuid.UUID,
    kind: OverrideKindPath,
    target_id: TargetId,
    who: Staff,
    uow: UnitOfWorkDep,
) -> Response:
    await service.remove_unlock_override(
        uow, who, course_id, module_id, override_kind(kind), target_id
    )
    return Response(status_code=204)


@router.get(
    "/courses/{course_id}/overrides",
    operation_id="course_overrides_list",
    response_model=list[schemas.UnlockOverridePublic],
    tags=["course modules"],
)
async def list_course_overrides(
    course_id: uuid.UUID, who: Staff, uow: UnitOfWorkDep
) -> list[schemas.UnlockOverridePublic]:
    """Every module's overrides in the course, in course order (an extension: one call for
    the course editor)."""
    rows = await service.list_unlock_overrides(uow, who, course_id)
    return [_override(r) for r in rows]

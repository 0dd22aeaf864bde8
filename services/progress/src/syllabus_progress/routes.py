"""Progress HTTP routes: thin; rules live in ``service``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession
from syllabus_shared.auth import CurrentUser, Student
from syllabus_shared.http import idempotent, versioned
from syllabus_shared.pagination import Page, PageParams, page_params
from syllabus_shared.runtime import RuntimeDep

from syllabus_progress import schemas, service

router = APIRouter()
Paging = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]


# ---------------------------------------------------------------- enrollments


@router.post(
    "/courses/{course_id}/enrollments",
    status_code=201,
    response_model=schemas.EnrollmentPublic,
    tags=["enrollments"],
)
async def enroll(
    course_id: uuid.UUID, who: Student, rt: RuntimeDep, request: Request
) -> JSONResponse:
    # Outside the transaction: a publish a moment ago may still be on its way to us.
    await service.settle_course(rt, course_id, enrollable=True)

    async def create(session: AsyncSession) -> JSONResponse:
        enrollment = schemas.EnrollmentPublic.model_validate(
            await service.enroll(session, rt.outbox, who, course_id)
        )
        return versioned(enrollment, enrollment.version, 201)

    return await idempotent(
        request,
        rt.db,
        rt.tables,
        scope=f"{who.user_id}:POST /courses/{course_id}/enrollments",
        body={"course_id": str(course_id)},
        create=create,
    )


@router.delete("/courses/{course_id}/enrollments/me", status_code=204, tags=["enrollments"])
async def drop(
    course_id: uuid.UUID, who: Student, rt: RuntimeDep, if_match: IfMatch = None
) -> Response:
    async with rt.db.transaction() as session:
        await service.drop(session, rt.outbox, who, course_id, if_match)
    return Response(status_code=204)


@router.get(
    "/me/enrollments", response_model=Page[schemas.EnrollmentWithProgress], tags=["enrollments"]
)
async def my_enrollments(
    who: CurrentUser, rt: RuntimeDep, paging: Paging
) -> Page[schemas.EnrollmentWithProgress]:
    async with rt.db.transaction() as session:
        return await service.my_enrollments(session, who, paging)


# ---------------------------------------------------------------- completions


@router.put(
    "/me/completions/{post_id}",
    response_model=schemas.CompletionPublic,
    responses={201: {"model": schemas.CompletionPublic}},
    tags=["completions"],
)
async def complete_post(post_id: uuid.UUID, who: Student, rt: RuntimeDep) -> JSONResponse:
    # Outside the transaction: the post, its publication or its module's attachment may lag.
    await service.settle_post(rt, who, post_id)
    async with rt.db.transaction() as session:
        body, created = await service.complete_post(session, rt.outbox, who, post_id)
    return JSONResponse(jsonable_encoder(body), status_code=201 if created else 200)


@router.delete("/me/completions/{post_id}", status_code=204, tags=["completions"])
async def uncomplete_post(post_id: uuid.UUID, who: Student, rt: RuntimeDep) -> Response:
    async with rt.db.transaction() as session:
        await service.uncomplete_post(session, rt.outbox, who, post_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- progress


@router.get(
    "/me/courses/{course_id}/progress", response_model=schemas.CourseProgress, tags=["progress"]
)
async def my_course_progress(course_id: uuid.UUID, who: CurrentUser, rt: RuntimeDep) -> Response:
    # One statement on an autocommit connection; the document is serialized once, as built
    # (``response_model`` documents it: returning a Response skips validating it again).
    async with rt.db.read() as conn:
        document = await service.progress_document(conn, who, course_id)
    return Response(to_json(document), media_type="application/json")


@router.get(
    "/courses/{course_id}/progress",
    response_model=Page[schemas.StudentProgress],
    tags=["progress"],
)
async def course_roster(
    course_id: uuid.UUID, who: CurrentUser, rt: RuntimeDep, paging: Paging
) -> Page[schemas.StudentProgress]:
    await service.settle_course(rt, course_id, enrollable=False)
    async with rt.db.transaction() as session:
        return await service.roster(session, who, course_id, paging)

"""Progress HTTP routes: thin; commands live in ``service``, read models in ``views``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic_core import to_json
from syllabus_shared.auth import CurrentUser, Student
from syllabus_shared.http import idempotent, versioned
from syllabus_shared.pagination import Page, PageParams, page_params
from syllabus_shared.runtime import UnitOfWorkDep, part

from syllabus_progress import cohorts, schemas, service, views
from syllabus_progress.decisions import Decider

router = APIRouter()
Paging = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]
Decisions = Annotated[Decider, part(Decider)]


# ---------------------------------------------------------------- enrollments


@router.post(
    "/courses/{course_id}/enrollments",
    operation_id="course_enrollments_create",
    status_code=201,
    response_model=schemas.EnrollmentPublic,
    tags=["enrollments"],
)
async def enroll(
    course_id: uuid.UUID, who: Student, uow: UnitOfWorkDep, request: Request
) -> JSONResponse:
    async def create() -> JSONResponse:
        enrollment = await service.enroll(uow, who, course_id)
        return versioned(enrollment, enrollment.version, 201)

    return await idempotent(
        request,
        uow,
        scope=f"{who.user_id}:POST /courses/{course_id}/enrollments",
        body={"course_id": str(course_id)},
        create=create,
    )


@router.delete(
    "/courses/{course_id}/enrollments/me",
    operation_id="course_enrollments_drop",
    status_code=204,
    tags=["enrollments"],
)
async def drop(
    course_id: uuid.UUID, who: Student, uow: UnitOfWorkDep, if_match: IfMatch = None
) -> Response:
    await service.drop(uow, who, course_id, if_match)
    return Response(status_code=204)


@router.get(
    "/me/enrollments",
    operation_id="me_enrollments_list",
    response_model=Page[schemas.EnrollmentWithProgress],
    tags=["enrollments"],
)
async def my_enrollments(
    who: CurrentUser, uow: UnitOfWorkDep, paging: Paging
) -> Page[schemas.EnrollmentWithProgress]:
    return await views.my_enrollments(uow, who, paging)


# ---------------------------------------------------------------- completions


@router.put(
    "/me/completions/{post_id}",
    operation_id="me_completions_mark",
    response_model=schemas.CompletionPublic,
    responses={201: {"model": schemas.CompletionPublic}},
    tags=["completions"],
)
async def complete_post(
    post_id: uuid.UUID, who: Student, uow: UnitOfWorkDep, decider: Decisions
) -> JSONResponse:
    body, created = await service.complete_post(uow, who, post_id, decider)
    return JSONResponse(jsonable_encoder(body), status_code=201 if created else 200)


@router.delete(
    "/me/completions/{post_id}",
    operation_id="me_completions_unmark",
    status_code=204,
    tags=["completions"],
)
async def uncomplete_post(post_id: uuid.UUID, who: Student, uow: UnitOfWorkDep) -> Response:
    await service.uncomplete_post(uow, who, post_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- progress


@router.get(
    "/me/courses/{course_id}/progress",
    operation_id="me_course_progress_get",
    response_model=schemas.CourseProgress,
    tags=["progress"],
)
async def my_course_progress(
    course_id: uuid.UUID, who: CurrentUser, uow: UnitOfWorkDep
) -> Response:
    # One statement on an autocommit connection; the document is serialized once, as built
    # (``response_model`` documents it: returning a Response skips validating it again).
    document = await views.progress_document(uow, who, course_id)
    return Response(to_json(document), media_type="application/json")


@router.get(
    "/courses/{course_id}/progress",
    operation_id="course_progress_list",
    response_model=Page[schemas.StudentProgress],
    tags=["progress"],
)
async def course_roster(
    course_id: uuid.UUID,
    who: CurrentUser,
    uow: UnitOfWorkDep,
    paging: Paging,
    group_id: Annotated[
        uuid.UUID | None, Query(description="only the current members of this group")
    ] = None,
) -> Page[schemas.StudentProgress]:
    return await views.roster(uow, who, course_id, paging, group_id)


# ---------------------------------------------------------------- groups a course follows


@router.put(
    "/courses/{course_id}/groups/{group_id}",
    operation_id="course_groups_follow",
    response_model=schemas.CourseGroupFollow,
    responses={201: {"model": schemas.CourseGroupFollow}},
    tags=["groups"],
)
async def follow_group(
    course_id: uuid.UUID, group_id: uuid.UUID, who: CurrentUser, uow: UnitOfWorkDep
) -> JSONResponse:
    """Every member of the group is enrolled in the course (at once for the caller; a
    draft course enrolls them when published); members who join later too, within 2 s."""
    body, created = await cohorts.follow(uow, who, course_id, group_id)
    return JSONResponse(jsonable_encoder(body), status_code=201 if created else 200)


@router.get(
    "/courses/{course_id}/groups",
    operation_id="course_groups_list",
    response_model=list[schemas.CourseGroupSummary],
    tags=["groups"],
)
async def course_groups(
    course_id: uuid.UUID,
    who: CurrentUser,
    uow: UnitOfWorkDep,
    average: Annotated[
        bool,
        Query(
            description="false: leave `average_percent` null (it evaluates every enrolled "
            "member's progress; a page that only names the groups needs none of it)"
        ),
    ] = True,
) -> list[schemas.CourseGroupSummary]:
    return await views.groups_summary(uow, who, course_id, average=average)


@router.delete(
    "/courses/{course_id}/groups/{group_id}",
    operation_id="course_groups_unfollow",
    status_code=204,
    tags=["groups"],
)
async def unfollow_group(
    course_id: uuid.UUID, group_id: uuid.UUID, who: CurrentUser, uow: UnitOfWorkDep
) -> Response:
    """Members no other source holds are dropped; their completions and grades stay."""
    await cohorts.unfollow(uow, who, course_id, group_id)
    return Response(status_code=204)

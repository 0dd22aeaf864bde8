"""Assessment HTTP routes: thin; commands live in ``service``, read models in ``views``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, StreamingResponse
from syllabus_shared.auth import CurrentUser
from syllabus_shared.http import idempotent, not_modified, versioned
from syllabus_shared.pagination import Page, PageParams, encode_cursor, page_params
from syllabus_shared.runtime import UnitOfWorkDep

from syllabus_assessment import schemas, service, views

router = APIRouter()
Paging = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]


# ---------------------------------------------------------------- submissions


@router.post(
    "/posts/{post_id}/submissions",
    operation_id="post_submissions_create",
    status_code=201,
    response_model=schemas.SubmissionPublic,
    tags=["submissions"],
)
async def submit(
    post_id: uuid.UUID,
    body: schemas.SubmissionCreate,
    who: CurrentUser,
    uow: UnitOfWorkDep,
    request: Request,
) -> JSONResponse:
    settled = False

    async def create() -> JSONResponse:
        submission = await service.submit(uow, who, post_id, body, settled=settled)
        return versioned(
            schemas.submission_document(submission),
            submission.version,
            201,
            {"Location": f"/api/v1/submissions/{submission.id}"},
        )

    scope = f"{who.user_id}:POST /posts/{post_id}/submissions"
    try:
        return await idempotent(request, uow, scope=scope, body=body, create=create)
    except service.MaySettle:
        # Refused only because the post, its publication or the caller's enrollment may
        # still be on their way (everything rolled back): wait for them, holding no
        # connection, then try once more; a refusal now is final.
        await service.settle_submit(uow, who, post_id)
        settled = True
        return await idempotent(request, uow, scope=scope, body=body, create=create)


@router.get(
    "/posts/{post_id}/submissions",
    operation_id="post_submissions_list",
    response_model=Page[schemas.SubmissionWithStudent],
    tags=["submissions"],
)
async def list_submissions(
    post_id: uuid.UUID,
    who: CurrentUser,
    uow: UnitOfWorkDep,
    paging: Paging,
    user_id: uuid.UUID | None = None,
    status: schemas.SubmissionStatus | None = None,
) -> JSONResponse:
    rows = await service.list_submissions(uow, who, post_id, paging, user_id=user_id, status=status)
    items = rows[: paging.limit]
    more = len(rows) > paging.limit
    return JSONResponse(
        jsonable_encoder(
            {
                "items": [
                    {
                        **schemas.submission_document(s),
                        "username": username,
                        "display_name": display_name,
                    }
                    for s, username, display_name in items
                ],
                "next_cursor": encode_cursor({"id": str(items[-1][0].id)}) if more else None,
            }
        )
    )


@router.get(
    "/courses/{course_id}/submissions",
    operation_id="course_submissions_list",
    response_model=Page[schemas.CourseSubmission],
    tags=["submissions"],
)
async def list_course_submissions(
    course_id: uuid.UUID,
    who: CurrentUser,
    uow: UnitOfWorkDep,
    paging: Paging,
    status: schemas.SubmissionStatus | None = None,
    group_id: uuid.UUID | None = None,
) -> JSONResponse:
    """A course's grading queue (an extension of API.md: docs/api-notes.md): its
    submissions oldest first, for its owner and admins; ``status=submitted`` is the work
    waiting for a grade; ``group_id``: only the submissions of that group's current
    members."""
    page = await views.course_submissions(
        uow, who, course_id, paging, status=status, group_id=group_id
    )
    return JSONResponse(jsonable_encoder(page))


@router.get(
    "/submissions/{submission_id}",
    operation_id="submissions_get",
    response_model=schemas.SubmissionPublic,
    tags=["submissions"],
)
async def get_submission(
    submission_id: uuid.UUID, who: CurrentUser, uow: UnitOfWorkDep, request: Request
) -> Response:
    submission = await service.get_submission(uow, who, submission_id)
    return not_modified(request, submission.version) or versioned(
        schemas.submission_document(submission), submission.version
    )


@router.put(
    "/submissions/{submission_id}/grade",
    operation_id="submissions_grade",
    response_model=schemas.SubmissionPublic,
    tags=["submissions"],
)
async def grade(
    submission_id: uuid.UUID,
    body: schemas.GradeInput,
    who: CurrentUser,
    uow: UnitOfWorkDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    submission = await service.grade(uow, who, submission_id, body, if_match)
    return versioned(schemas.submission_document(submission), submission.version)


# ---------------------------------------------------------------- grades


@router.get(
    "/me/courses/{course_id}/grades",
    operation_id="me_course_grades_get",
    response_model=schemas.GradesDocument,
    tags=["grades"],
)
async def my_grades(
    course_id: uuid.UUID, who: CurrentUser, uow: UnitOfWorkDep
) -> schemas.GradesDocument:
    return await views.my_grades(uow, who, course_id)


# The gradebook's CSV form (``Accept: text/csv``), documented in the OpenAPI document.
_CSV_SCHEMA = {
    "type": "string",
    "description": "The whole gradebook: a header row, then one row per enrolled student"
    " by user id. Columns: user_id, username, display_name (empty while unknown), one per"
    " gradable post in course order headed 'title (post id)' (the kept score, empty when"
    " none), then earned, possible, percent.",
}


def _wants_csv(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return any(part.split(";")[0].strip() == "text/csv" for part in accept.split(","))


@router.get(
    "/courses/{course_id}/grades",
    operation_id="course_grades_list",
    response_model=schemas.GradebookPage,
    responses={200: {"content": {"text/csv": {"schema": _CSV_SCHEMA}}}},
    tags=["grades"],
)
async def gradebook(
    course_id: uuid.UUID,
    who: CurrentUser,
    uow: UnitOfWorkDep,
    paging: Paging,
    request: Request,
    group_id: uuid.UUID | None = None,
) -> Response:
    """A course's gradebook (JSON page, or CSV with ``Accept: text/csv``); ``group_id``:
    only that group's current members (an unknown group: 404)."""
    if _wants_csv(request):
        rows = await views.gradebook_csv(uow, who, course_id, group_id=group_id)
        return StreamingResponse(
            rows,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="grades-{course_id}.csv"'},
        )
    page = await views.gradebook(uow, who, course_id, paging, group_id=group_id)
    return JSONResponse(jsonable_encoder(page))

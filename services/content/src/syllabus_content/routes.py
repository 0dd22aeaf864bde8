"""Content HTTP routes: thin; rules live in ``service`` and ``rules``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from syllabus_shared.auth import MaybeUser, Staff
from syllabus_shared.http import idempotent, not_modified, versioned
from syllabus_shared.pagination import Page, PageParams, page_of, page_params
from syllabus_shared.runtime import UnitOfWorkDep, part

from syllabus_content import schemas, service
from syllabus_content.rules import derived_tag, override_kind, post_view
from syllabus_content.service import ModuleLookup

router = APIRouter(tags=["posts"])
Paging = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]
Lookup = Annotated[ModuleLookup, part(ModuleLookup)]
# An override's collection in its path; any other word is no such collection (404, not 422).
OverrideKindPath = Annotated[
    str,
    Path(
        description="`groups` (the members of a group a course containing the post "
        "follows) or `users` (one student enrolled in such a course)",
        json_schema_extra={"enum": ["groups", "users"]},
    ),
]
TargetId = Annotated[uuid.UUID, Path(alias="id", description="the group's or the user's id")]


@router.post(
    "/modules/{module_id}/posts",
    operation_id="module_posts_create",
    status_code=201,
    response_model=schemas.PostPublic,
)
async def create_post(
    module_id: uuid.UUID,
    body: schemas.PostCreate,
    who: Staff,
    uow: UnitOfWorkDep,
    lookup: Lookup,
    request: Request,
) -> JSONResponse:
    async def create() -> JSONResponse:
        post = await service.create_post(uow, lookup, who, module_id, body)
        return versioned(
            post_view(post, answers=True),
            post.version,
            201,
            {"Location": f"/api/v1/posts/{post.id}"},
            derived=derived_tag(post),
        )

    return await idempotent(
        request,
        uow,
        scope=f"{who.user_id}:POST /modules/{module_id}/posts",
        body=body,
        create=create,
    )


@router.get(
    "/modules/{module_id}/posts",
    operation_id="module_posts_list",
    response_model=Page[schemas.PostPublic],
)
async def list_posts(
    module_id: uuid.UUID, who: MaybeUser, uow: UnitOfWorkDep, lookup: Lookup, paging: Paging
) -> Page[schemas.PostPublic]:
    rows, full = await service.list_posts(uow, lookup, who, module_id, paging)
    items = [post_view(r, answers=full) for r in rows]
    return page_of(items, paging, lambda p: {"position": p.position})


@router.put(
    "/modules/{module_id}/posts",
    operation_id="module_posts_reorder",
    response_model=list[schemas.PostOrderEntry],
)
async def reorder_posts(
    module_id: uuid.UUID,
    body: schemas.ReorderPosts,
    who: Staff,
    uow: UnitOfWorkDep,
    lookup: Lookup,
) -> list[schemas.PostOrderEntry]:
    return await service.reorder_posts(uow, lookup, who, module_id, body)


@router.get("/posts/{post_id}", operation_id="posts_get", response_model=schemas.PostPublic)
async def get_post(
    post_id: uuid.UUID, who: MaybeUser, uow: UnitOfWorkDep, request: Request
) -> Response:
    post, full = await service.get_post(uow, who, post_id)
    body = post_view(post, answers=full)
    return not_modified(request, post.version, derived_tag(post)) or versioned(
        body, post.version, derived=derived_tag(post)
    )


@router.patch("/posts/{post_id}", operation_id="posts_update", response_model=schemas.PostPublic)
async def update_post(
    post_id: uuid.UUID,
    body: schemas.PostUpdate,
    who: Staff,
    uow: UnitOfWorkDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    post = await service.update_post(uow, who, post_id, body, if_match)
    return versioned(post_view(post, answers=True), post.version, derived=derived_tag(post))


@router.delete("/posts/{post_id}", operation_id="posts_delete", status_code=204)
async def delete_post(
    post_id: uuid.UUID, who: Staff, uow: UnitOfWorkDep, if_match: IfMatch = None
) -> Response:
    await service.delete_post(uow, who, post_id, if_match)
    return Response(status_code=204)


# ---------------------------------------------------------------- due overrides


def _override(row: object) -> schemas.DueOverridePublic:
    return schemas.DueOverridePublic.model_validate(row)


@router.put(
    "/posts/{post_id}/overrides/{kind}/{id}",
    operation_id="post_overrides_set",
    response_model=schemas.DueOverridePublic,
    responses={201: {"model": schemas.DueOverridePublic}},
)
async def set_due_override(
    post_id: uuid.UUID,
    kind: OverrideKindPath,
    target_id: TargetId,
    body: schemas.DueOverrideBody,
    who: Staff,
    uow: UnitOfWorkDep,
) -> JSONResponse:
    """The post (an assignment or a quiz) is due at ``due_at`` for a group's members or one
    student instead of its own ``due_at`` (201 set, 200 replaced or unchanged;
    docs/dates.md). The post's graders only."""
    row, created = await service.set_due_override(
        uow, who, post_id, override_kind(kind), target_id, body
    )
    return JSONResponse(jsonable_encoder(_override(row)), status_code=201 if created else 200)


@router.get(
    "/posts/{post_id}/overrides",
    operation_id="post_overrides_list",
    response_model=list[schemas.DueOverridePublic],
)
async def list_due_overrides(
    post_id: uuid.UUID, who: Staff, uow: UnitOfWorkDep
) -> list[schemas.DueOverridePublic]:
    return [_override(r) for r in await service.list_due_overrides(uow, who, post_id)]


@router.delete(
    "/posts/{post_id}/overrides/{kind}/{id}",
    operation_id="post_overrides_delete",
    status_code=204,
)
async def remove_due_override(
    post_id: uuid.UUID, kind: OverrideKindPath, target_id: TargetId, who: Staff, uow: UnitOfWorkDep
) -> Response:
    await service.remove_due_override(uow, who, post_id, override_kind(kind), target_id)
    return Response(status_code=204)

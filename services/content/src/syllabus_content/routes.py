"""Content HTTP routes: thin; rules live in ``service``."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession
from syllabus_shared.auth import MaybeUser, Staff
from syllabus_shared.consistency import recently_minted
from syllabus_shared.http import idempotent, not_modified, versioned
from syllabus_shared.pagination import Page, PageParams, page_of, page_params
from syllabus_shared.problems import not_found
from syllabus_shared.runtime import Runtime, RuntimeDep

from syllabus_content import schemas, service
from syllabus_content.models import Post

router = APIRouter(tags=["posts"])
Paging = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]

T = TypeVar("T")


def _post(post: Post, *, answers: bool) -> schemas.PostPublic:
    """The post's view; quiz answers only for the module's owner and admins."""
    view = schemas.PostPublic.model_validate(post)
    if not answers and isinstance(view.content, schemas.QuizView):
        for question in view.content.questions:
            question.answer_index = None  # left out of the JSON
    return view


async def _once_module_known(
    rt: Runtime, module_id: uuid.UUID, run: Callable[[], Awaitable[T]]
) -> T:
    """Read-your-writes: a module catalog created a moment ago may not be in our
    projection yet. Wait for it (bounded, holding no connection), then run again.
    A module id not minted recently is answered at once."""
    try:
        return await run()
    except service.UnknownModule:
        lookup: service.ModuleLookup = rt.extras["module_lookup"]
        if not recently_minted(module_id) or not await rt.wait_for_projection(
            lambda: lookup.known(module_id)
        ):
            raise not_found("module") from None
    return await run()


def _derived(post: Post) -> str:
    """What changes a post's representation without an edit: its place and its count."""
    return f"{post.position}-{post.completion_count}"


@router.post("/modules/{module_id}/posts", status_code=201, response_model=schemas.PostPublic)
async def create_post(
    module_id: uuid.UUID,
    body: schemas.PostCreate,
    who: Staff,
    rt: RuntimeDep,
    request: Request,
) -> JSONResponse:
    async def create(session: AsyncSession) -> JSONResponse:
        post = await service.create_post(session, rt.outbox, who, module_id, body)
        return versioned(
            _post(post, answers=True),
            post.version,
            201,
            {"Location": f"/api/v1/posts/{post.id}"},
            derived=_derived(post),
        )

    async def run() -> JSONResponse:
        return await idempotent(
            request,
            rt.db,
            rt.tables,
            scope=f"{who.user_id}:POST /modules/{module_id}/posts",
            body=body,
            create=create,
        )

    return await _once_module_known(rt, module_id, run)


@router.get("/modules/{module_id}/posts", response_model=Page[schemas.PostPublic])
async def list_posts(
    module_id: uuid.UUID, who: MaybeUser, rt: RuntimeDep, paging: Paging
) -> Page[schemas.PostPublic]:
    async def run() -> Page[schemas.PostPublic]:
        async with rt.db.transaction() as session:
            rows, full = await service.list_posts(session, who, module_id, paging)
            items = [_post(r, answers=full) for r in rows]
        return page_of(items, paging, lambda p: {"position": p.position})

    return await _once_module_known(rt, module_id, run)


@router.put("/modules/{module_id}/posts", response_model=list[schemas.PostOrderEntry])
async def reorder_posts(
    module_id: uuid.UUID, body: schemas.ReorderPosts, who: Staff, rt: RuntimeDep
) -> list[schemas.PostOrderEntry]:
    async def run() -> list[schemas.PostOrderEntry]:
        async with rt.db.transaction() as session:
            return await service.reorder_posts(session, rt.outbox, who, module_id, body)

    return await _once_module_known(rt, module_id, run)


@router.get("/posts/{post_id}", response_model=schemas.PostPublic)
async def get_post(
    post_id: uuid.UUID, who: MaybeUser, rt: RuntimeDep, request: Request
) -> Response:
    async with rt.db.transaction() as session:
        post, full = await service.get_post(session, who, post_id)
        body = _post(post, answers=full)
    return not_modified(request, post.version, _derived(post)) or versioned(
        body, post.version, derived=_derived(post)
    )


@router.patch("/posts/{post_id}", response_model=schemas.PostPublic)
async def update_post(
    post_id: uuid.UUID,
    body: schemas.PostUpdate,
    who: Staff,
    rt: RuntimeDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    async with rt.db.transaction() as session:
        post = await service.update_post(session, rt.outbox, who, post_id, body, if_match)
        view = _post(post, answers=True)
    return versioned(view, post.version, derived=_derived(post))


@router.delete("/posts/{post_id}", status_code=204)
async def delete_post(
    post_id: uuid.UUID, who: Staff, rt: RuntimeDep, if_match: IfMatch = None
) -> Response:
    async with rt.db.transaction() as session:
        await service.delete_post(session, rt.outbox, who, post_id, if_match)
    return Response(status_code=204)

from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ...client import AuthenticatedClient, Client
from ...models.due_override_body import DueOverrideBody
from ...models.due_override_public import DueOverridePublic
from ...models.post_overrides_set_kind import PostOverridesSetKind
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    post_id: UUID,
    kind: PostOverridesSetKind,
    id: UUID,
    *,
    body: DueOverrideBody,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/posts/{post_id}/overrides/{kind}/{id}".format(
            post_id=quote(str(post_id), safe=""),
            kind=quote(str(kind), safe=""),
            id=quote(str(id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> DueOverridePublic | Problem:
    if response.status_code == 200:
        response_200 = DueOverridePublic.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = DueOverridePublic.from_dict(response.json())

        return response_201

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[DueOverridePublic | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    post_id: UUID,
    kind: PostOverridesSetKind,
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: DueOverrideBody,
) -> Response[DueOverridePublic | Problem]:
    """Set Due Override

     The post (an assignment or a quiz) is due at ``due_at`` for a group's members or one
    student instead of its own ``due_at`` (201 set, 200 replaced or unchanged;
    docs/dates.md). The post's graders only.

    Args:
        post_id (UUID):
        kind (PostOverridesSetKind): `groups` (the members of a group a course containing the post
            follows) or `users` (one student enrolled in such a course)
        id (UUID): the group's or the user's id
        body (DueOverrideBody): ``PUT /posts/{post_id}/overrides/{kind}/{id}``: when the post is
            due for those
            students.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DueOverridePublic | Problem]
    """

    kwargs = _get_kwargs(
        post_id=post_id,
        kind=kind,
        id=id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    post_id: UUID,
    kind: PostOverridesSetKind,
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: DueOverrideBody,
) -> DueOverridePublic | Problem | None:
    """Set Due Override

     The post (an assignment or a quiz) is due at ``due_at`` for a group's members or one
    student instead of its own ``due_at`` (201 set, 200 replaced or unchanged;
    docs/dates.md). The post's graders only.

    Args:
        post_id (UUID):
        kind (PostOverridesSetKind): `groups` (the members of a group a course containing the post
            follows) or `users` (one student enrolled in such a course)
        id (UUID): the group's or the user's id
        body (DueOverrideBody): ``PUT /posts/{post_id}/overrides/{kind}/{id}``: when the post is
            due for those
            students.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DueOverridePublic | Problem
    """

    return sync_detailed(
        post_id=post_id,
        kind=kind,
        id=id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    post_id: UUID,
    kind: PostOverridesSetKind,
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: DueOverrideBody,
) -> Response[DueOverridePublic | Problem]:
    """Set Due Override

     The post (an assignment or a quiz) is due at ``due_at`` for a group's members or one
    student instead of its own ``due_at`` (201 set, 200 replaced or unchanged;
    docs/dates.md). The post's graders only.

    Args:
        post_id (UUID):
        kind (PostOverridesSetKind): `groups` (the members of a group a course containing the post
            follows) or `users` (one student enrolled in such a course)
        id (UUID): the group's or the user's id
        body (DueOverrideBody): ``PUT /posts/{post_id}/overrides/{kind}/{id}``: when the post is
            due for those
            students.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DueOverridePublic | Problem]
    """

    kwargs = _get_kwargs(
        post_id=post_id,
        kind=kind,
        id=id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    post_id: UUID,
    kind: PostOverridesSetKind,
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: DueOverrideBody,
) -> DueOverridePublic | Problem | None:
    """Set Due Override

     The post (an assignment or a quiz) is due at ``due_at`` for a group's members or one
    student instead of its own ``due_at`` (201 set, 200 replaced or unchanged;
    docs/dates.md). The post's graders only.

    Args:
        post_id (UUID):
        kind (PostOverridesSetKind): `groups` (the members of a group a course containing the post
            follows) or `users` (one student enrolled in such a course)
        id (UUID): the group's or the user's id
        body (DueOverrideBody): ``PUT /posts/{post_id}/overrides/{kind}/{id}``: when the post is
            due for those
            students.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DueOverridePublic | Problem
    """

    return (
        await asyncio_detailed(
            post_id=post_id,
            kind=kind,
            id=id,
            client=client,
            body=body,
        )
    ).parsed

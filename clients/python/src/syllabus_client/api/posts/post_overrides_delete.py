from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import httpx

from ...client import AuthenticatedClient, Client
from ...models.post_overrides_delete_kind import PostOverridesDeleteKind
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    post_id: UUID,
    kind: PostOverridesDeleteKind,
    id: UUID,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/api/v1/posts/{post_id}/overrides/{kind}/{id}".format(
            post_id=quote(str(post_id), safe=""),
            kind=quote(str(kind), safe=""),
            id=quote(str(id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Problem:
    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    post_id: UUID,
    kind: PostOverridesDeleteKind,
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | Problem]:
    """Remove Due Override

    Args:
        post_id (UUID):
        kind (PostOverridesDeleteKind): `groups` (the members of a group a course containing the
            post follows) or `users` (one student enrolled in such a course)
        id (UUID): the group's or the user's id

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        post_id=post_id,
        kind=kind,
        id=id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    post_id: UUID,
    kind: PostOverridesDeleteKind,
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Any | Problem | None:
    """Remove Due Override

    Args:
        post_id (UUID):
        kind (PostOverridesDeleteKind): `groups` (the members of a group a course containing the
            post follows) or `users` (one student enrolled in such a course)
        id (UUID): the group's or the user's id

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return sync_detailed(
        post_id=post_id,
        kind=kind,
        id=id,
        client=client,
    ).parsed


async def asyncio_detailed(
    post_id: UUID,
    kind: PostOverridesDeleteKind,
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | Problem]:
    """Remove Due Override

    Args:
        post_id (UUID):
        kind (PostOverridesDeleteKind): `groups` (the members of a group a course containing the
            post follows) or `users` (one student enrolled in such a course)
        id (UUID): the group's or the user's id

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        post_id=post_id,
        kind=kind,
        id=id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    post_id: UUID,
    kind: PostOverridesDeleteKind,
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Any | Problem | None:
    """Remove Due Override

    Args:
        post_id (UUID):
        kind (PostOverridesDeleteKind): `groups` (the members of a group a course containing the
            post follows) or `users` (one student enrolled in such a course)
        id (UUID): the group's or the user's id

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return (
        await asyncio_detailed(
            post_id=post_id,
            kind=kind,
            id=id,
            client=client,
        )
    ).parsed

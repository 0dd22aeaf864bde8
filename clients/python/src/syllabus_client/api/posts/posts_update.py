from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ...client import AuthenticatedClient, Client
from ...models.post_public import PostPublic
from ...models.post_update import PostUpdate
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    post_id: UUID,
    *,
    body: PostUpdate,
    if_match: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(if_match, Unset):
        headers["If-Match"] = if_match

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/api/v1/posts/{post_id}".format(
            post_id=quote(str(post_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PostPublic | Problem:
    if response.status_code == 200:
        response_200 = PostPublic.from_dict(response.json())

        return response_200

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[PostPublic | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    post_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PostUpdate,
    if_match: None | str | Unset = UNSET,
) -> Response[PostPublic | Problem]:
    """Update Post

    Args:
        post_id (UUID):
        if_match (None | str | Unset):
        body (PostUpdate): Every field optional; ``content`` replaces the whole content and keeps
            its ``kind``.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PostPublic | Problem]
    """

    kwargs = _get_kwargs(
        post_id=post_id,
        body=body,
        if_match=if_match,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    post_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PostUpdate,
    if_match: None | str | Unset = UNSET,
) -> PostPublic | Problem | None:
    """Update Post

    Args:
        post_id (UUID):
        if_match (None | str | Unset):
        body (PostUpdate): Every field optional; ``content`` replaces the whole content and keeps
            its ``kind``.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PostPublic | Problem
    """

    return sync_detailed(
        post_id=post_id,
        client=client,
        body=body,
        if_match=if_match,
    ).parsed


async def asyncio_detailed(
    post_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PostUpdate,
    if_match: None | str | Unset = UNSET,
) -> Response[PostPublic | Problem]:
    """Update Post

    Args:
        post_id (UUID):
        if_match (None | str | Unset):
        body (PostUpdate): Every field optional; ``content`` replaces the whole content and keeps
            its ``kind``.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PostPublic | Problem]
    """

    kwargs = _get_kwargs(
        post_id=post_id,
        body=body,
        if_match=if_match,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    post_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PostUpdate,
    if_match: None | str | Unset = UNSET,
) -> PostPublic | Problem | None:
    """Update Post

    Args:
        post_id (UUID):
        if_match (None | str | Unset):
        body (PostUpdate): Every field optional; ``content`` replaces the whole content and keeps
            its ``kind``.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PostPublic | Problem
    """

    return (
        await asyncio_detailed(
            post_id=post_id,
            client=client,
            body=body,
            if_match=if_match,
        )
    ).parsed

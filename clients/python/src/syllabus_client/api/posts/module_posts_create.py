from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ...client import AuthenticatedClient, Client
from ...models.post_create import PostCreate
from ...models.post_public import PostPublic
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    module_id: UUID,
    *,
    body: PostCreate,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/modules/{module_id}/posts".format(
            module_id=quote(str(module_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PostPublic | Problem:
    if response.status_code == 201:
        response_201 = PostPublic.from_dict(response.json())

        return response_201

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
    module_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PostCreate,
) -> Response[PostPublic | Problem]:
    """Create Post

    Args:
        module_id (UUID):
        body (PostCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PostPublic | Problem]
    """

    kwargs = _get_kwargs(
        module_id=module_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    module_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PostCreate,
) -> PostPublic | Problem | None:
    """Create Post

    Args:
        module_id (UUID):
        body (PostCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PostPublic | Problem
    """

    return sync_detailed(
        module_id=module_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    module_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PostCreate,
) -> Response[PostPublic | Problem]:
    """Create Post

    Args:
        module_id (UUID):
        body (PostCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PostPublic | Problem]
    """

    kwargs = _get_kwargs(
        module_id=module_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    module_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PostCreate,
) -> PostPublic | Problem | None:
    """Create Post

    Args:
        module_id (UUID):
        body (PostCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PostPublic | Problem
    """

    return (
        await asyncio_detailed(
            module_id=module_id,
            client=client,
            body=body,
        )
    ).parsed

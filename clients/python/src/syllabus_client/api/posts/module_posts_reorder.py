from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ...client import AuthenticatedClient, Client
from ...models.post_order_entry import PostOrderEntry
from ...models.problem import Problem
from ...models.reorder_posts import ReorderPosts
from ...types import Response


def _get_kwargs(
    module_id: UUID,
    *,
    body: ReorderPosts,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
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
) -> Problem | list[PostOrderEntry]:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = PostOrderEntry.from_dict(response_200_item_data)

            response_200.append(response_200_item)

        return response_200

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | list[PostOrderEntry]]:
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
    body: ReorderPosts,
) -> Response[Problem | list[PostOrderEntry]]:
    """Reorder Posts

    Args:
        module_id (UUID):
        body (ReorderPosts):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[PostOrderEntry]]
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
    body: ReorderPosts,
) -> Problem | list[PostOrderEntry] | None:
    """Reorder Posts

    Args:
        module_id (UUID):
        body (ReorderPosts):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[PostOrderEntry]
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
    body: ReorderPosts,
) -> Response[Problem | list[PostOrderEntry]]:
    """Reorder Posts

    Args:
        module_id (UUID):
        body (ReorderPosts):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[PostOrderEntry]]
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
    body: ReorderPosts,
) -> Problem | list[PostOrderEntry] | None:
    """Reorder Posts

    Args:
        module_id (UUID):
        body (ReorderPosts):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[PostOrderEntry]
    """

    return (
        await asyncio_detailed(
            module_id=module_id,
            client=client,
            body=body,
        )
    ).parsed

from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ...client import AuthenticatedClient, Client
from ...models.page_module_usage import PageModuleUsage
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    module_id: UUID,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/modules/{module_id}/courses".format(
            module_id=quote(str(module_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PageModuleUsage | Problem:
    if response.status_code == 200:
        response_200 = PageModuleUsage.from_dict(response.json())

        return response_200

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[PageModuleUsage | Problem]:
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
) -> Response[PageModuleUsage | Problem]:
    """Module Courses

    Args:
        module_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageModuleUsage | Problem]
    """

    kwargs = _get_kwargs(
        module_id=module_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    module_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> PageModuleUsage | Problem | None:
    """Module Courses

    Args:
        module_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageModuleUsage | Problem
    """

    return sync_detailed(
        module_id=module_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    module_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Response[PageModuleUsage | Problem]:
    """Module Courses

    Args:
        module_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageModuleUsage | Problem]
    """

    kwargs = _get_kwargs(
        module_id=module_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    module_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> PageModuleUsage | Problem | None:
    """Module Courses

    Args:
        module_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageModuleUsage | Problem
    """

    return (
        await asyncio_detailed(
            module_id=module_id,
            client=client,
        )
    ).parsed

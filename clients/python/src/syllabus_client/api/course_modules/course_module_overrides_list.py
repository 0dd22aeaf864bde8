from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.unlock_override_public import UnlockOverridePublic
from ...types import Response


def _get_kwargs(
    course_id: UUID,
    module_id: UUID,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/courses/{course_id}/modules/{module_id}/overrides".format(
            course_id=quote(str(course_id), safe=""),
            module_id=quote(str(module_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | list[UnlockOverridePublic]:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = UnlockOverridePublic.from_dict(response_200_item_data)

            response_200.append(response_200_item)

        return response_200

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | list[UnlockOverridePublic]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    course_id: UUID,
    module_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Problem | list[UnlockOverridePublic]]:
    """List Unlock Overrides

    Args:
        course_id (UUID):
        module_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[UnlockOverridePublic]]
    """

    kwargs = _get_kwargs(
        course_id=course_id,
        module_id=module_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    course_id: UUID,
    module_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Problem | list[UnlockOverridePublic] | None:
    """List Unlock Overrides

    Args:
        course_id (UUID):
        module_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[UnlockOverridePublic]
    """

    return sync_detailed(
        course_id=course_id,
        module_id=module_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    course_id: UUID,
    module_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Problem | list[UnlockOverridePublic]]:
    """List Unlock Overrides

    Args:
        course_id (UUID):
        module_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[UnlockOverridePublic]]
    """

    kwargs = _get_kwargs(
        course_id=course_id,
        module_id=module_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    course_id: UUID,
    module_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Problem | list[UnlockOverridePublic] | None:
    """List Unlock Overrides

    Args:
        course_id (UUID):
        module_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[UnlockOverridePublic]
    """

    return (
        await asyncio_detailed(
            course_id=course_id,
            module_id=module_id,
            client=client,
        )
    ).parsed

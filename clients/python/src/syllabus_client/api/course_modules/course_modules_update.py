from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ...client import AuthenticatedClient, Client
from ...models.move_module import MoveModule
from ...models.outline_entry import OutlineEntry
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    course_id: UUID,
    module_id: UUID,
    *,
    body: MoveModule,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/api/v1/courses/{course_id}/modules/{module_id}".format(
            course_id=quote(str(course_id), safe=""),
            module_id=quote(str(module_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | list[OutlineEntry]:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = OutlineEntry.from_dict(response_200_item_data)

            response_200.append(response_200_item)

        return response_200

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | list[OutlineEntry]]:
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
    body: MoveModule,
) -> Response[Problem | list[OutlineEntry]]:
    """Move Module

    Args:
        course_id (UUID):
        module_id (UUID):
        body (MoveModule): A change to an attached module: its position, its gating, or both
            (absent: kept).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[OutlineEntry]]
    """

    kwargs = _get_kwargs(
        course_id=course_id,
        module_id=module_id,
        body=body,
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
    body: MoveModule,
) -> Problem | list[OutlineEntry] | None:
    """Move Module

    Args:
        course_id (UUID):
        module_id (UUID):
        body (MoveModule): A change to an attached module: its position, its gating, or both
            (absent: kept).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[OutlineEntry]
    """

    return sync_detailed(
        course_id=course_id,
        module_id=module_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    course_id: UUID,
    module_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: MoveModule,
) -> Response[Problem | list[OutlineEntry]]:
    """Move Module

    Args:
        course_id (UUID):
        module_id (UUID):
        body (MoveModule): A change to an attached module: its position, its gating, or both
            (absent: kept).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[OutlineEntry]]
    """

    kwargs = _get_kwargs(
        course_id=course_id,
        module_id=module_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    course_id: UUID,
    module_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: MoveModule,
) -> Problem | list[OutlineEntry] | None:
    """Move Module

    Args:
        course_id (UUID):
        module_id (UUID):
        body (MoveModule): A change to an attached module: its position, its gating, or both
            (absent: kept).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[OutlineEntry]
    """

    return (
        await asyncio_detailed(
            course_id=course_id,
            module_id=module_id,
            client=client,
            body=body,
        )
    ).parsed

from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ...client import AuthenticatedClient, Client
from ...models.course_group_summary import CourseGroupSummary
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    course_id: UUID,
    *,
    average: bool | Unset = True,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["average"] = average

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/courses/{course_id}/groups".format(
            course_id=quote(str(course_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | list[CourseGroupSummary]:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = CourseGroupSummary.from_dict(response_200_item_data)

            response_200.append(response_200_item)

        return response_200

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | list[CourseGroupSummary]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    course_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    average: bool | Unset = True,
) -> Response[Problem | list[CourseGroupSummary]]:
    """Course Groups

    Args:
        course_id (UUID):
        average (bool | Unset): false: leave `average_percent` null (it evaluates every enrolled
            member's progress; a page that only names the groups needs none of it) Default: True.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[CourseGroupSummary]]
    """

    kwargs = _get_kwargs(
        course_id=course_id,
        average=average,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    course_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    average: bool | Unset = True,
) -> Problem | list[CourseGroupSummary] | None:
    """Course Groups

    Args:
        course_id (UUID):
        average (bool | Unset): false: leave `average_percent` null (it evaluates every enrolled
            member's progress; a page that only names the groups needs none of it) Default: True.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[CourseGroupSummary]
    """

    return sync_detailed(
        course_id=course_id,
        client=client,
        average=average,
    ).parsed


async def asyncio_detailed(
    course_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    average: bool | Unset = True,
) -> Response[Problem | list[CourseGroupSummary]]:
    """Course Groups

    Args:
        course_id (UUID):
        average (bool | Unset): false: leave `average_percent` null (it evaluates every enrolled
            member's progress; a page that only names the groups needs none of it) Default: True.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[CourseGroupSummary]]
    """

    kwargs = _get_kwargs(
        course_id=course_id,
        average=average,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    course_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    average: bool | Unset = True,
) -> Problem | list[CourseGroupSummary] | None:
    """Course Groups

    Args:
        course_id (UUID):
        average (bool | Unset): false: leave `average_percent` null (it evaluates every enrolled
            member's progress; a page that only names the groups needs none of it) Default: True.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[CourseGroupSummary]
    """

    return (
        await asyncio_detailed(
            course_id=course_id,
            client=client,
            average=average,
        )
    ).parsed

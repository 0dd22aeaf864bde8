from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ...client import AuthenticatedClient, Client
from ...models.course_group_follow import CourseGroupFollow
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    course_id: UUID,
    group_id: UUID,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/courses/{course_id}/groups/{group_id}".format(
            course_id=quote(str(course_id), safe=""),
            group_id=quote(str(group_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CourseGroupFollow | Problem:
    if response.status_code == 200:
        response_200 = CourseGroupFollow.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = CourseGroupFollow.from_dict(response.json())

        return response_201

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[CourseGroupFollow | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    course_id: UUID,
    group_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Response[CourseGroupFollow | Problem]:
    """Follow Group

     Every member of the group is enrolled in the course (at once for the caller; a
    draft course enrolls them when published); members who join later too, within 2 s.

    Args:
        course_id (UUID):
        group_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CourseGroupFollow | Problem]
    """

    kwargs = _get_kwargs(
        course_id=course_id,
        group_id=group_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    course_id: UUID,
    group_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> CourseGroupFollow | Problem | None:
    """Follow Group

     Every member of the group is enrolled in the course (at once for the caller; a
    draft course enrolls them when published); members who join later too, within 2 s.

    Args:
        course_id (UUID):
        group_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CourseGroupFollow | Problem
    """

    return sync_detailed(
        course_id=course_id,
        group_id=group_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    course_id: UUID,
    group_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Response[CourseGroupFollow | Problem]:
    """Follow Group

     Every member of the group is enrolled in the course (at once for the caller; a
    draft course enrolls them when published); members who join later too, within 2 s.

    Args:
        course_id (UUID):
        group_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CourseGroupFollow | Problem]
    """

    kwargs = _get_kwargs(
        course_id=course_id,
        group_id=group_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    course_id: UUID,
    group_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> CourseGroupFollow | Problem | None:
    """Follow Group

     Every member of the group is enrolled in the course (at once for the caller; a
    draft course enrolls them when published); members who join later too, within 2 s.

    Args:
        course_id (UUID):
        group_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CourseGroupFollow | Problem
    """

    return (
        await asyncio_detailed(
            course_id=course_id,
            group_id=group_id,
            client=client,
        )
    ).parsed

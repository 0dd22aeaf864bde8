from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ...client import AuthenticatedClient, Client
from ...models.page_course_submission import PageCourseSubmission
from ...models.problem import Problem
from ...models.submission_status import SubmissionStatus
from ...types import UNSET, Response, Unset


def _get_kwargs(
    course_id: UUID,
    *,
    status: None | SubmissionStatus | Unset = UNSET,
    group_id: None | Unset | UUID = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_status: None | str | Unset
    if isinstance(status, Unset):
        json_status = UNSET
    elif isinstance(status, SubmissionStatus):
        json_status = status.value
    else:
        json_status = status
    params["status"] = json_status

    json_group_id: None | str | Unset
    if isinstance(group_id, Unset):
        json_group_id = UNSET
    elif isinstance(group_id, UUID):
        json_group_id = str(group_id)
    else:
        json_group_id = group_id
    params["group_id"] = json_group_id

    params["limit"] = limit

    json_cursor: None | str | Unset
    if isinstance(cursor, Unset):
        json_cursor = UNSET
    else:
        json_cursor = cursor
    params["cursor"] = json_cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/courses/{course_id}/submissions".format(
            course_id=quote(str(course_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PageCourseSubmission | Problem:
    if response.status_code == 200:
        response_200 = PageCourseSubmission.from_dict(response.json())

        return response_200

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[PageCourseSubmission | Problem]:
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
    status: None | SubmissionStatus | Unset = UNSET,
    group_id: None | Unset | UUID = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> Response[PageCourseSubmission | Problem]:
    """List Course Submissions

     A course's grading queue (an extension of API.md: docs/api-notes.md): its
    submissions oldest first, for its owner and admins; ``status=submitted`` is the work
    waiting for a grade; ``group_id``: only the submissions of that group's current
    members.

    Args:
        course_id (UUID):
        status (None | SubmissionStatus | Unset):
        group_id (None | Unset | UUID):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageCourseSubmission | Problem]
    """

    kwargs = _get_kwargs(
        course_id=course_id,
        status=status,
        group_id=group_id,
        limit=limit,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    course_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    status: None | SubmissionStatus | Unset = UNSET,
    group_id: None | Unset | UUID = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> PageCourseSubmission | Problem | None:
    """List Course Submissions

     A course's grading queue (an extension of API.md: docs/api-notes.md): its
    submissions oldest first, for its owner and admins; ``status=submitted`` is the work
    waiting for a grade; ``group_id``: only the submissions of that group's current
    members.

    Args:
        course_id (UUID):
        status (None | SubmissionStatus | Unset):
        group_id (None | Unset | UUID):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageCourseSubmission | Problem
    """

    return sync_detailed(
        course_id=course_id,
        client=client,
        status=status,
        group_id=group_id,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    course_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    status: None | SubmissionStatus | Unset = UNSET,
    group_id: None | Unset | UUID = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> Response[PageCourseSubmission | Problem]:
    """List Course Submissions

     A course's grading queue (an extension of API.md: docs/api-notes.md): its
    submissions oldest first, for its owner and admins; ``status=submitted`` is the work
    waiting for a grade; ``group_id``: only the submissions of that group's current
    members.

    Args:
        course_id (UUID):
        status (None | SubmissionStatus | Unset):
        group_id (None | Unset | UUID):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageCourseSubmission | Problem]
    """

    kwargs = _get_kwargs(
        course_id=course_id,
        status=status,
        group_id=group_id,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    course_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    status: None | SubmissionStatus | Unset = UNSET,
    group_id: None | Unset | UUID = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> PageCourseSubmission | Problem | None:
    """List Course Submissions

     A course's grading queue (an extension of API.md: docs/api-notes.md): its
    submissions oldest first, for its owner and admins; ``status=submitted`` is the work
    waiting for a grade; ``group_id``: only the submissions of that group's current
    members.

    Args:
        course_id (UUID):
        status (None | SubmissionStatus | Unset):
        group_id (None | Unset | UUID):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageCourseSubmission | Problem
    """

    return (
        await asyncio_detailed(
            course_id=course_id,
            client=client,
            status=status,
            group_id=group_id,
            limit=limit,
            cursor=cursor,
        )
    ).parsed

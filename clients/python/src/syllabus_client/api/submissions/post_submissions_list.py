from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ...client import AuthenticatedClient, Client
from ...models.page_submission_with_student import PageSubmissionWithStudent
from ...models.problem import Problem
from ...models.submission_status import SubmissionStatus
from ...types import UNSET, Response, Unset


def _get_kwargs(
    post_id: UUID,
    *,
    user_id: None | Unset | UUID = UNSET,
    status: None | SubmissionStatus | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_user_id: None | str | Unset
    if isinstance(user_id, Unset):
        json_user_id = UNSET
    elif isinstance(user_id, UUID):
        json_user_id = str(user_id)
    else:
        json_user_id = user_id
    params["user_id"] = json_user_id

    json_status: None | str | Unset
    if isinstance(status, Unset):
        json_status = UNSET
    elif isinstance(status, SubmissionStatus):
        json_status = status.value
    else:
        json_status = status
    params["status"] = json_status

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
        "url": "/api/v1/posts/{post_id}/submissions".format(
            post_id=quote(str(post_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PageSubmissionWithStudent | Problem:
    if response.status_code == 200:
        response_200 = PageSubmissionWithStudent.from_dict(response.json())

        return response_200

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[PageSubmissionWithStudent | Problem]:
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
    user_id: None | Unset | UUID = UNSET,
    status: None | SubmissionStatus | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> Response[PageSubmissionWithStudent | Problem]:
    """List Submissions

    Args:
        post_id (UUID):
        user_id (None | Unset | UUID):
        status (None | SubmissionStatus | Unset):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageSubmissionWithStudent | Problem]
    """

    kwargs = _get_kwargs(
        post_id=post_id,
        user_id=user_id,
        status=status,
        limit=limit,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    post_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    user_id: None | Unset | UUID = UNSET,
    status: None | SubmissionStatus | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> PageSubmissionWithStudent | Problem | None:
    """List Submissions

    Args:
        post_id (UUID):
        user_id (None | Unset | UUID):
        status (None | SubmissionStatus | Unset):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageSubmissionWithStudent | Problem
    """

    return sync_detailed(
        post_id=post_id,
        client=client,
        user_id=user_id,
        status=status,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    post_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    user_id: None | Unset | UUID = UNSET,
    status: None | SubmissionStatus | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> Response[PageSubmissionWithStudent | Problem]:
    """List Submissions

    Args:
        post_id (UUID):
        user_id (None | Unset | UUID):
        status (None | SubmissionStatus | Unset):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageSubmissionWithStudent | Problem]
    """

    kwargs = _get_kwargs(
        post_id=post_id,
        user_id=user_id,
        status=status,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    post_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    user_id: None | Unset | UUID = UNSET,
    status: None | SubmissionStatus | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> PageSubmissionWithStudent | Problem | None:
    """List Submissions

    Args:
        post_id (UUID):
        user_id (None | Unset | UUID):
        status (None | SubmissionStatus | Unset):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageSubmissionWithStudent | Problem
    """

    return (
        await asyncio_detailed(
            post_id=post_id,
            client=client,
            user_id=user_id,
            status=status,
            limit=limit,
            cursor=cursor,
        )
    ).parsed

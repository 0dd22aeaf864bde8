from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ...client import AuthenticatedClient, Client
from ...models.grade_input import GradeInput
from ...models.problem import Problem
from ...models.submission_public import SubmissionPublic
from ...types import UNSET, Response, Unset


def _get_kwargs(
    submission_id: UUID,
    *,
    body: GradeInput,
    if_match: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(if_match, Unset):
        headers["If-Match"] = if_match

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/submissions/{submission_id}/grade".format(
            submission_id=quote(str(submission_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | SubmissionPublic:
    if response.status_code == 200:
        response_200 = SubmissionPublic.from_dict(response.json())

        return response_200

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | SubmissionPublic]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    submission_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: GradeInput,
    if_match: None | str | Unset = UNSET,
) -> Response[Problem | SubmissionPublic]:
    """Grade

    Args:
        submission_id (UUID):
        if_match (None | str | Unset):
        body (GradeInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SubmissionPublic]
    """

    kwargs = _get_kwargs(
        submission_id=submission_id,
        body=body,
        if_match=if_match,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    submission_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: GradeInput,
    if_match: None | str | Unset = UNSET,
) -> Problem | SubmissionPublic | None:
    """Grade

    Args:
        submission_id (UUID):
        if_match (None | str | Unset):
        body (GradeInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SubmissionPublic
    """

    return sync_detailed(
        submission_id=submission_id,
        client=client,
        body=body,
        if_match=if_match,
    ).parsed


async def asyncio_detailed(
    submission_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: GradeInput,
    if_match: None | str | Unset = UNSET,
) -> Response[Problem | SubmissionPublic]:
    """Grade

    Args:
        submission_id (UUID):
        if_match (None | str | Unset):
        body (GradeInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SubmissionPublic]
    """

    kwargs = _get_kwargs(
        submission_id=submission_id,
        body=body,
        if_match=if_match,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    submission_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: GradeInput,
    if_match: None | str | Unset = UNSET,
) -> Problem | SubmissionPublic | None:
    """Grade

    Args:
        submission_id (UUID):
        if_match (None | str | Unset):
        body (GradeInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SubmissionPublic
    """

    return (
        await asyncio_detailed(
            submission_id=submission_id,
            client=client,
            body=body,
            if_match=if_match,
        )
    ).parsed

from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ...client import AuthenticatedClient, Client
from ...models.group_members_add import GroupMembersAdd
from ...models.group_members_added import GroupMembersAdded
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    group_id: UUID,
    *,
    body: GroupMembersAdd,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/groups/{group_id}/members".format(
            group_id=quote(str(group_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> GroupMembersAdded | Problem:
    if response.status_code == 200:
        response_200 = GroupMembersAdded.from_dict(response.json())

        return response_200

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[GroupMembersAdded | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    group_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: GroupMembersAdd,
) -> Response[GroupMembersAdded | Problem]:
    """Add Members

     Add up to 1,000 users at once (the group's creator, admins); duplicated ids count
    once, unknown ids are reported in ``unknown_user_ids`` (nothing is done for them).

    Args:
        group_id (UUID):
        body (GroupMembersAdd):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[GroupMembersAdded | Problem]
    """

    kwargs = _get_kwargs(
        group_id=group_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    group_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: GroupMembersAdd,
) -> GroupMembersAdded | Problem | None:
    """Add Members

     Add up to 1,000 users at once (the group's creator, admins); duplicated ids count
    once, unknown ids are reported in ``unknown_user_ids`` (nothing is done for them).

    Args:
        group_id (UUID):
        body (GroupMembersAdd):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        GroupMembersAdded | Problem
    """

    return sync_detailed(
        group_id=group_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    group_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: GroupMembersAdd,
) -> Response[GroupMembersAdded | Problem]:
    """Add Members

     Add up to 1,000 users at once (the group's creator, admins); duplicated ids count
    once, unknown ids are reported in ``unknown_user_ids`` (nothing is done for them).

    Args:
        group_id (UUID):
        body (GroupMembersAdd):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[GroupMembersAdded | Problem]
    """

    kwargs = _get_kwargs(
        group_id=group_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    group_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: GroupMembersAdd,
) -> GroupMembersAdded | Problem | None:
    """Add Members

     Add up to 1,000 users at once (the group's creator, admins); duplicated ids count
    once, unknown ids are reported in ``unknown_user_ids`` (nothing is done for them).

    Args:
        group_id (UUID):
        body (GroupMembersAdd):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        GroupMembersAdded | Problem
    """

    return (
        await asyncio_detailed(
            group_id=group_id,
            client=client,
            body=body,
        )
    ).parsed

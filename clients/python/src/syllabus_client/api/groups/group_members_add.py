from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ...client import AuthenticatedClient, Client
from ...models.group_member import GroupMember
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    group_id: UUID,
    user_id: UUID,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/groups/{group_id}/members/{user_id}".format(
            group_id=quote(str(group_id), safe=""),
            user_id=quote(str(user_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> GroupMember | Problem:
    if response.status_code == 200:
        response_200 = GroupMember.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = GroupMember.from_dict(response.json())

        return response_201

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[GroupMember | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    group_id: UUID,
    user_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Response[GroupMember | Problem]:
    """Add Member

     Make a user a member (the group's creator, admins): 201 when added, 200 when
    already a member; 404 for an unknown user.

    Args:
        group_id (UUID):
        user_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[GroupMember | Problem]
    """

    kwargs = _get_kwargs(
        group_id=group_id,
        user_id=user_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    group_id: UUID,
    user_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> GroupMember | Problem | None:
    """Add Member

     Make a user a member (the group's creator, admins): 201 when added, 200 when
    already a member; 404 for an unknown user.

    Args:
        group_id (UUID):
        user_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        GroupMember | Problem
    """

    return sync_detailed(
        group_id=group_id,
        user_id=user_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    group_id: UUID,
    user_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Response[GroupMember | Problem]:
    """Add Member

     Make a user a member (the group's creator, admins): 201 when added, 200 when
    already a member; 404 for an unknown user.

    Args:
        group_id (UUID):
        user_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[GroupMember | Problem]
    """

    kwargs = _get_kwargs(
        group_id=group_id,
        user_id=user_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    group_id: UUID,
    user_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> GroupMember | Problem | None:
    """Add Member

     Make a user a member (the group's creator, admins): 201 when added, 200 when
    already a member; 404 for an unknown user.

    Args:
        group_id (UUID):
        user_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        GroupMember | Problem
    """

    return (
        await asyncio_detailed(
            group_id=group_id,
            user_id=user_id,
            client=client,
        )
    ).parsed

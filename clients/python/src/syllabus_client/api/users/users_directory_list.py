from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.page_directory_entry import PageDirectoryEntry
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    q: None | str | Unset = UNSET,
    username: list[str] | None | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_q: None | str | Unset
    if isinstance(q, Unset):
        json_q = UNSET
    else:
        json_q = q
    params["q"] = json_q

    json_username: list[str] | None | Unset
    if isinstance(username, Unset):
        json_username = UNSET
    elif isinstance(username, list):
        json_username = username

    else:
        json_username = username
    params["username"] = json_username

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
        "url": "/api/v1/users/directory",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PageDirectoryEntry | Problem:
    if response.status_code == 200:
        response_200 = PageDirectoryEntry.from_dict(response.json())

        return response_200

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[PageDirectoryEntry | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    q: None | str | Unset = UNSET,
    username: list[str] | None | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> Response[PageDirectoryEntry | Problem]:
    """User Directory

     Look people up to add them to groups (instructors, admins): ``{id, username,
    display_name}`` only, never an email or a role, by username (case-insensitive). ``q``
    matches the username or the display name anywhere; ``username`` (repeatable, up to
    1,000) finds exact usernames, ignoring case (a value that cannot be a username matches
    nobody).

    Args:
        q (None | str | Unset):
        username (list[str] | None | Unset):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageDirectoryEntry | Problem]
    """

    kwargs = _get_kwargs(
        q=q,
        username=username,
        limit=limit,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    q: None | str | Unset = UNSET,
    username: list[str] | None | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> PageDirectoryEntry | Problem | None:
    """User Directory

     Look people up to add them to groups (instructors, admins): ``{id, username,
    display_name}`` only, never an email or a role, by username (case-insensitive). ``q``
    matches the username or the display name anywhere; ``username`` (repeatable, up to
    1,000) finds exact usernames, ignoring case (a value that cannot be a username matches
    nobody).

    Args:
        q (None | str | Unset):
        username (list[str] | None | Unset):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageDirectoryEntry | Problem
    """

    return sync_detailed(
        client=client,
        q=q,
        username=username,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    q: None | str | Unset = UNSET,
    username: list[str] | None | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> Response[PageDirectoryEntry | Problem]:
    """User Directory

     Look people up to add them to groups (instructors, admins): ``{id, username,
    display_name}`` only, never an email or a role, by username (case-insensitive). ``q``
    matches the username or the display name anywhere; ``username`` (repeatable, up to
    1,000) finds exact usernames, ignoring case (a value that cannot be a username matches
    nobody).

    Args:
        q (None | str | Unset):
        username (list[str] | None | Unset):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageDirectoryEntry | Problem]
    """

    kwargs = _get_kwargs(
        q=q,
        username=username,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    q: None | str | Unset = UNSET,
    username: list[str] | None | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> PageDirectoryEntry | Problem | None:
    """User Directory

     Look people up to add them to groups (instructors, admins): ``{id, username,
    display_name}`` only, never an email or a role, by username (case-insensitive). ``q``
    matches the username or the display name anywhere; ``username`` (repeatable, up to
    1,000) finds exact usernames, ignoring case (a value that cannot be a username matches
    nobody).

    Args:
        q (None | str | Unset):
        username (list[str] | None | Unset):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageDirectoryEntry | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            q=q,
            username=username,
            limit=limit,
            cursor=cursor,
        )
    ).parsed

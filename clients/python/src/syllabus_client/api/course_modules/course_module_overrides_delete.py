from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import httpx

from ...client import AuthenticatedClient, Client
from ...models.course_module_overrides_delete_kind import CourseModuleOverridesDeleteKind
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    course_id: UUID,
    module_id: UUID,
    kind: CourseModuleOverridesDeleteKind,
    id: UUID,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/api/v1/courses/{course_id}/modules/{module_id}/overrides/{kind}/{id}".format(
            course_id=quote(str(course_id), safe=""),
            module_id=quote(str(module_id), safe=""),
            kind=quote(str(kind), safe=""),
            id=quote(str(id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Problem:
    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    course_id: UUID,
    module_id: UUID,
    kind: CourseModuleOverridesDeleteKind,
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | Problem]:
    """Remove Unlock Override

    Args:
        course_id (UUID):
        module_id (UUID):
        kind (CourseModuleOverridesDeleteKind): `groups` (the members of a group the course
            follows) or `users` (one student enrolled in the course)
        id (UUID): the group's or the user's id

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        course_id=course_id,
        module_id=module_id,
        kind=kind,
        id=id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    course_id: UUID,
    module_id: UUID,
    kind: CourseModuleOverridesDeleteKind,
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Any | Problem | None:
    """Remove Unlock Override

    Args:
        course_id (UUID):
        module_id (UUID):
        kind (CourseModuleOverridesDeleteKind): `groups` (the members of a group the course
            follows) or `users` (one student enrolled in the course)
        id (UUID): the group's or the user's id

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return sync_detailed(
        course_id=course_id,
        module_id=module_id,
        kind=kind,
        id=id,
        client=client,
    ).parsed


async def asyncio_detailed(
    course_id: UUID,
    module_id: UUID,
    kind: CourseModuleOverridesDeleteKind,
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | Problem]:
    """Remove Unlock Override

    Args:
        course_id (UUID):
        module_id (UUID):
        kind (CourseModuleOverridesDeleteKind): `groups` (the members of a group the course
            follows) or `users` (one student enrolled in the course)
        id (UUID): the group's or the user's id

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        course_id=course_id,
        module_id=module_id,
        kind=kind,
        id=id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    course_id: UUID,
    module_id: UUID,
    kind: CourseModuleOverridesDeleteKind,
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Any | Problem | None:
    """Remove Unlock Override

    Args:
        course_id (UUID):
        module_id (UUID):
        kind (CourseModuleOverridesDeleteKind): `groups` (the members of a group the course
            follows) or `users` (one student enrolled in the course)
        id (UUID): the group's or the user's id

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return (
        await asyncio_detailed(
            course_id=course_id,
            module_id=module_id,
            kind=kind,
            id=id,
            client=client,
        )
    ).parsed

from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ...client import AuthenticatedClient, Client
from ...models.course_module_overrides_set_kind import CourseModuleOverridesSetKind
from ...models.problem import Problem
from ...models.unlock_override_body import UnlockOverrideBody
from ...models.unlock_override_public import UnlockOverridePublic
from ...types import Response


def _get_kwargs(
    course_id: UUID,
    module_id: UUID,
    kind: CourseModuleOverridesSetKind,
    id: UUID,
    *,
    body: UnlockOverrideBody,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/courses/{course_id}/modules/{module_id}/overrides/{kind}/{id}".format(
            course_id=quote(str(course_id), safe=""),
            module_id=quote(str(module_id), safe=""),
            kind=quote(str(kind), safe=""),
            id=quote(str(id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | UnlockOverridePublic:
    if response.status_code == 200:
        response_200 = UnlockOverridePublic.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = UnlockOverridePublic.from_dict(response.json())

        return response_201

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | UnlockOverridePublic]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    course_id: UUID,
    module_id: UUID,
    kind: CourseModuleOverridesSetKind,
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: UnlockOverrideBody,
) -> Response[Problem | UnlockOverridePublic]:
    """Set Unlock Override

     The module opens at ``unlock_at`` for a group's members or one student of the course
    instead of the course's date (201 set, 200 replaced or unchanged; docs/dates.md).

    Args:
        course_id (UUID):
        module_id (UUID):
        kind (CourseModuleOverridesSetKind): `groups` (the members of a group the course follows)
            or `users` (one student enrolled in the course)
        id (UUID): the group's or the user's id
        body (UnlockOverrideBody): ``PUT .../overrides/{kind}/{id}``: when the module opens for
            those students.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | UnlockOverridePublic]
    """

    kwargs = _get_kwargs(
        course_id=course_id,
        module_id=module_id,
        kind=kind,
        id=id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    course_id: UUID,
    module_id: UUID,
    kind: CourseModuleOverridesSetKind,
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: UnlockOverrideBody,
) -> Problem | UnlockOverridePublic | None:
    """Set Unlock Override

     The module opens at ``unlock_at`` for a group's members or one student of the course
    instead of the course's date (201 set, 200 replaced or unchanged; docs/dates.md).

    Args:
        course_id (UUID):
        module_id (UUID):
        kind (CourseModuleOverridesSetKind): `groups` (the members of a group the course follows)
            or `users` (one student enrolled in the course)
        id (UUID): the group's or the user's id
        body (UnlockOverrideBody): ``PUT .../overrides/{kind}/{id}``: when the module opens for
            those students.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | UnlockOverridePublic
    """

    return sync_detailed(
        course_id=course_id,
        module_id=module_id,
        kind=kind,
        id=id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    course_id: UUID,
    module_id: UUID,
    kind: CourseModuleOverridesSetKind,
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: UnlockOverrideBody,
) -> Response[Problem | UnlockOverridePublic]:
    """Set Unlock Override

     The module opens at ``unlock_at`` for a group's members or one student of the course
    instead of the course's date (201 set, 200 replaced or unchanged; docs/dates.md).

    Args:
        course_id (UUID):
        module_id (UUID):
        kind (CourseModuleOverridesSetKind): `groups` (the members of a group the course follows)
            or `users` (one student enrolled in the course)
        id (UUID): the group's or the user's id
        body (UnlockOverrideBody): ``PUT .../overrides/{kind}/{id}``: when the module opens for
            those students.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | UnlockOverridePublic]
    """

    kwargs = _get_kwargs(
        course_id=course_id,
        module_id=module_id,
        kind=kind,
        id=id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    course_id: UUID,
    module_id: UUID,
    kind: CourseModuleOverridesSetKind,
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: UnlockOverrideBody,
) -> Problem | UnlockOverridePublic | None:
    """Set Unlock Override

     The module opens at ``unlock_at`` for a group's members or one student of the course
    instead of the course's date (201 set, 200 replaced or unchanged; docs/dates.md).

    Args:
        course_id (UUID):
        module_id (UUID):
        kind (CourseModuleOverridesSetKind): `groups` (the members of a group the course follows)
            or `users` (one student enrolled in the course)
        id (UUID): the group's or the user's id
        body (UnlockOverrideBody): ``PUT .../overrides/{kind}/{id}``: when the module opens for
            those students.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | UnlockOverridePublic
    """

    return (
        await asyncio_detailed(
            course_id=course_id,
            module_id=module_id,
            kind=kind,
            id=id,
            client=client,
            body=body,
        )
    ).parsed

from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.access_token import AccessToken
from ...models.body_auth_token import BodyAuthToken
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    *,
    body: BodyAuthToken,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/auth/token",
    }

    _kwargs["data"] = body.to_dict()
    headers["Content-Type"] = "application/x-www-form-urlencoded"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AccessToken | Problem:
    if response.status_code == 200:
        response_200 = AccessToken.from_dict(response.json())

        return response_200

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[AccessToken | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: BodyAuthToken,
) -> Response[AccessToken | Problem]:
    """Issue Token

     OAuth2 token endpoint.

    - Password grant (``grant_type=password``, or none): ``username`` (or email) and
      ``password``; starts a sign-in. Failures count toward the sign-in throttle (429).
    - Refresh grant (``grant_type=refresh_token``): ``refresh_token``; answers a new pair
      and the presented refresh token is spent. A spent one presented again ends the whole
      sign-in. Failures are 401 and are not counted by the throttle.

    Args:
        body (BodyAuthToken):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AccessToken | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: BodyAuthToken,
) -> AccessToken | Problem | None:
    """Issue Token

     OAuth2 token endpoint.

    - Password grant (``grant_type=password``, or none): ``username`` (or email) and
      ``password``; starts a sign-in. Failures count toward the sign-in throttle (429).
    - Refresh grant (``grant_type=refresh_token``): ``refresh_token``; answers a new pair
      and the presented refresh token is spent. A spent one presented again ends the whole
      sign-in. Failures are 401 and are not counted by the throttle.

    Args:
        body (BodyAuthToken):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AccessToken | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: BodyAuthToken,
) -> Response[AccessToken | Problem]:
    """Issue Token

     OAuth2 token endpoint.

    - Password grant (``grant_type=password``, or none): ``username`` (or email) and
      ``password``; starts a sign-in. Failures count toward the sign-in throttle (429).
    - Refresh grant (``grant_type=refresh_token``): ``refresh_token``; answers a new pair
      and the presented refresh token is spent. A spent one presented again ends the whole
      sign-in. Failures are 401 and are not counted by the throttle.

    Args:
        body (BodyAuthToken):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AccessToken | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: BodyAuthToken,
) -> AccessToken | Problem | None:
    """Issue Token

     OAuth2 token endpoint.

    - Password grant (``grant_type=password``, or none): ``username`` (or email) and
      ``password``; starts a sign-in. Failures count toward the sign-in throttle (429).
    - Refresh grant (``grant_type=refresh_token``): ``refresh_token``; answers a new pair
      and the presented refresh token is spent. A spent one presented again ends the whole
      sign-in. Failures are 401 and are not counted by the throttle.

    Args:
        body (BodyAuthToken):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AccessToken | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed

"""Identity HTTP routes: thin; rules live in ``service`` and ``rules``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from syllabus_shared.auth import CurrentUser, Principal, Role
from syllabus_shared.http import idempotent, not_modified, versioned
from syllabus_shared.pagination import Page, PageParams, page_of, page_params
from syllabus_shared.runtime import RuntimeDep, UnitOfWorkDep, part

from syllabus_identity import keys, rules, schemas, service
from syllabus_identity.service import Identity

router = APIRouter()
# Mounted at the root, not under /api/v1: where JWT libraries look for keys.
well_known = APIRouter(tags=["auth"])

Paging = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]
IdentityDep = Annotated[Identity, part(Identity)]


def _user(user: object) -> schemas.UserPublic:
    return schemas.UserPublic.model_validate(user)


# ---------------------------------------------------------------- auth


@router.post(
    "/auth/register",
    operation_id="auth_register",
    status_code=201,
    response_model=schemas.UserPublic,
    tags=["auth"],
)
async def register(
    body: schemas.UserRegister, uow: UnitOfWorkDep, identity: IdentityDep, request: Request
) -> JSONResponse:
    # Hashed before the transaction: no connection is held for the slow part.
    password_hash = await identity.passwords.hash(body.password)

    async def create() -> JSONResponse:
        user = _user(await service.register(uow, body, password_hash))
        return versioned(user, user.version, 201, {"Location": f"/api/v1/users/{user.id}"})

    # The password is left out of the stored request fingerprint: no password-derived
    # value outlives the request except its Argon2 hash.
    return await idempotent(
        request,
        uow,
        scope=service.REGISTER_SCOPE,
        body=body.model_dump(exclude={"password"}),
        create=create,
    )


# RFC 6749 section 5.1: token responses must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post(
    "/auth/token",
    operation_id="auth_token",
    response_model=schemas.AccessToken,
    tags=["auth"],
    # Every field is optional on its own (which are needed depends on ``grant_type``), but
    # every grant needs a form: documented as required, as it was before refresh grants.
    openapi_extra={"requestBody": {"required": True}},
)
async def issue_token(
    request: Request,
    uow: UnitOfWorkDep,
    identity: IdentityDep,
    grant_type: Annotated[str | None, Form(pattern="^(password|refresh_token)$")] = None,
    username: Annotated[
        str | None, Form(min_length=1, max_length=320, pattern=r"^[^\x00-\x1f\x7f]+$")
    ] = None,
    password: Annotated[str | None, Form(max_length=1024)] = None,
    refresh_token: Annotated[
        str | None, Form(min_length=1, max_length=rules.REFRESH_TOKEN_MAX)
    ] = None,
) -> JSONResponse:
    """OAuth2 token endpoint.

    - Password grant (``grant_type=password``, or none): ``username`` (or email) and
      ``password``; starts a sign-in. Failures count toward the sign-in throttle (429).
    - Refresh grant (``grant_type=refresh_token``): ``refresh_token``; answers a new pair
      and the presented refresh token is spent. A spent one presented again ends the whole
      sign-in. Failures are 401 and are not counted by the throttle.
    """
    if grant_type == "refresh_token":
        rules.require_form_fields(refresh_token=refresh_token)
        assert refresh_token is not None
        tokens = await service.refresh(uow, identity, refresh_token)
    else:
        rules.require_form_fields(username=username, password=password)
        assert username is not None and password is not None
        address = rules.client_address(
            request.client.host if request.client else None,
            request.headers.get("x-forwarded-for"),
            identity.settings.trusted_proxy_networks,
        )
        tokens = await service.login(uow, identity, username, password, address)
    return JSONResponse(tokens.model_dump(), headers=NO_STORE)


@router.post(
    "/auth/logout",
    operation_id="auth_logout",
    status_code=204,
    response_class=Response,
    tags=["auth"],
)
async def logout(body: schemas.Logout, uow: UnitOfWorkDep) -> Response:
    """End a sign-in: its refresh tokens are revoked (no access token needed; 204 also for
    an unknown or already revoked token). Access tokens already issued stay valid until
    they expire."""
    await service.logout(uow, body.refresh_token)
    return Response(status_code=204)


class JwkSetResponse(JSONResponse):
    """A JSON Web Key Set, with its registered media type (RFC 7517 section 8.5)."""

    media_type = "application/jwk-set+json"


@well_known.get(
    "/.well-known/jwks.json",
    operation_id="jwks_get",
    response_class=JwkSetResponse,
    # Documented under the media type it is served as (the OpenAPI document and the
    # response agree); the schema is the set's public members.
    responses={
        200: {
            "description": "The JWK Set (RFC 7517)",
            "content": {
                JwkSetResponse.media_type: {
                    "schema": {"$ref": "#/components/schemas/JwkSet"},
                }
            },
        }
    },
    response_model=schemas.JwkSet,
)
async def jwks(uow: UnitOfWorkDep) -> JwkSetResponse:
    """The public keys that verify access tokens (never any private member)."""
    return JwkSetResponse(
        await service.public_jwks(uow),
        headers={"Cache-Control": f"public, max-age={keys.JWKS_MAX_AGE_SECONDS}"},
    )


# ---------------------------------------------------------------- users


@router.get(
    "/users/me", operation_id="users_me_get", response_model=schemas.UserPublic, tags=["users"]
)
async def me(who: CurrentUser, uow: UnitOfWorkDep, request: Request) -> Response:
    user = _user(await service.me(uow, who))
    return not_modified(request, user.version) or versioned(user, user.version)


@router.delete("/users/me", operation_id="users_me_delete", status_code=204, tags=["users"])
async def delete_me(who: CurrentUser, uow: UnitOfWorkDep, rt: RuntimeDep) -> Response:
    """Delete the caller's own account (see ``delete_user``)."""
    return await _delete(who.user_id, who, uow, rt)


@router.get(
    "/users", operation_id="users_list", response_model=Page[schemas.UserPublic], tags=["users"]
)
async def list_users(
    who: CurrentUser,
    uow: UnitOfWorkDep,
    paging: Paging,
    role: Role | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[schemas.UserPublic]:
    rows = await service.list_users(uow, who, paging, role=role, q=q)
    return page_of([_user(r) for r in rows], paging, lambda u: {"id": str(u.id)})


@router.get(
    "/users/{user_id}", operation_id="users_get", response_model=schemas.UserPublic, tags=["users"]
)
async def get_user(
    user_id: uuid.UUID, who: CurrentUser, uow: UnitOfWorkDep, request: Request
) -> Response:
    user = _user(await service.get_user(uow, who, user_id))
    return not_modified(request, user.version) or versioned(user, user.version)


@router.patch(
    "/users/{user_id}",
    operation_id="users_update",
    response_model=schemas.UserPublic,
    tags=["users"],
)
async def update_user(
    user_id: uuid.UUID,
    body: schemas.UserUpdate,
    who: CurrentUser,
    uow: UnitOfWorkDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    user = _user(await service.update_user(uow, who, user_id, body, if_match))
    return versioned(user, user.version)


@router.delete("/users/{user_id}", operation_id="users_delete", status_code=204, tags=["users"])
async def delete_user(
    user_id: uuid.UUID, who: CurrentUser, uow: UnitOfWorkDep, rt: RuntimeDep
) -> Response:
    """Delete an account for good: admins any account, others their own (403 for someone
    else's; 404 for no such account, or one already deleted; 409 for the last admin). Its
    username and email are free again; ``UserDeleted`` tells every service to forget it."""
    return await _delete(user_id, who, uow, rt)


async def _delete(
    user_id: uuid.UUID, who: Principal, uow: UnitOfWorkDep, rt: RuntimeDep
) -> Response:
    deleted_at = await service.delete_user(uow, who, user_id)
    # Committed: this process refuses the user's tokens at once (the other replicas of
    # identity when the NOTIFY of ``deleted_users`` reaches them, other services by event).
    rt.revoked.add(user_id, deleted_at)
    return Response(status_code=204)

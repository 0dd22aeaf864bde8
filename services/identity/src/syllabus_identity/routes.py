"""Identity HTTP routes: thin; rules live in ``service`` and ``rules``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from syllabus_shared.auth import CurrentUser, Principal, Role
from syllabus_shared.http import idempotent, not_modified, versioned
from syllabus_shared.pagination import Page, PageParams, page_of, page_params
from syllabus_shared.runtime import RuntimeDep, UnitOfWorkDep, part

from syllabus_identity import groups, keys, rules, schemas, service
from syllabus_identity.service import Identity

router = APIRouter()
# Mounted at the root, not under /api/v1: where JWT libraries look for keys.
well_known = APIRouter(tags=["auth"])

Paging = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]
IdentityDep = Annotated[Identity, part(Identity)]
Search = Annotated[str | None, Query(max_length=200), schemas.NoNul]


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


# Declared before ``/users/{user_id}``, which would otherwise take "directory" for an id.
@router.get(
    "/users/directory",
    operation_id="users_directory_list",
    response_model=Page[schemas.DirectoryEntry],
    tags=["users"],
)
async def user_directory(
    who: CurrentUser,
    uow: UnitOfWorkDep,
    paging: Paging,
    q: Search = None,
    username: Annotated[list[str] | None, Query()] = None,
) -> Page[schemas.DirectoryEntry]:
    """Look people up to add them to groups (instructors, admins): ``{id, username,
    display_name}`` only, never an email or a role, by username (case-insensitive). ``q``
    matches the username or the display name anywhere; ``username`` (repeatable, up to
    1,000) finds exact usernames, ignoring case (a value that cannot be a username matches
    nobody)."""
    rows = await groups.directory(uow, who, paging, q=q, usernames=username or [])
    return page_of(rows, paging, lambda e: {"username": e.username.lower()})


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


# ---------------------------------------------------------------- groups


def _group(group: object) -> schemas.GroupPublic:
    return schemas.GroupPublic.model_validate(group)


@router.post(
    "/groups",
    operation_id="groups_create",
    status_code=201,
    response_model=schemas.GroupPublic,
    tags=["groups"],
)
async def create_group(
    body: schemas.GroupCreate, who: CurrentUser, uow: UnitOfWorkDep, request: Request
) -> JSONResponse:
    """A new group (instructors, admins); ``creator_id`` is the caller. 409 when the name is
    taken, ignoring case."""

    async def create() -> JSONResponse:
        group = _group(await groups.create_group(uow, who, body))
        return versioned(
            group,
            group.version,
            201,
            {"Location": f"/api/v1/groups/{group.id}"},
            derived=group.member_count,
        )

    return await idempotent(
        request, uow, scope=f"{who.user_id}:POST /groups", body=body, create=create
    )


@router.get(
    "/groups",
    operation_id="groups_list",
    response_model=Page[schemas.GroupPublic],
    tags=["groups"],
)
async def list_groups(
    who: CurrentUser, uow: UnitOfWorkDep, paging: Paging, q: Search = None
) -> Page[schemas.GroupPublic]:
    """Admins: every group; instructors: the groups they created and those that follow a
    course they own. Newest first; ``q`` matches the name anywhere, ignoring case."""
    rows = await groups.list_groups(uow, who, paging, q=q)
    return page_of([_group(r) for r in rows], paging, lambda g: {"id": str(g.id)})


@router.get(
    "/groups/{group_id}",
    operation_id="groups_get",
    response_model=schemas.GroupPublic,
    tags=["groups"],
)
async def get_group(
    group_id: uuid.UUID, who: CurrentUser, uow: UnitOfWorkDep, request: Request
) -> Response:
    group = _group(await groups.get_group(uow, who, group_id))
    return not_modified(request, group.version, group.member_count) or versioned(
        group, group.version, derived=group.member_count
    )


@router.patch(
    "/groups/{group_id}",
    operation_id="groups_update",
    response_model=schemas.GroupPublic,
    tags=["groups"],
)
async def update_group(
    group_id: uuid.UUID,
    body: schemas.GroupUpdate,
    who: CurrentUser,
    uow: UnitOfWorkDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Rename or describe a group (its creator, admins); honours ``If-Match``."""
    group = _group(await groups.update_group(uow, who, group_id, body, if_match))
    return versioned(group, group.version, derived=group.member_count)


@router.delete("/groups/{group_id}", operation_id="groups_delete", status_code=204, tags=["groups"])
async def delete_group(
    group_id: uuid.UUID, who: CurrentUser, uow: UnitOfWorkDep, if_match: IfMatch = None
) -> Response:
    """Delete a group and its memberships (its creator, admins); courses stop following it."""
    await groups.delete_group(uow, who, group_id, if_match)
    return Response(status_code=204)


@router.get(
    "/groups/{group_id}/members",
    operation_id="group_members_list",
    response_model=Page[schemas.GroupMember],
    tags=["groups"],
)
async def list_members(
    group_id: uuid.UUID, who: CurrentUser, uow: UnitOfWorkDep, paging: Paging
) -> Page[schemas.GroupMember]:
    """The group's members, by username (ignoring case)."""
    rows = await groups.list_members(uow, who, group_id, paging)
    return page_of(rows, paging, lambda m: {"username": m.username.lower()})


@router.put(
    "/groups/{group_id}/members/{user_id}",
    operation_id="group_members_add",
    response_model=schemas.GroupMember,
    responses={201: {"model": schemas.GroupMember, "description": "Added"}},
    tags=["groups"],
)
async def add_member(
    group_id: uuid.UUID, user_id: uuid.UUID, who: CurrentUser, uow: UnitOfWorkDep
) -> JSONResponse:
    """Make a user a member (the group's creator, admins): 201 when added, 200 when
    already a member; 404 for an unknown user."""
    member, added = await groups.add_member(uow, who, group_id, user_id)
    return JSONResponse(jsonable_encoder(member), status_code=201 if added else 200)


@router.post(
    "/groups/{group_id}/members",
    operation_id="group_members_add_many",
    response_model=schemas.GroupMembersAdded,
    tags=["groups"],
)
async def add_members(
    group_id: uuid.UUID, body: schemas.GroupMembersAdd, who: CurrentUser, uow: UnitOfWorkDep
) -> schemas.GroupMembersAdded:
    """Add up to 1,000 users at once (the group's creator, admins); duplicated ids count
    once, unknown ids are reported in ``unknown_user_ids`` (nothing is done for them)."""
    return await groups.add_members(uow, who, group_id, body.user_ids)


@router.delete(
    "/groups/{group_id}/members/{user_id}",
    operation_id="group_members_remove",
    status_code=204,
    tags=["groups"],
)
async def remove_member(
    group_id: uuid.UUID, user_id: uuid.UUID, who: CurrentUser, uow: UnitOfWorkDep
) -> Response:
    """End a membership (the group's creator, admins); 404 when not a member."""
    await groups.remove_member(uow, who, group_id, user_id)
    return Response(status_code=204)


@router.get(
    "/me/groups",
    operation_id="me_groups_list",
    response_model=Page[schemas.GroupPublic],
    tags=["groups"],
)
async def my_groups(
    who: CurrentUser, uow: UnitOfWorkDep, paging: Paging
) -> Page[schemas.GroupPublic]:
    """The groups the caller is a member of (anyone signed in), newest group first."""
    rows = await groups.my_groups(uow, who, paging)
    return page_of([_group(r) for r in rows], paging, lambda g: {"id": str(g.id)})

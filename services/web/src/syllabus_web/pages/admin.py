"""Admin: find users, change a role, delete an account (the Django admin's shape: a list
with search and pages, a change made in place, a destructive action behind a page that
says what it deletes).

Admins only: anyone else gets the 403 page before any call (the API refuses them too). A
role change that the API refuses comes back as the list again with the problem next to
that user's Role and the role chosen still selected (409 or 422), never as a redirect
that would lose it; a deletion goes back to the list with a message.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from syllabus_web.api import Api, ApiError
from syllabus_web.pages import ApiDep, login_url, pages_router, see_other
from syllabus_web.templating import render

router = pages_router()
JSON = dict[str, Any]

ROLES = {"student": "Student", "instructor": "Instructor", "admin": "Admin"}
AS_WORDS = {"student": "a student", "instructor": "an instructor", "admin": "an admin"}
PAGE_SIZE = 50


def refused(request: Request, api: Api) -> Response | None:
    if not api.session.signed_in:
        return see_other(login_url(request.url.path))
    if api.session.role != "admin":
        context = {
            "heading": "Only for admins",
            "message": "Managing users is for admins.",
            "retry": False,
        }
        return render(request, "errors/error.html", context, status_code=403)
    return None


def _list_url(q: str, cursor: str | None) -> str:
    query = {k: v for k, v in (("q", q), ("cursor", cursor)) if v}
    return "/admin/users" + (f"?{urlencode(query)}" if query else "")


async def _users_page(
    request: Request,
    api: Api,
    q: str,
    cursor: str | None,
    *,
    failed: JSON | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    page = await api.users(q or None, cursor, PAGE_SIZE)
    context = {
        "users": page["items"],
        "q": q,
        "cursor": cursor or "",
        "roles": ROLES,
        "first_page": cursor is None,
        "first_url": _list_url(q, None),
        "next_url": _list_url(q, page["next_cursor"]) if page.get("next_cursor") else None,
        "failed": failed,
    }
    return render(request, "admin/users.html", context, status_code=status_code)


@router.get("/admin/users", response_model=None)
async def users(
    request: Request, api: ApiDep, q: str | None = None, cursor: str | None = None
) -> Response:
    if (refusal := refused(request, api)) is not None:
        return refusal
    return await _users_page(request, api, (q or "").strip()[:200], cursor)


def role_problem(error: ApiError) -> str:
    kind = str(error.problem.get("type", ""))
    if error.status == 409 or kind.endswith("last-admin"):
        return "This is the last admin: make another user an admin first."
    if error.status == 404:
        return "This account no longer exists."
    if error.status == 422:
        return "Choose Student, Instructor or Admin."
    return error.message


@router.post("/admin/users/{user_id}/role", response_model=None)
async def change_role(request: Request, api: ApiDep, user_id: uuid.UUID) -> Response:
    if (refusal := refused(request, api)) is not None:
        return refusal
    form = await request.form()
    role = str(form.get("role") or "")
    username = str(form.get("username") or "")[:150] or "The user"
    q = str(form.get("q") or "")[:200]
    cursor = str(form.get("cursor") or "")[:500] or None
    try:
        if role not in ROLES:
            raise ApiError(422, "role is not valid")
        await api.change_role(str(user_id), role)
    except ApiError as error:
        if error.status >= 500 or error.status in (401, 403):
            raise
        failed = {"id": str(user_id), "role": role, "error": role_problem(error)}
        status = error.status if error.status in (404, 409) else 422
        return await _users_page(request, api, q, cursor, failed=failed, status_code=status)
    if str(user_id) == api.session.user_id:
        api.session.role = role  # the header follows at once (the next sign-in says so too)
        api.session.dirty = True
    api.session.say(f"{username} is now {AS_WORDS[role]}.", "info")
    return see_other(_list_url(q, cursor))


@router.get("/admin/users/{user_id}/delete", response_model=None)
async def confirm_delete(request: Request, api: ApiDep, user_id: uuid.UUID) -> Response:
    if (refusal := refused(request, api)) is not None:
        return refusal
    user = await api.user(str(user_id))
    return render(request, "admin/delete.html", {"user": user, "roles": ROLES, "error": None})


@router.post("/admin/users/{user_id}/delete", response_model=None)
async def delete(request: Request, api: ApiDep, user_id: uuid.UUID) -> Response:
    if (refusal := refused(request, api)) is not None:
        return refusal
    uid = str(user_id)
    user = await api.user(uid)
    try:
        await api.delete_user(uid)
    except ApiError as error:
        if error.status == 404:
            api.session.say("That account was already deleted.", "info")
            return see_other("/admin/users")
        if error.status >= 500 or error.status in (401, 403):
            raise
        message = (
            "This is the last admin account: make another user an admin first."
            if error.status == 409
            else error.message
        )
        context = {"user": user, "roles": ROLES, "error": message}
        return render(request, "admin/delete.html", context, status_code=error.status)
    if uid == api.session.user_id:
        # Their own account: nothing is left to be signed in as.
        api.session.sign_out()
        api.session.say("Your account was deleted.", "info")
        return see_other("/")
    api.session.say(f"The account of {user['username']} was deleted.", "info")
    return see_other("/admin/users")

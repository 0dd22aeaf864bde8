"""The pages, one module per area (``account``, ``learn``, ``live``), and what their
routes share: the request's :class:`Api` and session, and a router whose every POST is
checked for the session's CSRF token."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from syllabus_web.api import Api, ApiClient
from syllabus_web.session import Session, csrf_protect, current_session


def request_api(request: Request) -> Api:
    """The API as the request's person sees it. A page re-fetched by the live script
    passes the event's consistency token, so what it reads reflects the change."""
    client: ApiClient = request.app.state.api_client
    return Api(
        client,
        current_session(request),
        forwarded_for=request.headers.get("x-forwarded-for"),
        consistency=request.headers.get("syllabus-consistency"),
    )


ApiDep = Annotated[Api, Depends(request_api)]
SessionDep = Annotated[Session, Depends(current_session)]


def pages_router() -> APIRouter:
    """A router for pages: out of the OpenAPI document, and every POST CSRF-checked."""
    return APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def see_other(url: str) -> RedirectResponse:
    """The answer to a form: go (GET) to ``url``: POST, redirect, GET."""
    return RedirectResponse(url, status_code=303)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never ``//evil``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def login_url(next_path: str) -> str:
    return f"/login?next={quote(next_path, safe='/')}"

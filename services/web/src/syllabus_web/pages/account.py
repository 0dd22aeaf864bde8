"""Signing in, creating an account, signing out."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from syllabus_web.api import ApiError
from syllabus_web.pages import ApiDep, pages_router, safe_next, see_other
from syllabus_web.templating import render

router = pages_router()


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> HTMLResponse:
    # Shown to someone already signed in too: signing in as somebody else is allowed.
    return render(
        request, "account/login.html", {"next": safe_next(next), "username": "", "error": None}
    )


@router.post("/login", response_model=None)
async def login(
    request: Request,
    api: ApiDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> HTMLResponse | RedirectResponse:
    try:
        await api.sign_in(username.strip(), password)
    except ApiError as error:
        if error.status in (400, 401, 422):
            message = "Wrong username or password."
        else:
            message = error.message
        context = {"next": safe_next(next), "username": username, "error": message}
        status = error.status if error.status in (401, 429, 503) else 400
        return render(request, "account/login.html", context, status_code=status)
    return see_other(safe_next(next))


@router.get("/register")
async def register_form(request: Request) -> HTMLResponse:
    return render(
        request, "account/register.html", {"form": {"username": "", "email": ""}, "errors": {}}
    )


@router.post("/register", response_model=None)
async def register(
    request: Request,
    api: ApiDep,
    username: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    form = {"username": username.strip(), "email": email.strip()}
    try:
        await api.register(form["username"], form["email"], password)
        await api.sign_in(form["username"], password)
    except ApiError as error:
        errors = _register_errors(error)
        status = error.status if error.status in (409, 422, 429, 503) else 400
        return render(
            request, "account/register.html", {"form": form, "errors": errors}, status_code=status
        )
    api.session.say(f"Welcome, {form['username']}. Find a course to start.", "info")
    return see_other("/courses")


def _register_errors(error: ApiError) -> dict[str, str]:
    """The API's problem as messages next to the fields it names."""
    kind = str(error.problem.get("type", ""))
    if kind.endswith("username-taken"):
        return {"username": "This username is taken. Choose another."}
    if kind.endswith("email-taken"):
        return {"email": "An account with this email exists. Sign in instead."}
    found = error.field_errors()
    messages = {
        "username": "Enter 3 to 150 letters, digits or underscores.",
        "email": "Enter an email address like name@example.com.",
        "password": "Enter a password of at least 8 characters.",
    }
    named = {name: messages.get(name, text) for name, text in found.items() if name in messages}
    if named:
        return named
    return {"form": error.message}


@router.post("/logout")
async def logout(api: ApiDep) -> RedirectResponse:
    await api.sign_out()
    api.session.say("You are signed out.", "info")
    return see_other("/")

"""The forms that give dates to a group or to one student (issue 26): a module's unlock
date in a course (on the module's page in the course: ``teach/gating.html``) and a gradable
post's due date (on the post's editor).

Each date is set by a form of its own (a group chosen among those that follow the course,
or a student by username, looked up in the staff directory) and removed by a button beside
it. A date the API refuses (a group the course does not follow, a student not enrolled: 422)
comes back on the same page with the problem next to the field and what was typed.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from syllabus_web.api import Api, ApiError
from syllabus_web.pages import ApiDep, pages_router, see_other
from syllabus_web.pages.teach import (
    DateForms,
    FormState,
    _gating_page,
    _moment,
    _post_editor,
    _post_values,
    _refused,
    _text,
    words,
)

router = pages_router()
JSON = dict[str, Any]

COLLECTIONS = ("groups", "users")
DATE_HELP = "Enter a date and time, like 2030-03-04 09:00 (UTC)."
WHAT = {"unlock_at": "date it opens", "due_at": "deadline"}


def _problem(error: ApiError, kind: str, target: str, field: str) -> dict[str, str]:
    """The API's refusal of a date, next to the field it is about."""
    if error.status == 422:
        fields = {str(e.get("field") or "") for e in error.errors if isinstance(e, dict)}
        if any(f.endswith(field) for f in fields):
            return {field: DATE_HELP}
        if kind == "groups":
            return {
                "group_id": "The course does not follow this group: follow it first "
                "(the course's Groups section)."
            }
        return {"username": f"{target} is not enrolled in this course."}
    if error.status == 404 and kind == "groups":
        return {"group_id": "That group does not exist any more."}
    return {"form": error.message}


async def _date_form(
    api: Api, form: FormData, kind: str, field: str
) -> tuple[FormState, str | None, Any]:
    """The form as typed, the target's id (None when it has a problem) and the moment."""
    target = _text(form, "group_id" if kind == "groups" else "username", 300).strip()
    raw = _text(form, field, 100)
    values = {("group_id" if kind == "groups" else "username"): target, field: raw}
    errors: dict[str, str] = {}
    moment = _moment(raw, field, errors)
    if field not in errors and moment is None:
        errors[field] = f"Enter the {WHAT[field]}."
    target_id: str | None = None
    if kind == "groups":
        try:
            target_id = str(uuid.UUID(target))
        except ValueError:
            errors["group_id"] = "Choose a group."
    elif not target:
        errors["username"] = "Enter the student's username."
    else:
        found = await api.directory([target.removeprefix("@")])
        match = [e for e in found if str(e["username"]).casefold() == target.casefold()]
        if match:
            target_id = str(match[0]["id"])
        else:
            errors["username"] = f"No account has the username {target}. Check the spelling."
    if field in errors and moment is None and raw.strip():
        errors[field] = DATE_HELP
    return FormState(values, errors), target_id, moment


def _forms(kind: str, state: FormState) -> DateForms:
    return DateForms(group=state) if kind == "groups" else DateForms(student=state)


async def _who(api: Api, kind: str, target_id: str, state: FormState) -> str:
    """Whom a date was given to, in words for the message."""
    if kind == "groups":
        try:
            return f"the group “{(await api.group(target_id))['name']}”"
        except ApiError:
            return "the group"
    return str(state.get("username") or "the student")


# ---------------------------------------------------------------- a module's unlock dates


@router.post("/teach/courses/{course_id}/modules/{module_id}/dates/{kind}", response_model=None)
async def set_unlock_date(
    request: Request, api: ApiDep, course_id: uuid.UUID, module_id: uuid.UUID, kind: str
) -> Response:
    if refused := _refused(request, api):
        return refused
    if kind not in COLLECTIONS:
        raise ApiError(404, "no such form")
    cid, mid = str(course_id), str(module_id)
    state, target_id, moment = await _date_form(api, await request.form(), kind, "unlock_at")
    if not state.errors and target_id is not None:
        try:
            await api.set_unlock_override(cid, mid, kind, target_id, moment)
        except ApiError as error:
            if error.status >= 500 or error.status == 401:
                raise
            state.errors = _problem(error, kind, state.get("username"), "unlock_at")
        else:
            who = await _who(api, kind, target_id, state)
            api.session.say(f"Unlock date set for {who}.", "info")
            return see_other(f"/teach/courses/{cid}/modules/{mid}#dates-heading")
    return await _gating_page(request, api, cid, mid, status_code=422, dates=_forms(kind, state))


@router.post(
    "/teach/courses/{course_id}/modules/{module_id}/dates/{kind}/{target_id}/remove",
    response_model=None,
)
async def remove_unlock_date(
    request: Request,
    api: ApiDep,
    course_id: uuid.UUID,
    module_id: uuid.UUID,
    kind: str,
    target_id: uuid.UUID,
) -> Response:
    if refused := _refused(request, api):
        return refused
    if kind not in COLLECTIONS:
        raise ApiError(404, "no such form")
    cid, mid = str(course_id), str(module_id)
    who = _text(await request.form(), "who", 300) or "them"
    try:
        await api.remove_unlock_override(cid, mid, kind, str(target_id))
        api.session.say(
            f"The unlock date for {who} is removed: the course's date applies to them.", "info"
        )
    except ApiError as error:
        if error.status >= 500 or error.status == 401:
            raise
        api.session.say(
            "That date was removed already." if error.status == 404 else words(error.message)
        )
    return see_other(f"/teach/courses/{cid}/modules/{mid}#dates-heading")


# ---------------------------------------------------------------- a post's due dates


async def _post_page(request: Request, api: Api, post_id: str, dates: DateForms) -> Response:
    post = await api.post(post_id)
    module = await api.module(str(post["module_id"]))
    values, questions = _post_values(post)
    return await _post_editor(
        request,
        api,
        module=module,
        post=post,
        state=FormState(values),
        questions=questions,
        status_code=422,
        dates=dates,
    )


@router.post("/teach/posts/{post_id}/dates/{kind}", response_model=None)
async def set_due_date(request: Request, api: ApiDep, post_id: uuid.UUID, kind: str) -> Response:
    if refused := _refused(request, api):
        return refused
    if kind not in COLLECTIONS:
        raise ApiError(404, "no such form")
    pid = str(post_id)
    state, target_id, moment = await _date_form(api, await request.form(), kind, "due_at")
    if not state.errors and target_id is not None:
        try:
            await api.set_due_override(pid, kind, target_id, moment)
        except ApiError as error:
            if error.status >= 500 or error.status == 401:
                raise
            state.errors = _problem(error, kind, state.get("username"), "due_at")
            if "username" in state.errors:
                state.errors["username"] = (
                    f"{state.get('username')} is not enrolled in a course that has this post."
                )
            if "group_id" in state.errors and error.status == 422:
                state.errors["group_id"] = (
                    "No course that has this post follows this group: follow it first."
                )
        else:
            who = await _who(api, kind, target_id, state)
            api.session.say(f"Due date set for {who}.", "info")
            return see_other(f"/teach/posts/{pid}#dates-heading")
    return await _post_page(request, api, pid, _forms(kind, state))


@router.post("/teach/posts/{post_id}/dates/{kind}/{target_id}/remove", response_model=None)
async def remove_due_date(
    request: Request, api: ApiDep, post_id: uuid.UUID, kind: str, target_id: uuid.UUID
) -> Response:
    if refused := _refused(request, api):
        return refused
    if kind not in COLLECTIONS:
        raise ApiError(404, "no such form")
    pid = str(post_id)
    who = _text(await request.form(), "who", 300) or "them"
    try:
        await api.remove_due_override(pid, kind, str(target_id))
        api.session.say(
            f"The due date for {who} is removed: the post's own date applies to them.", "info"
        )
    except ApiError as error:
        if error.status >= 500 or error.status == 401:
            raise
        api.session.say(
            "That date was removed already." if error.status == 404 else words(error.message)
        )
    return see_other(f"/teach/posts/{pid}#dates-heading")

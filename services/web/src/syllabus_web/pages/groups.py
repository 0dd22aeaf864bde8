"""Groups and cohorts (issue 26): an instructor's groups, their members, and the groups a
course follows.

``/teach/groups`` lists the groups a person may see (their own, those that follow a course
of theirs; admins every group) and creates one; a group's page lists its members a page at
a time, adds members by username (one or many pasted at once: the staff directory turns
usernames into ids, then one bulk call adds them; unknown usernames and people already in
the group are said, not fatal), removes a member, renames the group, and deletes it after a
confirmation. The course editor's **Groups** section follows and unfollows groups (its
routes are here; the section is rendered by ``teach.py``).

As everywhere in the web: every form POSTs, changes one thing through the API and redirects
(303), or renders the page again with the problem next to the field and what was typed
still there (422). The API decides who may do what (a group's creator and admins change
it; a student gets the 403 page before any call).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from syllabus_web.api import Api, ApiError
from syllabus_web.formatting import number
from syllabus_web.pages import ApiDep, pages_router, see_other
from syllabus_web.pages.grading import student_name
from syllabus_web.pages.teach import FormState, _refused, _status, _text, problems
from syllabus_web.templating import render

router = pages_router()
JSON = dict[str, Any]

GROUPS_PAGE = 50
MEMBERS_PAGE = 50
MAX_PASTED = 1_000  # the API's bulk limit, and what one form adds at once
MAX_NAME = 200
MAX_DESCRIPTION = 5_000

GROUP_FRIENDLY = {
    "name": "Enter a name of 1 to 200 characters.",
    "description": "Write a description of at most 5,000 characters.",
}
_SEPARATORS = re.compile(r"[\s,;]+")


def parse_usernames(text: str) -> list[str]:
    """Usernames as pasted: one per line, or separated by commas, semicolons or spaces
    (a leading ``@`` dropped), each once (ignoring case), in the order given."""
    seen: set[str] = set()
    names: list[str] = []
    for raw in _SEPARATORS.split(text):
        name = raw.strip().removeprefix("@")
        if not name or name.casefold() in seen:
            continue
        seen.add(name.casefold())
        names.append(name)
    return names


def listed(names: list[str], limit: int = 20) -> str:
    """``ada, bob and 3 more``: names in a sentence, not a page long."""
    shown = names[:limit]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {number(more)} more" if more else "")


def _group_problems(error: ApiError) -> dict[str, str]:
    if error.status == 409:
        return {
            "name": "A group with this name exists already (names ignore case). Choose another."
        }
    found = problems(error)
    return {k: GROUP_FRIENDLY.get(k, v) for k, v in found.items()}


def _may_change(api: Api, group: JSON) -> bool:
    """Only the group's creator and admins change a group (the API says so too)."""
    return api.session.role == "admin" or str(group.get("creator_id")) == api.session.user_id


# ---------------------------------------------------------------- the list


async def _groups_page(
    request: Request,
    api: Api,
    q: str | None,
    cursor: str | None,
    state: FormState | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    q = (q or "").strip()[:200] or None
    page = await api.groups(q, cursor, GROUPS_PAGE)
    query = {"q": q} if q else {}
    context = {
        "groups": page["items"],
        "q": q or "",
        "first_page": cursor is None,
        "first_url": f"/teach/groups?{urlencode(query)}" if query else "/teach/groups",
        "next_url": f"/teach/groups?{urlencode({**query, 'cursor': page['next_cursor']})}"
        if page.get("next_cursor")
        else None,
        "form": state or FormState(),
    }
    return render(request, "groups/list.html", context, status_code=status_code)


@router.get("/teach/groups", response_model=None)
async def groups_list(
    request: Request, api: ApiDep, q: str | None = None, cursor: str | None = None
) -> Response:
    if refused := _refused(request, api):
        return refused
    return await _groups_page(request, api, q, cursor)


def _group_form(form: Any) -> dict[str, str]:
    return {
        "name": _text(form, "name", MAX_NAME + 100).strip(),
        "description": _text(form, "description", MAX_DESCRIPTION + 100).strip(),
    }


def _group_errors(values: dict[str, str]) -> dict[str, str]:
    """What the form itself can say before asking (the API says the rest)."""
    errors: dict[str, str] = {}
    if not values["name"] or len(values["name"]) > MAX_NAME:
        errors["name"] = GROUP_FRIENDLY["name"]
    if len(values["description"]) > MAX_DESCRIPTION:
        errors["description"] = GROUP_FRIENDLY["description"]
    return errors


@router.post("/teach/groups", response_model=None)
async def create_group(request: Request, api: ApiDep) -> Response:
    if refused := _refused(request, api):
        return refused
    values = _group_form(await request.form())
    errors = _group_errors(values)
    if not errors:
        try:
            group = await api.create_group(values["name"], values["description"] or None)
        except ApiError as error:
            if error.status >= 500 or error.status == 401:
                raise
            errors = _group_problems(error)
            status_code = _status(error)
        else:
            api.session.say(f"Group “{group['name']}” created. Add its members next.", "info")
            return see_other(f"/teach/groups/{group['id']}")
    else:
        status_code = 422
    state = FormState(values, errors)
    return await _groups_page(request, api, None, None, state, status_code)


# ---------------------------------------------------------------- a group


async def _group_page(
    request: Request,
    api: Api,
    group_id: str,
    cursor: str | None = None,
    *,
    details: FormState | None = None,
    adding: FormState | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    group, page = await asyncio.gather(
        api.group(group_id), api.group_members(group_id, cursor, MEMBERS_PAGE)
    )
    members = [{**m, "name": student_name(m)} for m in page["items"]]
    here = f"/teach/groups/{group_id}"
    context = {
        "group": group,
        "members": members,
        "may_change": _may_change(api, group),
        "cursor": cursor or "",
        "first_page": cursor is None,
        "first_url": f"{here}#members-heading",
        "next_url": f"{here}?{urlencode({'cursor': page['next_cursor']})}#members-heading"
        if page.get("next_cursor")
        else None,
        "details": details
        or FormState({"name": group["name"], "description": group.get("description") or ""}),
        "adding": adding or FormState(),
        "max_pasted": MAX_PASTED,
    }
    return render(request, "groups/group.html", context, status_code=status_code)


@router.get("/teach/groups/{group_id}", response_model=None)
async def group_page(
    request: Request, api: ApiDep, group_id: uuid.UUID, cursor: str | None = None
) -> Response:
    if refused := _refused(request, api):
        return refused
    return await _group_page(request, api, str(group_id), cursor)


@router.post("/teach/groups/{group_id}", response_model=None)
async def save_group(request: Request, api: ApiDep, group_id: uuid.UUID) -> Response:
    if refused := _refused(request, api):
        return refused
    gid = str(group_id)
    values = _group_form(await request.form())
    errors = _group_errors(values)
    status_code = 422
    if not errors:
        try:
            await api.update_group(gid, values["name"], values["description"] or None)
        except ApiError as error:
            if error.status >= 500 or error.status in (401, 404):
                raise
            errors = _group_problems(error)
            status_code = _status(error)
        else:
            api.session.say("Group saved.", "info")
            return see_other(f"/teach/groups/{gid}")
    return await _group_page(
        request, api, gid, details=FormState(values, errors), status_code=status_code
    )


@router.post("/teach/groups/{group_id}/members", response_model=None)
async def add_members(request: Request, api: ApiDep, group_id: uuid.UUID) -> Response:
    """Usernames as pasted → the directory's ids → one bulk add; what happened to each
    name is said (added, already a member, no such account)."""
    if refused := _refused(request, api):
        return refused
    gid = str(group_id)
    raw = _text(await request.form(), "usernames", 200_000)
    names = parse_usernames(raw)
    errors: dict[str, str] = {}
    if not names:
        errors["usernames"] = "Enter at least one username."
    elif len(names) > MAX_PASTED:
        errors["usernames"] = (
            f"Paste at most {number(MAX_PASTED)} usernames at a time "
            f"(this was {number(len(names))})."
        )
    if errors:
        state = FormState({"usernames": raw}, errors)
        return await _group_page(request, api, gid, adding=state, status_code=422)
    try:
        found = await api.directory(names)
        by_name = {str(e["username"]).casefold(): e for e in found}
        people = [by_name[n.casefold()] for n in names if n.casefold() in by_name]
        unknown = [n for n in names if n.casefold() not in by_name]
        result = (
            await api.add_group_members(gid, [str(p["id"]) for p in people])
            if people
            else {"added": [], "already_members": [], "unknown_user_ids": []}
        )
    except ApiError as error:
        if error.status >= 500 or error.status in (401, 404):
            raise
        state = FormState({"usernames": raw}, {"usernames": error.message})
        return await _group_page(request, api, gid, adding=state, status_code=_status(error))
    username = {str(p["id"]): str(p["username"]) for p in people}
    added = [username[str(i)] for i in result["added"] if str(i) in username]
    already = [username[str(i)] for i in result["already_members"] if str(i) in username]
    # Accounts deleted between the look-up and the add: unknown now, as a typo is.
    unknown += [username[str(i)] for i in result["unknown_user_ids"] if str(i) in username]
    if added:
        count = "1 member" if len(added) == 1 else f"{number(len(added))} members"
        api.session.say(f"Added {count}: {listed(added)}.", "info")
    if already:
        verb = "was already a member" if len(already) == 1 else "were already members"
        api.session.say(f"{listed(already)} {verb}.", "info")
    if not unknown:
        return see_other(f"/teach/groups/{gid}#members-heading")
    # The names nobody has stay in the box, to correct and add again.
    state = FormState(
        {"usernames": "\n".join(unknown)},
        {
            "usernames": f"No account has the username{'' if len(unknown) == 1 else 's'} "
            f"{listed(unknown)}. Check the spelling and add "
            f"{'it' if len(unknown) == 1 else 'them'} again"
            + (": the others are done." if added or already else ".")
        },
    )
    return await _group_page(request, api, gid, adding=state, status_code=422)


@router.post("/teach/groups/{group_id}/members/{user_id}/remove", response_model=None)
async def remove_member(
    request: Request, api: ApiDep, group_id: uuid.UUID, user_id: uuid.UUID
) -> Response:
    if refused := _refused(request, api):
        return refused
    gid = str(group_id)
    who = _text(await request.form(), "name", 300) or "The member"
    try:
        await api.remove_group_member(gid, str(user_id))
        api.session.say(
            f"{who} is no longer in the group. Courses that follow it drop them unless they "
            "are enrolled another way; their progress and grades are kept.",
            "info",
        )
    except ApiError as error:
        if error.status >= 500 or error.status == 401:
            raise
        api.session.say(
            f"{who} is not in the group any more." if error.status == 404 else error.message
        )
    return see_other(f"/teach/groups/{gid}#members-heading")


@router.get("/teach/groups/{group_id}/delete", response_model=None)
async def confirm_delete(request: Request, api: ApiDep, group_id: uuid.UUID) -> Response:
    if refused := _refused(request, api):
        return refused
    group = await api.group(str(group_id))
    return render(request, "groups/delete.html", {"group": group})


@router.post("/teach/groups/{group_id}/delete", response_model=None)
async def delete_group(request: Request, api: ApiDep, group_id: uuid.UUID) -> Response:
    if refused := _refused(request, api):
        return refused
    gid = str(group_id)
    group = await api.group(gid)
    try:
        await api.delete_group(gid)
    except ApiError as error:
        if error.status >= 500 or error.status in (401, 404):
            raise
        api.session.say(error.message)
        return see_other(f"/teach/groups/{gid}")
    api.session.say(f"Group “{group['name']}” is deleted.", "info")
    return see_other("/teach/groups")


# ---------------------------------------------------------------- a course's groups


@router.post("/teach/courses/{course_id}/groups", response_model=None)
async def follow(request: Request, api: ApiDep, course_id: uuid.UUID) -> Response:
    """Follow a group: every member is enrolled (a draft course: when it is published)."""
    if refused := _refused(request, api):
        return refused
    cid = str(course_id)
    here = f"/teach/courses/{cid}#groups-heading"
    group_id = _text(await request.form(), "group_id", 100)
    try:
        uuid.UUID(group_id)
    except ValueError:
        api.session.say("Choose a group to follow.")
        return see_other(here)
    try:
        course, group = await asyncio.gather(api.course(cid), api.group(group_id))
        done = await api.follow_group(cid, group_id)
    except ApiError as error:
        if error.status >= 500 or error.status == 401:
            raise
        api.session.say(
            "That group does not exist any more." if error.status == 404 else error.message
        )
        return see_other(here)
    members = int(done.get("members") or 0)
    who = "1 member" if members == 1 else f"{number(members)} members"
    if course["status"] == "draft":
        then = "they are enrolled when you publish the course."
    else:
        then = f"{number(done.get('enrolled') or 0)} of them are enrolled now."
    api.session.say(
        f"This course follows “{group['name']}”: {who}; {then} "
        "People who join the group later are enrolled too.",
        "info",
    )
    return see_other(here)


@router.post("/teach/courses/{course_id}/groups/{group_id}/unfollow", response_model=None)
async def unfollow(
    request: Request, api: ApiDep, course_id: uuid.UUID, group_id: uuid.UUID
) -> Response:
    if refused := _refused(request, api):
        return refused
    cid = str(course_id)
    name = _text(await request.form(), "name", 300) or "The group"
    try:
        await api.unfollow_group(cid, str(group_id))
    except ApiError as error:
        if error.status >= 500 or error.status == 401:
            raise
        api.session.say(
            "This course does not follow that group any more."
            if error.status == 404
            else error.message
        )
        return see_other(f"/teach/courses/{cid}#groups-heading")
    api.session.say(
        f"This course no longer follows “{name}”. Its members who were enrolled only through "
        "it are dropped; their progress and grades are kept, and come back if they enroll "
        "again.",
        "info",
    )
    return see_other(f"/teach/courses/{cid}#groups-heading")

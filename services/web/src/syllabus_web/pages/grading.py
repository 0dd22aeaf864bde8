"""Running a course: its students (the roster), its grading queue and its gradebook.

For the course's owner and admins: the API answers 403 or 404 to anyone else, which
becomes that error page (a student gets the 403 page before any call). Each page is one
or two API calls and a render; the grading form POSTs, grades through the API and
redirects (303), or, when the API refuses, renders the page again with the problem next
to the field and what was typed still there (422), never a redirect that would lose it.

Sorting the roster: the API pages its roster by a cursor and has no sort, so a page here is
one API page of up to 100 students (the API's largest), sorted within itself. A course of
up to 100 students is one page, sorted whole; a larger one has pages, each sorted in
itself (and says so). Fetching every page to sort would make a page's cost grow with the
course, for the one view that is meant to be quick.

Live: the roster and the gradebook listen for ``roster`` events of their course, the
grading queue for ``submission`` (new work) and ``roster`` (a grade given elsewhere);
``static/live.js`` fetches the page's ``<main>`` again with the event's consistency token.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from syllabus_web.api import Api, ApiError
from syllabus_web.formatting import number
from syllabus_web.pages import ApiDep, login_url, pages_router, see_other
from syllabus_web.templating import render

router = pages_router()
JSON = dict[str, Any]
Page = HTMLResponse | RedirectResponse

ROSTER_PAGE = 100  # the API's largest page: sorting is within a page (module docstring)
QUEUE_PAGE = 20
GRADEBOOK_PAGE = 50

ENROLLMENT_STATUS = {"active": "In progress", "completed": "Completed", "dropped": "Left"}
STATUS_ORDER = {"active": 0, "completed": 1, "dropped": 2}
SORTS = {"name": "Student", "progress": "Progress", "status": "Status"}
VIEWS = {"waiting": "Waiting for a grade", "graded": "Graded"}
MAX_FEEDBACK = 20_000


def refused(request: Request, api: Api) -> Response | None:
    """A guest signs in first; a student gets a 403 page (no call made: the API would
    refuse every one of them anyway)."""
    if not api.session.signed_in:
        return see_other(login_url(request.url.path))
    if not api.session.staff:
        context = {
            "heading": "Only for the course's teachers",
            "message": "This page is for the course's instructor and for admins.",
            "retry": False,
        }
        return render(request, "errors/error.html", context, status_code=403)
    return None


def student_name(row: JSON) -> str:
    """How a student is named on these pages: display name and username, or what there is
    (both are null while the student's registration has not reached the service)."""
    username, display = row.get("username"), row.get("display_name")
    if username and display and display != username:
        return f"{display} ({username})"
    return str(username or display or "A new student")


def _course_links(course_id: str, here: str) -> list[JSON]:
    base = f"/teach/courses/{course_id}"
    return [
        {"url": f"{base}/students", "text": "Students", "current": here == "students"},
        {"url": f"{base}/grading", "text": "Grading", "current": here == "grading"},
        {"url": f"{base}/gradebook", "text": "Gradebook", "current": here == "gradebook"},
    ]


# ---------------------------------------------------------------- a group at a time


def group_param(raw: str | None) -> str | None:
    """The group a page shows (``?group=<id>``); anything else is every student."""
    try:
        return str(uuid.UUID(raw)) if raw else None
    except ValueError:
        return None


def group_filter(followed: list[JSON], group_id: str | None, all_url: str = "?") -> JSON:
    """The page's **Group** select: every student, or one group the course follows (a group
    asked for that the course no longer follows stays listed, so the page says what it
    shows)."""
    options = [{"value": "", "text": "All students", "selected": group_id is None}]
    options += [
        {
            "value": str(g["group_id"]),
            "text": str(g["name"]),
            "selected": str(g["group_id"]) == group_id,
        }
        for g in followed
    ]
    if group_id and not any(o["selected"] for o in options):
        options.append({"value": group_id, "text": "Another group", "selected": True})
    chosen = next((o["text"] for o in options if o["selected"] and o["value"]), None)
    return {"options": options, "group_id": group_id, "name": chosen, "all_url": all_url}


def _gone_group(api: Api, error: ApiError, here: str) -> Response:
    """A group filter the API does not know (deleted since): every student, said."""
    if error.status != 404:
        raise error
    api.session.say("That group does not exist any more: showing every student.")
    return see_other(here)


# ---------------------------------------------------------------- the roster


def sort_roster(rows: list[JSON], sort: str, descending: bool) -> list[JSON]:
    """The page's students in the order asked for (the name breaks ties)."""

    def name(row: JSON) -> tuple[str, str]:
        username = str(row.get("username") or "")
        return (str(row.get("display_name") or username).casefold(), username.casefold())

    if sort == "progress":
        ordered = sorted(rows, key=name)
        return sorted(ordered, key=lambda r: float(r["percent"]), reverse=descending)
    if sort == "status":
        ordered = sorted(rows, key=name)
        return sorted(ordered, key=lambda r: STATUS_ORDER.get(r["status"], 9), reverse=descending)
    return sorted(rows, key=name, reverse=descending)


@router.get("/teach/courses/{course_id}/students", response_model=None)
async def students(
    request: Request,
    api: ApiDep,
    course_id: uuid.UUID,
    sort: str = "name",
    order: str = "asc",
    cursor: str | None = None,
    group: str | None = None,
) -> Response:
    if (refusal := refused(request, api)) is not None:
        return refusal
    cid = str(course_id)
    sort = sort if sort in SORTS else "name"
    descending = order == "desc"
    group_id = group_param(group)
    try:
        course, followed, page = await asyncio.gather(
            api.course(cid),
            api.course_groups(cid, average=False),
            api.roster(cid, cursor, ROSTER_PAGE, group_id),
        )
    except ApiError as error:
        if group_id is None:
            raise
        return _gone_group(api, error, f"/teach/courses/{cid}/students")
    chosen = {"group": group_id} if group_id else {}
    rows = [
        {**row, "name": student_name(row), "status_words": ENROLLMENT_STATUS.get(row["status"])}
        for row in sort_roster(page["items"], sort, descending)
    ]

    def link(column: str) -> str:
        # The column sorted now toggles its direction; another starts ascending.
        flip = "desc" if column == sort and not descending else "asc"
        query = {"sort": column, "order": flip, **chosen, **({"cursor": cursor} if cursor else {})}
        return f"?{urlencode(query)}"

    columns = [
        {
            "key": key,
            "text": text,
            "url": link(key),
            "aria_sort": ("descending" if descending else "ascending") if key == sort else None,
        }
        for key, text in SORTS.items()
    ]
    query = {"sort": sort, "order": "desc" if descending else "asc", **chosen}
    context = {
        "course": course,
        "rows": rows,
        "filter": group_filter(
            followed, group_id, f"?{urlencode({'sort': sort, 'order': query['order']})}"
        ),
        "sort": sort,
        "order": "desc" if descending else "asc",
        "columns": columns,
        "sorted_by": SORTS[sort].lower(),
        "descending": descending,
        "first_page": cursor is None,
        "first_url": f"?{urlencode(query)}",
        "next_url": f"?{urlencode({**query, 'cursor': page['next_cursor']})}"
        if page.get("next_cursor")
        else None,
        "links": _course_links(cid, "students"),
        "live": f"roster:{cid}",
    }
    return render(request, "teach/students.html", context)


# ---------------------------------------------------------------- grading


def _points(raw: str, errors: dict[str, str]) -> float | None:
    """Points as typed (``7``, ``7.5`` or ``7,5``); the API checks the range."""
    text = raw.strip().replace(",", ".")
    if not text:
        errors["points"] = "Enter the points."
        return None
    try:
        value = float(text)
    except ValueError:
        errors["points"] = "Enter the points as a number, like 7 or 7.5."
        return None
    if value != value or value in (float("inf"), float("-inf")):
        errors["points"] = "Enter the points as a number, like 7 or 7.5."
        return None
    return value


def grade_problems(error: ApiError, max_points: str) -> dict[str, str]:
    """The API's refusal of a grade, next to the field it concerns (``form``: the rest)."""
    out_of = f" from 0 to {max_points}" if max_points else ""
    if error.status == 412:
        return {
            "form": "Someone else graded this work after you opened the page. Its grade "
            "now shows below your entry: check it, then save again."
        }
    if error.status == 404:
        return {"form": "This work is gone: the student left the course or was deleted."}
    if error.status == 403:
        return {"form": "You may not grade this work."}
    found: dict[str, str] = {}
    for item in error.errors:
        if not isinstance(item, dict):
            continue
        name = str(item.get("field") or "").split(".")[-1]
        if name == "score" and "points" not in found:
            found["points"] = f"Enter points{out_of}."
        elif name == "feedback" and "feedback" not in found:
            found["feedback"] = f"Write feedback of at most {number(MAX_FEEDBACK)} characters."
    return found or {"form": error.message}


def _queue_url(course_id: str, show: str, cursor: str | None) -> str:
    query = {"show": show} if show != "waiting" else {}
    if cursor:
        query["cursor"] = cursor
    return f"/teach/courses/{course_id}/grading" + (f"?{urlencode(query)}" if query else "")


async def _grading_page(
    request: Request,
    api: Api,
    course_id: str,
    show: str,
    cursor: str | None,
    *,
    failed: JSON | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The queue (``waiting``) or the graded work (``graded``), oldest first; ``failed``
    is a form the API refused: its submission's id, what was typed, and the problems."""
    status = "graded" if show == "graded" else "submitted"
    course, page = await asyncio.gather(
        api.course(course_id), api.course_submissions(course_id, status, cursor, QUEUE_PAGE)
    )
    items = []
    for item in page["items"]:
        typed = failed if failed and failed["id"] == str(item["id"]) else None
        score = "" if item.get("score") is None else number(item["score"]).replace(",", "")
        items.append(
            {
                **item,
                "name": student_name(item),
                "right": sum(1 for r in item.get("results") or [] if r.get("correct")),
                "points": typed["points"] if typed else score,
                "feedback_value": typed["feedback"] if typed else (item.get("feedback") or ""),
                "errors": typed["errors"] if typed else {},
                "typed": typed is not None,
            }
        )
    missing = failed is not None and all(i["id"] != failed["id"] for i in page["items"])
    context = {
        "course": course,
        "items": items,
        "show": "graded" if status == "graded" else "waiting",
        "views": [
            {"key": key, "text": text, "url": _queue_url(course_id, key, None)}
            for key, text in VIEWS.items()
        ],
        "cursor": cursor or "",
        "first_page": cursor is None,
        "first_url": _queue_url(course_id, show, None),
        "next_url": _queue_url(course_id, show, page["next_cursor"])
        if page.get("next_cursor")
        else None,
        "failed": failed,
        # A form refused for work no longer listed here (graded meanwhile, say): its
        # problem is said at the top, with what was typed, so nothing is lost.
        "missing": failed if missing else None,
        "links": _course_links(course_id, "grading"),
        "live": f"grading:{course_id}",
    }
    return render(request, "teach/grading.html", context, status_code=status_code)


@router.get("/teach/courses/{course_id}/grading", response_model=None)
async def grading(
    request: Request,
    api: ApiDep,
    course_id: uuid.UUID,
    show: str = "waiting",
    cursor: str | None = None,
) -> Response:
    if (refusal := refused(request, api)) is not None:
        return refusal
    return await _grading_page(request, api, str(course_id), show, cursor)


def _field(form: Any, name: str, limit: int) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


@router.post("/teach/courses/{course_id}/grading", response_model=None)
async def save_grade(request: Request, api: ApiDep, course_id: uuid.UUID) -> Response:
    if (refusal := refused(request, api)) is not None:
        return refusal
    cid = str(course_id)
    form = await request.form()
    show = "graded" if form.get("show") == "graded" else "waiting"
    cursor = _field(form, "cursor", 500) or None
    submission_id = _field(form, "submission_id", 100)
    try:
        uuid.UUID(submission_id)
    except ValueError:
        api.session.say("That form was not complete. Reload the page and try again.")
        return see_other(_queue_url(cid, show, cursor))
    raw_points = _field(form, "points", 100)
    feedback = _field(form, "feedback", MAX_FEEDBACK + 1)
    max_points = _field(form, "max_points", 20)
    version_text = _field(form, "version", 20)
    version = int(version_text) if version_text.isdigit() else None
    errors: dict[str, str] = {}
    points = _points(raw_points, errors)
    if len(feedback) > MAX_FEEDBACK:
        errors["feedback"] = f"Write feedback of at most {number(MAX_FEEDBACK)} characters."
    status_code = 422
    if not errors and points is not None:
        try:
            await api.grade(submission_id, points, feedback.strip() or None, version)
        except ApiError as error:
            if error.status >= 500 or error.status == 401:
                raise
            errors = grade_problems(error, max_points)
            status_code = error.status if error.status in (403, 404, 409, 412) else 422
        else:
            who = _field(form, "student", 300) or "the student"
            post = _field(form, "post", 300)
            out_of = f" / {max_points}" if max_points else ""
            api.session.say(
                f"Grade saved for {who}{f' on “{post}”' if post else ''}: "
                f"{number(points)}{out_of}.",
                "info",
            )
            return see_other(_queue_url(cid, show, cursor))
    failed = {
        "id": submission_id,
        "points": raw_points,
        "feedback": feedback,
        "errors": errors,
        "student": _field(form, "student", 300),
        "post": _field(form, "post", 300),
    }
    return await _grading_page(
        request, api, cid, show, cursor, failed=failed, status_code=status_code
    )


# ---------------------------------------------------------------- the gradebook


@router.get("/teach/courses/{course_id}/gradebook", response_model=None)
async def gradebook(
    request: Request,
    api: ApiDep,
    course_id: uuid.UUID,
    cursor: str | None = None,
    group: str | None = None,
) -> Response:
    if (refusal := refused(request, api)) is not None:
        return refusal
    cid = str(course_id)
    group_id = group_param(group)
    try:
        course, followed, page = await asyncio.gather(
            api.course(cid),
            api.course_groups(cid, average=False),
            api.gradebook(cid, cursor, GRADEBOOK_PAGE, group_id),
        )
    except ApiError as error:
        if group_id is None:
            raise
        return _gone_group(api, error, f"/teach/courses/{cid}/gradebook")
    chosen = {"group": group_id} if group_id else {}
    rows = [{**row, "name": student_name(row)} for row in page["items"]]
    context = {
        "course": course,
        "posts": page.get("posts") or [],
        "rows": rows,
        "filter": group_filter(followed, group_id),
        "first_page": cursor is None,
        "first_url": f"?{urlencode(chosen)}",
        "next_url": f"?{urlencode({**chosen, 'cursor': page['next_cursor']})}"
        if page.get("next_cursor")
        else None,
        "csv_url": f"/teach/courses/{cid}/gradebook.csv"
        + (f"?{urlencode(chosen)}" if chosen else ""),
        "grading_url": f"/teach/courses/{cid}/grading",
        "links": _course_links(cid, "gradebook"),
        "live": f"roster:{cid}",
    }
    return render(request, "teach/gradebook.html", context)


_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def csv_filename(course: JSON, group: JSON | None = None) -> str:
    """``grades-<slug>.csv`` (``grades-<slug>-<group>.csv`` for one group): only
    characters every browser and file system keep."""
    slug = _UNSAFE_IN_FILENAME.sub("-", str(course.get("slug") or course["id"])).strip("-.")
    name = f"grades-{slug[:100] or 'course'}"
    if group is not None:
        part = _UNSAFE_IN_FILENAME.sub("-", str(group.get("name") or "")).strip("-.").lower()
        name += f"-{part[:60] or 'group'}"
    return f"{name}.csv"


@router.get("/teach/courses/{course_id}/gradebook.csv", response_model=None)
async def gradebook_csv(
    request: Request, api: ApiDep, course_id: uuid.UUID, group: str | None = None
) -> Response:
    """The API's CSV, passed through as it streams in: never whole in the web's memory
    (``?group=``: that group's members only, as on the page)."""
    if (refusal := refused(request, api)) is not None:
        return refusal
    cid = str(course_id)
    group_id = group_param(group)
    course = await api.course(cid)
    named: JSON | None = None
    if group_id is not None:
        followed = await api.course_groups(cid, average=False)
        named = next((g for g in followed if str(g["group_id"]) == group_id), {"name": ""})
    try:
        upstream = await api.open_gradebook_csv(cid, group_id)
    except ApiError as error:
        if group_id is None:
            raise
        return _gone_group(api, error, f"/teach/courses/{cid}/gradebook")

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_bytes():
                yield chunk
        finally:
            await upstream.aclose()

    headers = {
        "Content-Disposition": f'attachment; filename="{csv_filename(course, named)}"',
        "Cache-Control": "no-store",
    }
    return StreamingResponse(relay(), media_type="text/csv; charset=utf-8", headers=headers)

"""What an author sees and does: /teach, a course's editor, a module's, a post's.

Instructors and admins build courses here from modules they own (a module can be in many
courses: the point of the library), and fill modules with posts. Every route calls the
API and renders, or changes one thing and redirects (303); nothing needs JavaScript
(``reorder.js`` adds drag and drop, ``teach.js`` shows only the fields a post's kind
uses). The API decides every rule; the web only turns forms into API bodies and the
API's problems back into words next to the fields, with the form filled as it was sent
(a form that failed answers 422 with the page, never a redirect that would lose it).

The quiz editor works without scripts too: "Add question", "Add choice" and "Remove …"
are submit buttons that render the form again with what was typed and one question or
choice more or less, without calling the API until "Save" or "Create post".
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from syllabus_web.api import Api, ApiError
from syllabus_web.formatting import parse_time
from syllabus_web.pages import ApiDep, login_url, pages_router, see_other
from syllabus_web.pages.overrides import followed_by, name_overrides
from syllabus_web.templating import render

router = pages_router()
JSON = dict[str, Any]
Page = HTMLResponse | RedirectResponse

COURSE_STATUSES = {"draft": "Drafts", "published": "Published", "archived": "Archived"}
STATUS_WORDS = {"draft": "Draft", "published": "Published", "archived": "Archived"}
KINDS = {
    "text": "Text",
    "video": "Video",
    "link": "Link",
    "assignment": "Assignment",
    "quiz": "Quiz",
}
GRADABLE = ("assignment", "quiz")
RULES = {
    "mark_done": "The student marks it as done",
    "view": "The student opens it",
    "submit": "The student hands it in",
    "min_score": "The student reaches a minimum score",
}
MAX_QUESTIONS = 200
MAX_CHOICES = 20
GROUP_CHOICES = 100  # groups offered to follow at once; a search finds the others


# ---------------------------------------------------------------- who may teach


def _refused(request: Request, api: Api) -> Response | None:
    """Teaching pages are for instructors and admins: a guest signs in first, a student
    gets a 403 page (the API would refuse every call anyway)."""
    if not api.session.signed_in:
        return see_other(login_url(request.url.path))
    if not api.session.staff:
        context = {
            "heading": "Only for instructors",
            "message": "Teaching pages are for instructors and admins. "
            "Ask an admin if you need to teach a course.",
            "retry": False,
        }
        return render(request, "errors/error.html", context, status_code=403)
    return None


# ---------------------------------------------------------------- forms and problems


@dataclass
class FormState:
    """What a form shows: the values as typed, and the problems next to their fields."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # field name (or "form") -> words

    def get(self, name: str, default: Any = "") -> Any:
        return self.values.get(name, default)


@dataclass
class DateForms:
    """The two forms that give a date to a group or to one student (a module's unlock
    date in a course, a post's due date): what was typed and the problems."""

    group: FormState = field(default_factory=FormState)
    student: FormState = field(default_factory=FormState)


def _text(form: FormData, name: str, limit: int = 200_000) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


# What each field's problem says, in words, whatever the API's wording was.
FRIENDLY = {
    "title": "Enter a title of 1 to 200 characters.",
    "url": "Enter a web address that starts with http:// or https://.",
    "max_points": "Enter the points as a whole number above 0.",
    "attempts": "Enter the attempts as a whole number, 1 or more.",
    "due": "Enter a date and time, like 2030-03-04 17:00 (UTC).",
    "duration": "Enter a length like 12:34 (minutes and seconds) or 754 (seconds).",
    "instructions": "Write the instructions for the assignment.",
    "questions": "Add at least one question.",
    "unlock_at": "Enter a date and time, like 2030-03-04 09:00 (UTC).",
}
QUESTION_FRIENDLY = {
    "prompt": "Write the question.",
    "choices": "Give each question at least 2 choices.",
    "answer": "Choose the right answer.",
    "choice": "Write the choice, or remove it.",
}
_UUID_IN_PARENS = re.compile(r" \([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\)")


def words(message: str) -> str:
    """An API message as a sentence for a person (ids dropped: the titles name things)."""
    text = _UUID_IN_PARENS.sub("", message.strip()).removeprefix("Value error, ")
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ")")) else text + "."


def post_field(path: str) -> str | None:
    """The form field a post problem names (``content.questions.0.choices.1`` → ``q0-c1``)."""
    parts = path.split(".")
    if parts and parts[0] in ("content", "completion"):
        parts = parts[1:]
    if not parts:
        return None
    simple = {
        "title": "title",
        "body": "body",
        "url": "url",
        "duration_seconds": "duration",
        "instructions": "instructions",
        "max_points": "max_points",
        "due_at": "due",
        "attempts": "attempts",
        "rule": "completion",
        "min_score": "min_score",
        "kind": "kind",
    }
    if parts[0] == "questions":
        if len(parts) == 1:
            return "questions"
        index = parts[1]
        if len(parts) == 2:
            return f"q{index}-prompt"
        leaf = parts[2]
        if leaf == "prompt":
            return f"q{index}-prompt"
        if leaf == "answer_index":
            return f"q{index}-answer"
        if leaf == "choices":
            return f"q{index}-c{parts[3]}" if len(parts) > 3 else f"q{index}-choices"
        return f"q{index}-prompt"
    return simple.get(parts[0])


def problems(error: ApiError, name_of: Any = lambda path: path) -> dict[str, str]:
    """The API's problem as messages next to the fields it names (``form``: the rest)."""
    found: dict[str, str] = {}
    for item in error.errors:
        if not isinstance(item, dict):
            continue
        name = name_of(str(item.get("field") or ""))
        if not name or name in found:
            continue
        found[name] = _friendly(name, str(item.get("msg") or ""))
    if not found:
        found["form"] = error.message
    return found


def _friendly(name: str, message: str) -> str:
    if name in FRIENDLY:
        return FRIENDLY[name]
    if match := re.fullmatch(r"q\d+-(prompt|choices|answer|c\d+)", name):
        kind = match.group(1)
        return QUESTION_FRIENDLY["choice" if kind.startswith("c") and kind != "choices" else kind]
    return words(message) or "Check this field."


def _whole(raw: str, name: str, errors: dict[str, str], *, required: bool) -> int | None:
    """A whole number typed in a form (the form's own reading; the API checks the rest)."""
    raw = raw.strip()
    if not raw:
        if required:
            errors[name] = FRIENDLY.get(name, "Enter a whole number.")
        return None
    try:
        return int(raw)
    except ValueError:
        errors[name] = FRIENDLY.get(name, "Enter a whole number.")
        return None


def _moment(raw: str, name: str, errors: dict[str, str]) -> dt.datetime | None:
    """A date and time from a ``datetime-local`` field, read as UTC (the page says so)."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        moment = dt.datetime.fromisoformat(raw.replace(" ", "T", 1))
    except ValueError:
        errors[name] = FRIENDLY.get(name, "Enter a date and time.")
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def local_input(value: str | None) -> str:
    """An API time as a ``datetime-local`` field's value (UTC, to the minute)."""
    moment = parse_time(value)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _seconds(raw: str, errors: dict[str, str]) -> int | None:
    """``12:34``, ``1:02:03`` or ``754`` as seconds."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        parts = [int(p) for p in raw.split(":")]
    except ValueError:
        errors["duration"] = FRIENDLY["duration"]
        return None
    if len(parts) > 3 or any(p < 0 for p in parts):
        errors["duration"] = FRIENDLY["duration"]
        return None
    total = 0
    for part in parts:
        total = total * 60 + part
    return total


def duration_input(seconds: int | None) -> str:
    if not seconds:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


# ---------------------------------------------------------------- /teach


@router.get("/teach", response_model=None)
async def teach_home(request: Request, api: ApiDep) -> Response:
    if refused := _refused(request, api):
        return refused
    courses, library = await asyncio.gather(api.authored_courses(), api.module_library())
    calls = asyncio.Semaphore(8)  # a large library: a few calls at a time, not hundreds

    async def used_in(module: JSON) -> list[JSON]:
        async with calls:
            return await api.module_courses(module["id"])

    usage = await asyncio.gather(*(used_in(m) for m in library))
    by_status: dict[str, list[JSON]] = {status: [] for status in COURSE_STATUSES}
    for course in courses:
        by_status.setdefault(course["status"], []).append(course)
    context = {
        "by_status": by_status,
        "statuses": COURSE_STATUSES,
        "library": list(zip(library, usage, strict=True)),
    }
    return render(request, "teach/home.html", context)


# ---------------------------------------------------------------- courses

VISIBILITIES = {"public": "Public: in the catalog", "private": "Private: not in the catalog"}
COURSE_TEXTS = ("title", "description", "learning_objectives", "prerequisites")


def _course_values(course: Mapping[str, Any]) -> dict[str, Any]:
    values = {name: course.get(name) or "" for name in COURSE_TEXTS}
    values["visibility"] = course.get("visibility") or "public"
    values["sequential"] = bool(course.get("sequential"))
    return values


def _course_form(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: _text(form, name) for name in COURSE_TEXTS}
    values["title"] = values["title"].strip()
    visibility = _text(form, "visibility")
    values["visibility"] = visibility if visibility in VISIBILITIES else "public"
    values["sequential"] = form.get("sequential") == "on"
    return values


@router.get("/teach/courses/new", response_model=None)
async def new_course(request: Request, api: ApiDep) -> Response:
    if refused := _refused(request, api):
        return refused
    state = FormState(_course_values({}))
    return render(request, "teach/course_new.html", {"form": state, "visibilities": VISIBILITIES})


@router.post("/teach/courses/new", response_model=None)
async def create_course(request: Request, api: ApiDep) -> Response:
    if refused := _refused(request, api):
        return refused
    values = _course_form(await request.form())
    try:
        course = await api.create_course(values)
    except ApiError as error:
        state = FormState(values, problems(error))
        context = {"form": state, "visibilities": VISIBILITIES}
        return render(request, "teach/course_new.html", context, status_code=_status(error))
    api.session.say("Course created as a draft. Add its modules, then publish it.", "info")
    return see_other(f"/teach/courses/{course['id']}")


def _status(error: ApiError) -> int:
    """The status of a page that shows a refused form again."""
    return error.status if 400 <= error.status < 500 and error.status != 404 else 422


@dataclass
class CourseForms:
    details: FormState | None = None
    create_module: FormState = field(default_factory=FormState)


async def _course_editor(
    request: Request,
    api: Api,
    course_id: str,
    *,
    q: str | None = None,
    gq: str | None = None,
    forms: CourseForms | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    forms = forms or CourseForms()
    q = (q or "").strip()[:200] or None
    gq = (gq or "").strip()[:200] or None
    course, outline, library, followed, groups, overrides = await asyncio.gather(
        api.course(course_id),
        api.course_modules(course_id),
        api.module_library(q),
        api.course_groups(course_id),
        api.groups(gq, None, GROUP_CHOICES),
        api.course_overrides(course_id),
    )
    attached = {str(m["module_id"]) for m in outline}
    titles = {str(m["module_id"]): m["title"] for m in outline}
    names = {str(g["group_id"]): str(g["name"]) for g in followed}
    named = await name_overrides(api, overrides, names, [course_id])
    dates: dict[str, list[JSON]] = {}
    for override in named:
        dates.setdefault(str(override["module_id"]), []).append(override)
    rows = [
        {
            "entry": entry,
            "requires": [titles.get(str(p), "a module") for p in entry.get("prerequisites") or []],
            "dates": dates.get(str(entry["module_id"]), []),
        }
        for entry in outline
    ]
    context = {
        "course": course,
        "status_word": STATUS_WORDS.get(course["status"], course["status"]),
        "rows": rows,
        "choices": [m for m in library if str(m["id"]) not in attached],
        "q": q or "",
        "followed": followed,
        "group_choices": [g for g in groups["items"] if str(g["id"]) not in names],
        "more_groups": bool(groups.get("next_cursor")),
        "gq": gq or "",
        "details": forms.details or FormState(_course_values(course)),
        "create_module": forms.create_module,
        "visibilities": VISIBILITIES,
    }
    return render(request, "teach/course.html", context, status_code=status_code)


@router.get("/teach/courses/{course_id}", response_model=None)
async def course_editor(
    request: Request,
    api: ApiDep,
    course_id: uuid.UUID,
    q: str | None = None,
    gq: str | None = None,
) -> Response:
    if refused := _refused(request, api):
        return refused
    return await _course_editor(request, api, str(course_id), q=q, gq=gq)


@router.post("/teach/courses/{course_id}", response_model=None)
async def save_course(request: Request, api: ApiDep, course_id: uuid.UUID) -> Response:
    if refused := _refused(request, api):
        return refused
    values = _course_form(await request.form())
    try:
        await api.update_course(str(course_id), values)
    except ApiError as error:
        if error.status == 404:
            raise
        forms = CourseForms(details=FormState(values, problems(error)))
        return await _course_editor(
            request, api, str(course_id), forms=forms, status_code=_status(error)
        )
    api.session.say("Course saved.", "info")
    return see_other(f"/teach/courses/{course_id}")


STATUS_DONE = {
    "published": "Published: students can find the course and enroll.",
    "archived": "Archived: the course is out of the catalog. Publish it again to reopen it.",
}


def _refused_move(current: str, wanted: str, error: ApiError) -> str:
    """A status move the API refused (409), in words."""
    if current == "draft" and wanted == "archived":
        return (
            "A draft course cannot be archived: nobody could see it yet. "
            "Publish it first, or keep it as a draft."
        )
    if current == wanted:
        return f"This course is already {STATUS_WORDS.get(current, current).lower()}."
    return (
        f"This course cannot go from {STATUS_WORDS.get(current, current).lower()} to "
        f"{STATUS_WORDS.get(wanted, wanted).lower()}. {words(error.detail)}"
    ).strip()


@router.post("/teach/courses/{course_id}/status", response_model=None)
async def change_status(request: Request, api: ApiDep, course_id: uuid.UUID) -> Response:
    if refused := _refused(request, api):
        return refused
    form = await request.form()
    wanted = _text(form, "status")
    here = f"/teach/courses/{course_id}"
    if wanted not in STATUS_DONE:
        api.session.say("Choose Publish or Archive.")
        return see_other(here)
    try:
        await api.update_course(str(course_id), {"status": wanted})
    except ApiError as error:
        if error.status == 409:
            current = (await api.course(str(course_id)))["status"]
            api.session.say(_refused_move(current, wanted, error))
        else:
            api.session.say(error.message)
        return see_other(here)
    api.session.say(STATUS_DONE[wanted], "info")
    return see_other(here)


@router.post("/teach/courses/{course_id}/attach", response_model=None)
async def attach(request: Request, api: ApiDep, course_id: uuid.UUID) -> Response:
    if refused := _refused(request, api):
        return refused
    form = await request.form()
    here = f"/teach/courses/{course_id}"
    module_id = _text(form, "module_id")
    try:
        uuid.UUID(module_id)
    except ValueError:
        api.session.say("Choose a module to attach.")
        return see_other(here + "#attach-heading")
    try:
        outline = await api.attach_module(str(course_id), module_id)
    except ApiError as error:
        if error.status == 409:
            api.session.say("That module is in the outline already.")
        elif error.status == 404:
            api.session.say("That module does not exist any more, or it is not yours.")
        else:
            api.session.say(error.message)
        return see_other(here + "#attach-heading")
    title = next((m["title"] for m in outline if str(m["module_id"]) == module_id), "The module")
    api.session.say(f"“{title}” is now at the end of the outline.", "info")
    return see_other(here + "#outline-heading")


@router.post("/teach/courses/{course_id}/create-module", response_model=None)
async def create_in_place(request: Request, api: ApiDep, course_id: uuid.UUID) -> Response:
    if refused := _refused(request, api):
        return refused
    form = await request.form()
    values = {"title": _text(form, "title").strip()}
    try:
        module = await api.create_module(values)
        await api.attach_module(str(course_id), module["id"])
    except ApiError as error:
        if error.status == 404:
            raise
        forms = CourseForms(create_module=FormState(values, problems(error)))
        return await _course_editor(
            request, api, str(course_id), forms=forms, status_code=_status(error)
        )
    api.session.say(f"“{module['title']}” is created and at the end of the outline.", "info")
    return see_other(f"/teach/courses/{course_id}#outline-heading")


@router.post("/teach/courses/{course_id}/modules/{module_id}/move", response_model=None)
async def move_module(
    request: Request, api: ApiDep, course_id: uuid.UUID, module_id: uuid.UUID
) -> Response:
    if refused := _refused(request, api):
        return refused
    position = _whole(_text(await request.form(), "position"), "position", {}, required=True)
    if position is not None:
        try:
            await api.change_course_module(str(course_id), str(module_id), position=position)
        except ApiError as error:
            api.session.say(_order_message(error))
    return see_other(f"/teach/courses/{course_id}#outline-heading")


def _order_message(error: ApiError) -> str:
    if error.status in (409, 422):
        return "The order changed meanwhile: this is the order as it is now. Try again."
    return error.message


@router.post("/teach/courses/{course_id}/modules/{module_id}/detach", response_model=None)
async def detach(
    request: Request, api: ApiDep, course_id: uuid.UUID, module_id: uuid.UUID
) -> Response:
    if refused := _refused(request, api):
        return refused
    try:
        await api.detach_module(str(course_id), str(module_id))
        api.session.say(
            "Module detached from this course. It stays in your library and in other courses.",
            "info",
        )
    except ApiError as error:
        api.session.say(
            "That module is not in this course any more." if error.status == 404 else error.message
        )
    return see_other(f"/teach/courses/{course_id}#outline-heading")


@router.post("/teach/courses/{course_id}/order", response_model=None)
async def order_modules(request: Request, api: ApiDep, course_id: uuid.UUID) -> Response:
    """The whole order at once (drag and drop posts it)."""
    if refused := _refused(request, api):
        return refused
    ids = [str(v) for v in (await request.form()).getlist("order")][:1000]
    try:
        await api.reorder_course_modules(str(course_id), ids)
    except (ApiError, ValueError) as error:
        api.session.say(
            _order_message(error) if isinstance(error, ApiError) else "That order is not valid."
        )
    return see_other(f"/teach/courses/{course_id}")


# ---------------------------------------------------------------- a module in a course


async def _gating_page(
    request: Request,
    api: Api,
    course_id: str,
    module_id: str,
    state: FormState | None = None,
    status_code: int = 200,
    dates: DateForms | None = None,
) -> HTMLResponse:
    course, outline, followed, overrides = await asyncio.gather(
        api.course(course_id),
        api.course_modules(course_id),
        api.course_groups(course_id, average=False),
        api.module_overrides(course_id, module_id),
    )
    entry = next((m for m in outline if str(m["module_id"]) == module_id), None)
    if entry is None:
        raise ApiError(404, "not attached")
    groups = {str(g["group_id"]): str(g["name"]) for g in followed}
    named = await name_overrides(api, overrides, groups, [course_id])
    if state is None:
        state = FormState(
            {
                "prerequisites": [str(p) for p in entry.get("prerequisites") or []],
                "unlock_at": local_input(entry.get("unlock_at")),
            }
        )
    others = [m for m in outline if str(m["module_id"]) != module_id]
    context = {
        "course": course,
        "entry": entry,
        "others": others,
        "form": state,
        "dates": named,
        "groups": groups,
        "date_forms": dates or DateForms(),
        "dates_url": f"/teach/courses/{course_id}/modules/{module_id}/dates",
    }
    return render(request, "teach/gating.html", context, status_code=status_code)


@router.get("/teach/courses/{course_id}/modules/{module_id}", response_model=None)
async def gating(
    request: Request, api: ApiDep, course_id: uuid.UUID, module_id: uuid.UUID
) -> Response:
    if refused := _refused(request, api):
        return refused
    return await _gating_page(request, api, str(course_id), str(module_id))


@router.post("/teach/courses/{course_id}/modules/{module_id}", response_model=None)
async def save_gating(
    request: Request, api: ApiDep, course_id: uuid.UUID, module_id: uuid.UUID
) -> Response:
    if refused := _refused(request, api):
        return refused
    form = await request.form()
    chosen = [str(v) for v in form.getlist("prerequisites")][:1000]
    raw_unlock = _text(form, "unlock_at", 100)
    values: dict[str, Any] = {"prerequisites": chosen, "unlock_at": raw_unlock}
    errors: dict[str, str] = {}
    unlock_at = _moment(raw_unlock, "unlock_at", errors)
    if not errors:
        try:
            await api.change_course_module(
                str(course_id), str(module_id), prerequisites=chosen, unlock_at=unlock_at
            )
        except ValueError:
            errors["prerequisites"] = "Choose among the modules listed."
        except ApiError as error:
            if error.status == 404:
                raise
            errors = problems(error)
    if errors:
        return await _gating_page(
            request, api, str(course_id), str(module_id), FormState(values, errors), 422
        )
    api.session.say("Prerequisites and unlock date saved.", "info")
    return see_other(f"/teach/courses/{course_id}#outline-heading")


# ---------------------------------------------------------------- modules


def _module_form(form: FormData) -> dict[str, Any]:
    return {"title": _text(form, "title").strip(), "description": _text(form, "description")}


@router.get("/teach/modules/new", response_model=None)
async def new_module(request: Request, api: ApiDep) -> Response:
    if refused := _refused(request, api):
        return refused
    return render(request, "teach/module_new.html", {"form": FormState()})


@router.post("/teach/modules/new", response_model=None)
async def create_module(request: Request, api: ApiDep) -> Response:
    if refused := _refused(request, api):
        return refused
    values = _module_form(await request.form())
    try:
        module = await api.create_module(values)
    except ApiError as error:
        state = FormState(values, problems(error))
        return render(request, "teach/module_new.html", {"form": state}, status_code=422)
    api.session.say("Module created. Add its posts, then attach it to a course.", "info")
    return see_other(f"/teach/modules/{module['id']}")


@dataclass
class ModuleForms:
    details: FormState | None = None
    new_post: FormState = field(default_factory=lambda: FormState({"kind": "text"}))


async def _module_editor(
    request: Request,
    api: Api,
    module_id: str,
    forms: ModuleForms | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    forms = forms or ModuleForms()
    module, used_in, posts = await asyncio.gather(
        api.module(module_id), api.module_courses(module_id), api.module_posts(module_id)
    )
    context = {
        "module": module,
        "used_in": used_in,
        "posts": posts,
        "details": forms.details
        or FormState({k: module.get(k) or "" for k in ("title", "description")}),
        "new_post": forms.new_post,
        "kinds": KINDS,
        "status_words": STATUS_WORDS,
    }
    return render(request, "teach/module.html", context, status_code=status_code)


@router.get("/teach/modules/{module_id}", response_model=None)
async def module_editor(request: Request, api: ApiDep, module_id: uuid.UUID) -> Response:
    if refused := _refused(request, api):
        return refused
    return await _module_editor(request, api, str(module_id))


@router.post("/teach/modules/{module_id}", response_model=None)
async def save_module(request: Request, api: ApiDep, module_id: uuid.UUID) -> Response:
    if refused := _refused(request, api):
        return refused
    values = _module_form(await request.form())
    try:
        await api.update_module(str(module_id), values)
    except ApiError as error:
        if error.status == 404:
            raise
        forms = ModuleForms(details=FormState(values, problems(error)))
        return await _module_editor(request, api, str(module_id), forms, _status(error))
    api.session.say("Module saved: every course that uses it shows the change.", "info")
    return see_other(f"/teach/modules/{module_id}")


@router.post("/teach/modules/{module_id}/order", response_model=None)
async def order_posts(request: Request, api: ApiDep, module_id: uuid.UUID) -> Response:
    """The whole order of the module's posts at once (drag and drop posts it)."""
    if refused := _refused(request, api):
        return refused
    ids = [str(v) for v in (await request.form()).getlist("order")][:1000]
    try:
        await api.reorder_posts(str(module_id), ids)
    except (ApiError, ValueError) as error:
        api.session.say(
            _order_message(error) if isinstance(error, ApiError) else "That order is not valid."
        )
    return see_other(f"/teach/modules/{module_id}")


# ---------------------------------------------------------------- posts

POST_TEXTS = (
    "title",
    "kind",
    "body",
    "url",
    "duration",
    "instructions",
    "max_points",
    "due",
    "attempts",
    "completion",
    "min_score",
)


def _post_values(post: Mapping[str, Any]) -> tuple[dict[str, Any], list[JSON]]:
    """A post as the editor's fields (and its quiz questions)."""
    content = post["content"]
    completion = post.get("completion") or {}
    min_score = completion.get("min_score")
    values = {
        "title": post["title"],
        "kind": content["kind"],
        "body": content.get("body") or "",
        "url": content.get("url") or "",
        "duration": duration_input(content.get("duration_seconds")),
        "instructions": content.get("instructions") or "",
        "max_points": str(content["max_points"]) if content.get("max_points") else "",
        "due": local_input(content.get("due_at")),
        "attempts": "" if content.get("attempts") is None else str(content["attempts"]),
        "completion": completion.get("rule") or "",
        "min_score": "" if min_score is None else f"{float(min_score):g}",
    }
    questions = [
        {
            "prompt": q.get("prompt") or "",
            "choices": list(q.get("choices") or []),
            "answer": "" if q.get("answer_index") is None else str(q["answer_index"]),
        }
        for q in content.get("questions") or []
    ]
    return values, questions


def _blank_question() -> JSON:
    return {"prompt": "", "choices": ["", ""], "answer": ""}


def _posted_values(form: FormData) -> tuple[dict[str, Any], list[JSON] | None]:
    """The post form as sent; questions None when the form had no quiz editor."""
    values: dict[str, Any] = {name: _text(form, name) for name in POST_TEXTS}
    values["title"] = values["title"].strip()
    if values["kind"] not in KINDS:
        values["kind"] = "text"
    if form.get("questions") is None:
        return values, None
    count = _whole(_text(form, "questions"), "questions", {}, required=False) or 0
    questions: list[JSON] = []
    for i in range(max(0, min(count, MAX_QUESTIONS))):
        choices = _whole(_text(form, f"q{i}-choices"), "choices", {}, required=False) or 0
        questions.append(
            {
                "prompt": _text(form, f"q{i}-prompt"),
                "choices": [_text(form, f"q{i}-c{j}") for j in range(min(choices, MAX_CHOICES))],
                "answer": _text(form, f"q{i}-answer"),
            }
        )
    return values, questions


def quiz_action(action: str, questions: list[JSON]) -> tuple[list[JSON], str | None]:
    """Apply an editor button (add/remove a question or a choice) to the typed questions;
    returns them and the id of the field to focus next (None: not an editor button)."""
    if action == "add-question":
        if len(questions) < MAX_QUESTIONS:
            questions.append(_blank_question())
        return questions, f"q{len(questions) - 1}-prompt"
    if match := re.fullmatch(r"remove-question-(\d+)", action):
        i = int(match.group(1))
        if i < len(questions):
            questions.pop(i)
        return questions, "add-question"
    if match := re.fullmatch(r"add-choice-(\d+)", action):
        i = int(match.group(1))
        if i < len(questions) and len(questions[i]["choices"]) < MAX_CHOICES:
            questions[i]["choices"].append("")
            return questions, f"q{i}-c{len(questions[i]['choices']) - 1}"
        return questions, f"q{i}-prompt"
    if match := re.fullmatch(r"remove-choice-(\d+)-(\d+)", action):
        i, j = int(match.group(1)), int(match.group(2))
        if i < len(questions) and j < len(questions[i]["choices"]):
            question = questions[i]
            question["choices"].pop(j)
            answer = question["answer"]
            if answer.isdigit():
                if int(answer) == j:
                    question["answer"] = ""
                elif int(answer) > j:
                    question["answer"] = str(int(answer) - 1)
        return questions, f"q{i}-prompt"
    return questions, None


def post_body(
    values: Mapping[str, Any], questions: list[JSON] | None, *, with_completion: bool
) -> tuple[JSON, dict[str, str]]:
    """The API body for a post form (``title``, ``content``, maybe ``completion``), and the
    fields the form itself could not read (a number that is not one, a date that is not)."""
    errors: dict[str, str] = {}
    kind = values["kind"]
    content: JSON = {"kind": kind}
    if kind == "text":
        content["body"] = values["body"]
    elif kind in ("video", "link"):
        content["url"] = values["url"].strip()
        if kind == "video" and (seconds := _seconds(values["duration"], errors)) is not None:
            content["duration_seconds"] = seconds
    else:
        if kind == "assignment":
            content["instructions"] = values["instructions"]
        else:
            content["questions"] = [
                {
                    "prompt": q["prompt"],
                    "choices": list(q["choices"]),
                    "answer_index": int(q["answer"]) if str(q["answer"]).isdigit() else None,
                }
                for q in questions or []
            ]
        content["max_points"] = _whole(values["max_points"], "max_points", errors, required=True)
        due = _moment(values["due"], "due", errors)
        content["due_at"] = due.isoformat() if due else None
        attempts = _whole(values["attempts"], "attempts", errors, required=False)
        if attempts is not None or kind == "assignment":
            content["attempts"] = attempts
    body: JSON = {"title": values["title"], "content": content}
    rule = values.get("completion") or ""
    if with_completion and rule in RULES:
        completion: JSON = {"rule": rule}
        if rule == "min_score":
            raw = str(values.get("min_score") or "").strip()
            try:
                completion["min_score"] = float(raw)
            except ValueError:
                errors["min_score"] = "Enter the minimum score as a number, like 7 or 7.5."
        body["completion"] = completion
    return body, errors


async def _post_editor(
    request: Request,
    api: Api,
    *,
    module: JSON,
    post: JSON | None,
    state: FormState,
    questions: list[JSON],
    preview: bool = False,
    focus: str | None = None,
    status_code: int = 200,
    dates: DateForms | None = None,
) -> HTMLResponse:
    kind = state.values["kind"]
    rules = {k: v for k, v in RULES.items() if kind in GRADABLE or k in ("mark_done", "view")}
    named: list[JSON] = []
    groups: dict[str, str] = {}
    if post is not None and post["content"]["kind"] in GRADABLE:
        # Due dates per group and per student: the groups that follow a course using the
        # module (the ones a date can be given to) name them.
        used_in, overrides = await asyncio.gather(
            api.module_courses(str(module["id"])), api.post_overrides(str(post["id"]))
        )
        course_ids = [str(c["course_id"]) for c in used_in]
        groups = await followed_by(api, course_ids)
        named = await name_overrides(api, overrides, groups, course_ids)
    context = {
        "module": module,
        "post": post,
        "form": state,
        "kind": kind,
        "kind_word": KINDS[kind],
        "questions": questions,
        "preview": preview,
        "focus": focus,
        "rules": rules,
        "gradable": kind in GRADABLE,
        "status_words": STATUS_WORDS,
        "dates": named,
        "groups": groups,
        "date_forms": dates or DateForms(),
        "dates_url": f"/teach/posts/{post['id']}/dates" if post else None,
    }
    return render(request, "teach/post.html", context, status_code=status_code)


@router.post("/teach/modules/{module_id}/posts", response_model=None)
async def create_post(request: Request, api: ApiDep, module_id: uuid.UUID) -> Response:
    """The New post form (on the module's page), and the full editor of a post not yet
    created (a quiz needs its questions before it exists)."""
    if refused := _refused(request, api):
        return refused
    form = await request.form()
    values, questions = _posted_values(form)
    action = _text(form, "action", 100) or "create"
    mid = str(module_id)
    from_editor = questions is not None
    if values["kind"] == "quiz" and questions is None:
        # From the module's page: the quiz's questions come next, in the full editor.
        module = await api.module(mid)
        api.session.say("Now write the questions and choose each right answer.", "info")
        state = FormState(values)
        state.values["completion"] = state.values["completion"] or "submit"
        return await _post_editor(
            request,
            api,
            module=module,
            post=None,
            state=state,
            questions=[_blank_question()],
            focus="q0-prompt",
        )
    if from_editor and action != "create":
        module = await api.module(mid)
        questions, focus = quiz_action(action, questions or [])
        return await _post_editor(
            request,
            api,
            module=module,
            post=None,
            state=FormState(values),
            questions=questions or [],
            preview=action == "preview",
            focus=focus,
        )
    body, errors = post_body(values, questions, with_completion=from_editor)
    if not errors:
        try:
            await api.create_post(mid, body)
        except ApiError as error:
            if error.status == 404:
                raise
            errors = problems(error, post_field)
    if errors:
        state = FormState(values, errors)
        if from_editor:
            module = await api.module(mid)
            return await _post_editor(
                request, api, module=module, post=None, state=state,
                questions=questions or [], status_code=422,
            )  # fmt: skip
        return await _module_editor(request, api, mid, ModuleForms(new_post=state), 422)
    api.session.say(
        f"“{values['title']}” is created as a draft: publish it when it is ready.", "info"
    )
    return see_other(f"/teach/modules/{mid}#posts-heading")


@router.get("/teach/posts/{post_id}", response_model=None)
async def post_editor(request: Request, api: ApiDep, post_id: uuid.UUID) -> Response:
    if refused := _refused(request, api):
        return refused
    post = await api.post(str(post_id))
    module = await api.module(str(post["module_id"]))
    values, questions = _post_values(post)
    return await _post_editor(
        request, api, module=module, post=post, state=FormState(values), questions=questions
    )


@router.post("/teach/posts/{post_id}", response_model=None)
async def save_post(request: Request, api: ApiDep, post_id: uuid.UUID) -> Response:
    if refused := _refused(request, api):
        return refused
    form = await request.form()
    post = await api.post(str(post_id))
    module = await api.module(str(post["module_id"]))
    values, questions = _posted_values(form)
    values["kind"] = post["content"]["kind"]  # a post keeps its kind
    action = _text(form, "action", 100) or "save"
    if action != "save":
        questions, focus = quiz_action(action, questions or [])
        return await _post_editor(
            request,
            api,
            module=module,
            post=post,
            state=FormState(values),
            questions=questions or [],
            preview=action == "preview",
            focus=focus,
        )
    body, errors = post_body(values, questions, with_completion=True)
    if not errors:
        try:
            await api.update_post(str(post_id), body)
        except ApiError as error:
            if error.status == 404:
                raise
            errors = problems(error, post_field)
    if errors:
        return await _post_editor(
            request,
            api,
            module=module,
            post=post,
            state=FormState(values, errors),
            questions=questions or [],
            status_code=422,
        )
    api.session.say("Post saved.", "info")
    return see_other(f"/teach/posts/{post_id}")


@router.post("/teach/posts/{post_id}/status", response_model=None)
async def post_status(request: Request, api: ApiDep, post_id: uuid.UUID) -> Response:
    if refused := _refused(request, api):
        return refused
    form = await request.form()
    wanted = "published" if _text(form, "status") == "published" else "draft"
    back = _back(_text(form, "back", 300), post_id)
    try:
        post = await api.update_post(str(post_id), {"status": wanted})
        said = "is published: students see it" if wanted == "published" else "is a draft again"
        api.session.say(f"“{post['title']}” {said}.", "info")
    except ApiError as error:
        if error.status == 404:
            raise
        api.session.say(error.message)
    return see_other(back)


def _back(target: str, post_id: uuid.UUID) -> str:
    """Where a post's small form returns: a teaching page, else the post's editor."""
    if target.startswith("/teach/") and not target.startswith("//"):
        return target
    return f"/teach/posts/{post_id}"


@router.post("/teach/posts/{post_id}/move", response_model=None)
async def move_post(request: Request, api: ApiDep, post_id: uuid.UUID) -> Response:
    if refused := _refused(request, api):
        return refused
    form = await request.form()
    position = _whole(_text(form, "position"), "position", {}, required=True)
    back = _back(_text(form, "back", 300), post_id)
    if position is not None:
        try:
            await api.update_post(str(post_id), {"position": position})
        except ApiError as error:
            if error.status == 404:
                raise
            api.session.say(_order_message(error))
    return see_other(back)


@router.get("/teach/posts/{post_id}/delete", response_model=None)
async def confirm_delete_post(request: Request, api: ApiDep, post_id: uuid.UUID) -> Response:
    if refused := _refused(request, api):
        return refused
    post = await api.post(str(post_id))
    module_id = str(post["module_id"])
    module, used_in = await asyncio.gather(api.module(module_id), api.module_courses(module_id))
    context = {"post": post, "module": module, "used_in": used_in}
    return render(request, "teach/post_delete.html", context)


@router.post("/teach/posts/{post_id}/delete", response_model=None)
async def delete_post(request: Request, api: ApiDep, post_id: uuid.UUID) -> Response:
    if refused := _refused(request, api):
        return refused
    post = await api.post(str(post_id))
    await api.delete_post(str(post_id))
    api.session.say(f"“{post['title']}” is deleted.", "info")
    return see_other(f"/teach/modules/{post['module_id']}#posts-heading")

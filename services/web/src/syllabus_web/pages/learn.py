"""What a learner sees and does: My courses, the catalog, a course, a post, grades.

Each route calls the API (in parallel where it needs several answers) and renders; each
form POSTs, changes one thing through the API and redirects (303) to the page that shows
it, so everything works without JavaScript. The only logic here is presentation: which
words describe a state, which posts come before and after, why a post is locked.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from syllabus_web.api import Api, ApiError
from syllabus_web.formatting import number, parse_time
from syllabus_web.pages import ApiDep, login_url, pages_router, see_other
from syllabus_web.templating import render

router = pages_router()
JSON = dict[str, Any]

MODULE_STATES = {
    "locked": "Locked",
    "unlocked": "Not started",
    "started": "In progress",
    "completed": "Completed",
}
KINDS = {
    "text": "Text",
    "video": "Video",
    "link": "Link",
    "assignment": "Assignment",
    "quiz": "Quiz",
}
GRADABLE = ("assignment", "quiz")
GRADE_STATUS = {"not_submitted": "Not submitted", "submitted": "Submitted", "graded": "Graded"}
ENROLLMENT_STATUS = {"active": "In progress", "completed": "Completed", "dropped": "Left"}


# ---------------------------------------------------------------- My courses, catalog


@router.get("/")
async def home(request: Request, api: ApiDep) -> HTMLResponse:
    if not api.session.signed_in:
        return await _catalog(request, api, q=None, cursor=None, home=True)
    mine, groups = await asyncio.gather(api.my_enrollments(), api.my_groups())
    enrollments = [e for e in mine if e["status"] != "dropped"]
    courses, progress = await asyncio.gather(
        asyncio.gather(*(_course_or_none(api, e["course_id"]) for e in enrollments)),
        asyncio.gather(*(api.progress(e["course_id"]) for e in enrollments)),
    )
    names = {str(g["id"]): str(g["name"]) for g in groups}
    rows = [
        {
            "enrollment": enrollment,
            "course": course,
            "status": ENROLLMENT_STATUS.get(enrollment["status"], enrollment["status"]),
            "percent": (doc or enrollment)["percent"],
            "continue_url": _continue_url(enrollment["course_id"], doc),
            "through": through_groups(enrollment, names),
        }
        for enrollment, course, doc in zip(enrollments, courses, progress, strict=True)
        if course is not None
    ]
    context = {"rows": rows, "groups": groups, "live": "home"}
    return render(request, "learn/my_courses.html", context)


def through_groups(enrollment: JSON, names: dict[str, str]) -> list[str]:
    """The names of the groups an enrollment comes through (its ``group`` sources)."""
    return [
        names.get(str(source.get("group_id")), "a group")
        for source in enrollment.get("sources") or []
        if source.get("kind") == "group"
    ]


async def _course_or_none(api: Api, course_id: str) -> JSON | None:
    try:
        return await api.course(course_id)
    except ApiError as error:
        if error.status == 404:  # archived or hidden since: not shown
            return None
        raise


def _continue_url(course_id: str, doc: JSON | None) -> str:
    if doc and doc.get("next_post_id"):
        return f"/courses/{course_id}/posts/{doc['next_post_id']}"
    return f"/courses/{course_id}"


@router.get("/courses")
async def catalog(
    request: Request, api: ApiDep, q: str | None = None, cursor: str | None = None
) -> HTMLResponse:
    return await _catalog(request, api, q=q, cursor=cursor, home=False)


async def _catalog(
    request: Request, api: Api, *, q: str | None, cursor: str | None, home: bool
) -> HTMLResponse:
    q = (q or "").strip()[:200] or None
    page = await api.courses(q, cursor)
    context = {
        "courses": page["items"],
        "next_cursor": page.get("next_cursor"),
        "q": q or "",
        "first_page": cursor is None,
        "home": home,
    }
    return render(request, "learn/catalog.html", context)


# ---------------------------------------------------------------- a course


@dataclass
class PostRow:
    """A post in the outline, as the learner sees it."""

    post: JSON
    url: str
    locked: bool
    why_locked: list[JSON] = field(default_factory=list)  # [{"text", "at"?}]
    score: str | None = None


@dataclass
class ModuleRow:
    module: JSON
    state: str
    posts: list[PostRow]
    why_locked: list[JSON] = field(default_factory=list)


def _lock_reasons(locks: list[JSON], titles: dict[str, str]) -> list[JSON]:
    """Each lock in words: what to finish first, or when it opens."""
    reasons: list[JSON] = []
    for lock in locks:
        if lock.get("reason") == "prerequisite":
            title = titles.get(str(lock.get("module_id")), "an earlier module")
            reasons.append({"text": f"Finish the module “{title}” first.", "at": None})
        elif lock.get("reason") == "unlock_at":
            reasons.append({"text": "Opens ", "at": lock.get("at")})
        elif lock.get("reason") == "sequential":
            title = titles.get(str(lock.get("post_id")), "the post before it")
            reasons.append(
                {"text": f"Complete “{title}” first: this course goes in order.", "at": None}
            )
    return reasons


def outline(course_id: str, doc: JSON, grades: JSON | None) -> list[ModuleRow]:
    """The progress document as rows: modules in course order, their posts, and why
    whatever is locked is locked."""
    titles = {str(m["module_id"]): m["title"] for m in doc["modules"]}
    titles |= {str(p["post_id"]): p["title"] for m in doc["modules"] for p in m["posts"]}
    kept = {str(g["post_id"]): g for g in (grades or {}).get("posts", [])}
    rows: list[ModuleRow] = []
    first_open: str | None = None  # the first post not completed so far, in course order
    for module in doc["modules"]:
        module_locks = [lock for lock in module["locks"] if lock.get("reason") != "sequential"]
        module_reasons = _lock_reasons(module_locks, titles)
        posts: list[PostRow] = []
        for post in module["posts"]:
            post_id = str(post["post_id"])
            reasons: list[JSON] = []
            if post["locked"]:
                reasons = list(module_reasons)
                if not reasons and first_open is not None:
                    reasons = _lock_reasons(
                        [{"reason": "sequential", "post_id": first_open}], titles
                    )
            grade = kept.get(post_id)
            score = None
            if grade is not None and grade.get("kept_score") is not None:
                score = f"{number(grade['kept_score'])} / {number(grade['max_points'])}"
            posts.append(
                PostRow(
                    post=post,
                    url=f"/courses/{course_id}/posts/{post_id}",
                    locked=bool(post["locked"]),
                    why_locked=reasons,
                    score=score,
                )
            )
            if not post["completed"] and first_open is None:
                first_open = post_id
        rows.append(
            ModuleRow(
                module=module,
                state=MODULE_STATES.get(module["state"], module["state"]),
                posts=posts,
                why_locked=module_reasons,
            )
        )
    return rows


def _has_gradable(doc: JSON) -> bool:
    return any(p["kind"] in GRADABLE for m in doc["modules"] for p in m["posts"])


@router.get("/courses/{course_id}")
async def course_page(request: Request, api: ApiDep, course_id: uuid.UUID) -> HTMLResponse:
    cid = str(course_id)
    if api.session.signed_in:
        course, doc = await asyncio.gather(api.course(cid), api.progress(cid))
    else:
        course, doc = await api.course(cid), None
    enrolled = doc is not None and doc.get("status") != "dropped"
    grades = None
    if enrolled and doc is not None and _has_gradable(doc):
        grades = await _grades_or_none(api, cid)
    modules = [] if enrolled else await api.course_modules(cid)
    context = {
        "course": course,
        "doc": doc,
        "enrolled": enrolled,
        "outline": outline(cid, doc, grades) if enrolled and doc is not None else [],
        "modules": modules,
        "continue_url": _continue_url(cid, doc) if enrolled else None,
        "live": f"course:{cid}",
        "status_words": ENROLLMENT_STATUS,
    }
    return render(request, "learn/course.html", context)


async def _grades_or_none(api: Api, course_id: str) -> JSON | None:
    try:
        return await api.grades(course_id)
    except ApiError as error:
        if error.status in (403, 404, 409):
            return None
        raise


@router.post("/courses/{course_id}/enroll", response_model=None)
async def enroll(request: Request, api: ApiDep, course_id: uuid.UUID) -> RedirectResponse:
    if not api.session.signed_in:
        return see_other(login_url(f"/courses/{course_id}"))
    try:
        await api.enroll(str(course_id))
        api.session.say("You are enrolled. Start with the first post.", "info")
    except ApiError as error:
        api.session.say(_enroll_message(error))
    return see_other(f"/courses/{course_id}")


def _enroll_message(error: ApiError) -> str:
    if error.status == 403:
        return "Only students can enroll in courses."
    if error.status == 409 and "already" in error.detail.lower():
        return "You are already enrolled in this course."
    return error.message


@router.post("/courses/{course_id}/leave", response_model=None)
async def leave(request: Request, api: ApiDep, course_id: uuid.UUID) -> RedirectResponse:
    try:
        await api.leave(str(course_id))
        api.session.say("You left the course. Your progress is kept if you come back.", "info")
    except ApiError as error:
        if error.status == 409 and error.problem.get("group_ids"):
            api.session.say(await _held_message(api, error.problem["group_ids"]))
        else:
            api.session.say(error.message)
    return see_other(f"/courses/{course_id}")


async def _held_message(api: Api, group_ids: list[Any]) -> str:
    """Why a student cannot leave a course their groups enroll them in, in words."""
    try:
        names = {str(g["id"]): str(g["name"]) for g in await api.my_groups()}
    except ApiError:
        names = {}
    found = [f"“{names[str(g)]}”" for g in group_ids if str(g) in names]
    if not found:
        which = "one of your groups"
    elif len(found) == 1:
        which = f"your group {found[0]}"
    else:
        which = "your groups " + ", ".join(found[:-1]) + f" and {found[-1]}"
    return (
        f"You are in this course through {which}, so you cannot leave it yourself. "
        "You leave it when you leave the group or when the course stops following it; "
        "ask your teacher."
    )


# ---------------------------------------------------------------- a post


def neighbours(doc: JSON | None, post_id: str) -> tuple[JSON | None, JSON | None]:
    """The posts before and after ``post_id`` in course order (from the progress
    document, which lists the published posts the learner sees)."""
    if doc is None:
        return None, None
    ordered = [p for m in doc["modules"] for p in m["posts"]]
    ids = [str(p["post_id"]) for p in ordered]
    if post_id not in ids:
        return None, None
    at = ids.index(post_id)
    before = ordered[at - 1] if at > 0 else None
    after = ordered[at + 1] if at + 1 < len(ordered) else None
    return before, after


def _find(doc: JSON | None, post_id: str) -> tuple[JSON | None, JSON | None]:
    """The post's entry in the progress document, and its module's."""
    for module in (doc or {}).get("modules", []):
        for post in module["posts"]:
            if str(post["post_id"]) == post_id:
                return module, post
    return None, None


@router.get("/courses/{course_id}/posts/{post_id}", response_model=None)
async def post_page(
    request: Request, api: ApiDep, course_id: uuid.UUID, post_id: uuid.UUID
) -> HTMLResponse | RedirectResponse:
    cid, pid = str(course_id), str(post_id)
    if not api.session.signed_in:
        return see_other(login_url(request.url.path))
    course, doc = await asyncio.gather(api.course(cid), api.progress(cid))
    enrolled = doc is not None and doc.get("status") != "dropped"
    module, entry = _find(doc, pid)
    # Read the post after the progress document: opening it counts as a view. The learner's
    # own attempts at a quiz or an assignment are read beside it (the document says its
    # kind), not after it; the post's failure, if any, is the one shown.
    fetched: list[JSON] | None = None
    grades: JSON | None = None
    if enrolled and entry is not None and entry.get("kind") in GRADABLE:
        # The student's own due date (theirs, their group's or the post's) is in their
        # grades document, read beside the post too.
        read, mine, book = await asyncio.gather(
            api.post(pid), api.my_submissions(pid), _grades_or_none(api, cid),
            return_exceptions=True,
        )  # fmt: skip
        if isinstance(read, BaseException):
            raise read
        if isinstance(mine, BaseException):
            raise mine
        if isinstance(book, BaseException):
            raise book
        post, fetched, grades = read, mine, book
    else:
        post = await api.post(pid)
    kind = post["content"]["kind"]
    submissions: list[JSON] = []
    if kind in GRADABLE and enrolled:
        submissions = fetched if fetched is not None else await api.my_submissions(pid)
    before, after = neighbours(doc, pid)
    titles: dict[str, str] = {}
    locked_because: list[JSON] = []
    if doc is not None and entry is not None and entry["locked"]:
        rows = outline(cid, doc, None)
        row = next(p for m in rows for p in m.posts if str(p.post["post_id"]) == pid)
        locked_because = row.why_locked
    attempts = post["content"].get("attempts")
    default_due = post["content"].get("due_at")
    own = next((g for g in (grades or {}).get("posts", []) if str(g["post_id"]) == pid), None)
    due_at = own.get("due_at") if own is not None else default_due
    context = {
        "due_at": due_at,
        # Said when the student's date is not the post's (theirs or their group's).
        "own_due": own is not None and _moment_of(due_at) != _moment_of(default_due),
        "course": course,
        "post": post,
        "kind": kind,
        "kind_word": KINDS.get(kind, kind),
        "entry": entry,
        "module": module,
        "enrolled": enrolled,
        "done": bool(entry and entry["completed"]),
        "rule": (post.get("completion") or {}).get("rule") or (entry or {}).get("rule"),
        "locked_because": locked_because,
        "before": before,
        "after": after,
        "course_url": f"/courses/{cid}",
        "post_url": f"/courses/{cid}/posts/{pid}",
        "submissions": submissions,
        "latest": submissions[0] if submissions else None,
        "attempts_left": None if attempts is None else max(0, int(attempts) - len(submissions)),
        "titles": titles,
        "live": f"post:{cid}:{pid}",
    }
    return render(request, "learn/post.html", context)


@router.post("/courses/{course_id}/posts/{post_id}/done", response_model=None)
async def mark_done(
    request: Request, api: ApiDep, course_id: uuid.UUID, post_id: uuid.UUID
) -> RedirectResponse:
    form = await request.form()
    done = form.get("done") == "true"
    try:
        await api.mark_done(str(post_id), done)
    except ApiError as error:
        api.session.say(_completion_message(error))
    return see_other(f"/courses/{course_id}/posts/{post_id}")


def _completion_message(error: ApiError) -> str:
    if error.status == 403 and error.problem.get("locks"):
        return "This post is locked: it cannot be marked as done yet."
    if error.status == 403:
        return "Enroll in the course to mark posts as done."
    return error.message


@router.post("/courses/{course_id}/posts/{post_id}/submissions", response_model=None)
async def submit(
    request: Request, api: ApiDep, course_id: uuid.UUID, post_id: uuid.UUID
) -> RedirectResponse:
    form = await request.form()
    here = f"/courses/{course_id}/posts/{post_id}"
    kind = form.get("kind")
    body: JSON
    if kind == "quiz":
        count = _int(form.get("questions"), 0)
        body = {"answers": [_int(form.get(f"answer-{i}"), None) for i in range(min(count, 500))]}
    else:
        text = str(form.get("body") or "").strip()
        if not text:
            api.session.say("Write your answer before submitting.")
            return see_other(here + "#answer")
        body = {"body": text}
    try:
        await api.submit(str(post_id), body)
        api.session.say(
            "Your answers are in." if kind == "quiz" else "Your work is handed in.", "info"
        )
    except ApiError as error:
        api.session.say(_submission_message(error))
    return see_other(here + "#result" if kind == "quiz" else here + "#submissions")


def _moment_of(value: Any) -> Any:
    return parse_time(value) if value else None


def _int(value: Any, default: int | None) -> Any:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _submission_message(error: ApiError) -> str:
    if error.status == 409 and "attempt" in error.detail.lower():
        return "You have no attempts left for this one."
    if error.status == 403:
        return "Enroll in the course (and wait for the post to open) to hand in work."
    if error.status == 422:
        return "Answer every question, then submit again."
    return error.message


# ---------------------------------------------------------------- grades


@router.get("/courses/{course_id}/grades", response_model=None)
async def grades_page(
    request: Request, api: ApiDep, course_id: uuid.UUID
) -> HTMLResponse | RedirectResponse:
    cid = str(course_id)
    if not api.session.signed_in:
        return see_other(login_url(request.url.path))
    course, grades = await asyncio.gather(api.course(cid), _grades_or_none(api, cid))
    context = {
        "course": course,
        "grades": grades,
        "kinds": KINDS,
        "statuses": GRADE_STATUS,
        "live": f"course:{cid}",
    }
    return render(request, "learn/grades.html", context)

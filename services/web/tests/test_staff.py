"""Running a course and admin (issue 25, part B) with a fake API under the web's client:
the roster sorted within its page, the grading queue's forms (the API's problems next to
the fields, what was typed kept, the version sent as If-Match), the gradebook's table and
its CSV streamed through, the users' admin, and who may see each. In a real browser
against the stack: tests-e2e/test_web_staff.py."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from syllabus_web.main import create_app
from syllabus_web.pages.grading import csv_filename, sort_roster, student_name
from syllabus_web.settings import Settings

SECRET = "a-test-secret-that-is-long-enough-to-use"
NOW = "2025-03-01T12:00:00+00:00"
ME = str(uuid.uuid4())
COURSE = str(uuid.uuid4())
API = "/api/v1"

Reply = Callable[[httpx.Request], httpx.Response]


def answer(body: Any, status: int = 200, **headers: str) -> Reply:
    return lambda r: httpx.Response(status, json=body, headers=headers)


def problem(status: int, detail: str = "no", **extra: Any) -> Reply:
    body = {"type": "about:blank", "title": "Problem", "status": status, "detail": detail}
    return lambda r: httpx.Response(
        status, json={**body, **extra}, headers={"content-type": "application/problem+json"}
    )


# The lists that issue 26 added to the pages (a course's groups, the person's groups, dates
# per group or student): empty unless a test says otherwise.
EMPTY_LISTS = [
    (re.compile(r"/api/v1/courses/[^/]+/groups"), []),
    (re.compile(r"/api/v1/courses/[^/]+/overrides"), []),
    (re.compile(r"/api/v1/courses/[^/]+/modules/[^/]+/overrides"), []),
    (re.compile(r"/api/v1/posts/[^/]+/overrides"), []),
    (re.compile(r"/api/v1/modules/[^/]+/courses"), {"items": [], "next_cursor": None}),
    (re.compile(r"/api/v1/(me/)?groups"), {"items": [], "next_cursor": None}),
]


def empty_list(request: httpx.Request) -> httpx.Response | None:
    if request.method != "GET":
        return None
    for pattern, body in EMPTY_LISTS:
        if pattern.fullmatch(request.url.path):
            return httpx.Response(200, json=body)
    return None


class FakeApi:
    """The public API as the web sees it: answers by (method, path), records calls."""

    def __init__(self) -> None:
        self.calls: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], Reply] = {}

    def on(self, method: str, path: str, reply: Reply) -> None:
        self.routes[(method, API + path)] = reply

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        reply = self.routes.get((request.method, request.url.path))
        if reply is None:
            return empty_list(request) or problem(404)(request)
        return reply(request)

    def called(self, method: str, path: str) -> list[httpx.Request]:
        return [c for c in self.calls if c.method == method and c.url.path == API + path]


def person(role: str, username: str = "grace", user_id: str = ME) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": username,
        "role": role,
        "email": f"{username}@example.com",
        "display_name": username.title(),
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
    }


def course() -> dict[str, Any]:
    return {
        "id": COURSE,
        "slug": "databases-from-scratch",
        "title": "Databases <from> scratch",
        "description": "",
        "learning_objectives": None,
        "prerequisites": None,
        "status": "published",
        "visibility": "public",
        "sequential": False,
        "creator_id": ME,
        "enrollment_count": 2,
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
    }


def submission(**extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "post_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "kind": "assignment",
        "attempt": 1,
        "status": "submitted",
        "submitted_at": NOW,
        "late": True,
        "score": None,
        "max_points": 10,
        "feedback": None,
        "graded_at": None,
        "grader_id": None,
        "version": 3,
        "body": "My **answer** <script>alert(1)</script>",
        "links": ["https://example.com/work", "javascript:alert(1)"],
        "username": "ada",
        "display_name": "Ada Lovelace",
        "post_title": "Write a query",
        **extra,
    }


def sign_in(api: FakeApi, role: str) -> TestClient:
    api.on("GET", "/users/me", answer(person(role)))
    api.on("GET", "/me/enrollments", answer({"items": [], "next_cursor": None}))
    api.on("GET", "/me/groups", answer({"items": [], "next_cursor": None}))
    grant = {
        "access_token": "a",
        "token_type": "bearer",
        "expires_in": 900,
        "refresh_token": "r",
        "refresh_expires_in": 86_400,
    }
    api.on("POST", "/auth/token", answer(grant))
    settings = Settings(session_secret=SECRET, api_url="http://gateway.test")
    client = TestClient(create_app(settings, transport=httpx.MockTransport(api)))
    client.__enter__()
    r = client.post(
        "/login",
        data={"username": "grace", "password": "pw", "csrf_token": csrf(client.get("/login").text)},
    )
    assert r.status_code == 200, r.text
    return client


def csrf(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


@pytest.fixture
def api() -> FakeApi:
    fake = FakeApi()
    fake.on("GET", f"/courses/{COURSE}", answer(course()))
    return fake


@pytest.fixture
def teacher(api: FakeApi) -> Iterator[TestClient]:
    client = sign_in(api, "instructor")
    yield client
    client.__exit__(None, None, None)


@pytest.fixture
def admin(api: FakeApi) -> Iterator[TestClient]:
    client = sign_in(api, "admin")
    yield client
    client.__exit__(None, None, None)


# ---------------------------------------------------------------- who may see them


@pytest.mark.parametrize(
    "path",
    [
        f"/teach/courses/{COURSE}/students",
        f"/teach/courses/{COURSE}/grading",
        f"/teach/courses/{COURSE}/gradebook",
        f"/teach/courses/{COURSE}/gradebook.csv",
        "/admin/users",
        f"/admin/users/{ME}/delete",
    ],
)
def test_a_student_is_refused_without_a_call(api: FakeApi, path: str) -> None:
    client = sign_in(api, "student")
    before = len(api.calls)
    r = client.get(path)
    assert r.status_code == 403
    assert 'role="alert"' in r.text
    assert len(api.calls) == before
    assert 'href="/admin/users"' not in r.text and 'href="/teach"' not in r.text
    client.__exit__(None, None, None)


def test_an_instructor_is_no_admin(teacher: TestClient) -> None:
    r = teacher.get("/admin/users")
    assert r.status_code == 403
    assert 'href="/admin/users"' not in teacher.get("/teach").text


def test_another_instructors_course_is_the_apis_answer(teacher: TestClient, api: FakeApi) -> None:
    api.on("GET", f"/courses/{COURSE}/progress", problem(403, "only the owner"))
    r = teacher.get(f"/teach/courses/{COURSE}/students")
    assert r.status_code == 403
    api.on("GET", f"/courses/{COURSE}/progress", problem(404))
    assert teacher.get(f"/teach/courses/{COURSE}/students").status_code == 404


# ---------------------------------------------------------------- the roster


def roster_row(username: str | None, display: str | None, percent: float, status: str) -> Any:
    return {
        "user_id": str(uuid.uuid4()),
        "username": username,
        "display_name": display,
        "status": status,
        "completed_posts": int(percent // 10),
        "total_posts": 10,
        "percent": percent,
    }


def test_the_roster_sorts_within_its_page() -> None:
    rows = [
        roster_row("bo", "Bo", 50, "active"),
        roster_row("al", "Al", 100, "completed"),
        roster_row("cy", "cy", 0, "dropped"),
    ]
    assert [r["username"] for r in sort_roster(rows, "name", False)] == ["al", "bo", "cy"]
    assert [r["username"] for r in sort_roster(rows, "name", True)] == ["cy", "bo", "al"]
    assert [r["username"] for r in sort_roster(rows, "progress", True)] == ["al", "bo", "cy"]
    assert [r["username"] for r in sort_roster(rows, "status", False)] == ["bo", "al", "cy"]
    assert student_name({"username": "ada", "display_name": "Ada L."}) == "Ada L. (ada)"
    assert student_name({"username": "ada", "display_name": "ada"}) == "ada"
    assert student_name({"username": None, "display_name": None}) == "A new student"


def test_the_roster_page(teacher: TestClient, api: FakeApi) -> None:
    rows = [
        roster_row("bo", "Bo <b>", 50, "active"),
        roster_row("al", "Al", 100, "completed"),
    ]
    api.on("GET", f"/courses/{COURSE}/progress", answer({"items": rows, "next_cursor": "c2"}))
    r = teacher.get(f"/teach/courses/{COURSE}/students?sort=progress&order=desc")
    assert r.status_code == 200
    [call] = api.called("GET", f"/courses/{COURSE}/progress")
    assert call.url.params["limit"] == "100"
    html = r.text
    assert html.index("Al") < html.index("Bo &lt;b&gt;")  # by progress, descending; escaped
    assert 'aria-sort="descending"' in html
    assert 'aria-label="Progress of Bo &lt;b&gt; (bo)"' in html and 'value="50"' in html
    assert "Completed" in html and "In progress" in html
    assert 'data-live="roster:' + COURSE + '"' in html
    assert "cursor=c2" in html  # the API's cursor, for the next page
    assert "sorting orders the students of this page" in html


# ---------------------------------------------------------------- grading


def test_the_queue_shows_the_work_beside_its_form(teacher: TestClient, api: FakeApi) -> None:
    work = submission()
    api.on("GET", f"/courses/{COURSE}/submissions", answer({"items": [work], "next_cursor": None}))
    r = teacher.get(f"/teach/courses/{COURSE}/grading")
    assert r.status_code == 200
    [call] = api.called("GET", f"/courses/{COURSE}/submissions")
    assert call.url.params["status"] == "submitted"
    html = r.text
    assert "<strong>answer</strong>" in html and "<script>alert" not in html
    assert 'href="https://example.com/work"' in html and 'href="javascript:' not in html
    assert "Late" in html
    assert f'aria-labelledby="heading-{work["id"]}"' in html
    assert f'<label for="points-{work["id"]}">Points</label>' in html
    assert f'<label for="feedback-{work["id"]}">Feedback</label>' in html
    assert "Save grade" in html
    assert 'data-live="grading:' + COURSE + '"' in html
    teacher.get(f"/teach/courses/{COURSE}/grading?show=graded")
    assert api.called("GET", f"/courses/{COURSE}/submissions")[-1].url.params["status"] == "graded"


def _grade_form(client: TestClient, work: dict[str, Any], **fields: str) -> dict[str, str]:
    token = csrf(client.get(f"/teach/courses/{COURSE}/grading").text)
    return {
        "csrf_token": token,
        "submission_id": work["id"],
        "version": str(work["version"]),
        "max_points": "10",
        "show": "waiting",
        "cursor": "",
        "student": "Ada Lovelace (ada)",
        "post": "Write a query",
        **fields,
    }


def test_a_grade_is_saved_with_the_version_seen(teacher: TestClient, api: FakeApi) -> None:
    work = submission()
    api.on("GET", f"/courses/{COURSE}/submissions", answer({"items": [work], "next_cursor": None}))
    api.on("PUT", f"/submissions/{work['id']}/grade", answer({**work, "status": "graded"}))
    form = _grade_form(teacher, work, points="7,5", feedback="Neat.")
    r = teacher.post(f"/teach/courses/{COURSE}/grading", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/teach/courses/{COURSE}/grading"
    [put] = api.called("PUT", f"/submissions/{work['id']}/grade")
    assert json.loads(put.content) == {"score": 7.5, "feedback": "Neat."}
    assert put.headers["if-match"] == '"3"'
    page = teacher.get(r.headers["location"]).text
    assert "Grade saved for Ada Lovelace (ada) on “Write a query”: 7.5 / 10." in page


def test_a_refused_grade_comes_back_with_what_was_typed(teacher: TestClient, api: FakeApi) -> None:
    work = submission()
    api.on("GET", f"/courses/{COURSE}/submissions", answer({"items": [work], "next_cursor": None}))
    # Not a number: said next to Points, nothing sent.
    form = _grade_form(teacher, work, points="ten", feedback="Kept <as typed>")
    r = teacher.post(f"/teach/courses/{COURSE}/grading", data=form)
    assert r.status_code == 422
    assert not api.called("PUT", f"/submissions/{work['id']}/grade")
    assert 'role="alert"' in r.text and f'href="#points-{work["id"]}"' in r.text
    assert "Enter the points as a number, like 7 or 7.5." in r.text
    assert 'value="ten"' in r.text and "Kept &lt;as typed&gt;</textarea>" in r.text
    assert 'aria-invalid="true"' in r.text
    # Out of range: the API's 422 on score, next to Points.
    errors = [{"field": "score", "msg": "must be between 0 and 10 (max_points)"}]
    api.on("PUT", f"/submissions/{work['id']}/grade", problem(422, "invalid", errors=errors))
    r = teacher.post(f"/teach/courses/{COURSE}/grading", data={**form, "points": "11"})
    assert r.status_code == 422
    assert "Enter points from 0 to 10." in r.text and 'value="11"' in r.text
    # Graded meanwhile by someone else: 412, said at the top; the entry stays.
    api.on("PUT", f"/submissions/{work['id']}/grade", problem(412, "at version 4"))
    r = teacher.post(f"/teach/courses/{COURSE}/grading", data={**form, "points": "6"})
    assert r.status_code == 412
    assert "Someone else graded this work" in r.text and 'value="6"' in r.text


def test_a_refused_grade_for_work_no_longer_listed_keeps_the_entry(
    teacher: TestClient, api: FakeApi
) -> None:
    work = submission()
    api.on("GET", f"/courses/{COURSE}/submissions", answer({"items": [work], "next_cursor": None}))
    form = _grade_form(teacher, work, points="6", feedback="Line one\nline two")
    api.on("GET", f"/courses/{COURSE}/submissions", answer({"items": [], "next_cursor": None}))
    api.on("PUT", f"/submissions/{work['id']}/grade", problem(412, "at version 4"))
    r = teacher.post(f"/teach/courses/{COURSE}/grading", data=form)
    assert r.status_code == 412
    assert "no longer in this list" in r.text
    assert "points “6”" in r.text and "Line one\nline two</pre>" in r.text


# ---------------------------------------------------------------- the gradebook


def test_the_gradebook_table(teacher: TestClient, api: FakeApi) -> None:
    quiz, essay = str(uuid.uuid4()), str(uuid.uuid4())
    posts = [
        {"post_id": quiz, "module_id": ME, "title": "Quiz one", "kind": "quiz", "max_points": 2},
        {
            "post_id": essay,
            "module_id": ME,
            "title": "Essay",
            "kind": "assignment",
            "max_points": 8,
        },
    ]
    row = {
        "user_id": str(uuid.uuid4()),
        "username": "ada",
        "display_name": "Ada Lovelace",
        "earned": 1.5,
        "possible": 10,
        "percent": 15.0,
        "graded": 1,
        "submitted": 1,
        "missing": 0,
        "scores": [
            {"post_id": quiz, "kept_score": 1.5, "status": "graded", "late": False},
            {"post_id": essay, "kept_score": None, "status": "submitted", "late": True},
        ],
    }
    book = {"items": [row], "next_cursor": None, "posts": posts}
    api.on("GET", f"/courses/{COURSE}/grades", answer(book))
    html = teacher.get(f"/teach/courses/{COURSE}/gradebook").text
    assert re.search(r'<th scope="col" class="long-title">Quiz one</th>', html)
    assert re.search(r'<th scope="col" class="long-title">Essay</th>', html)
    assert "Ada Lovelace" in html and ">ada<" in html
    assert ">1.5<" in html and "Waiting" in html and "Late" in html and "15%" in html
    assert f'href="/teach/courses/{COURSE}/gradebook.csv"' in html and "Download CSV" in html


def test_the_csv_is_streamed_through(teacher: TestClient, api: FakeApi) -> None:
    body = b"user_id,username,display_name,Essay (x),earned,possible,percent\r\n1,ada,Ada,7.50,7.50,10,75.00\r\n"

    def csv_answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept"] == "text/csv"
        assert request.headers["authorization"] == "Bearer a"
        return httpx.Response(200, content=body, headers={"content-type": "text/csv"})

    api.on("GET", f"/courses/{COURSE}/grades", csv_answer)
    r = teacher.get(f"/teach/courses/{COURSE}/gradebook.csv")
    assert r.status_code == 200
    assert r.content == body
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == (
        'attachment; filename="grades-databases-from-scratch.csv"'
    )
    # A refusal before streaming is a page, not a broken file.
    api.on("GET", f"/courses/{COURSE}/grades", problem(403, "only the owner"))
    refused = teacher.get(f"/teach/courses/{COURSE}/gradebook.csv")
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]


def test_csv_filenames_are_plain() -> None:
    assert csv_filename({"id": "x", "slug": 'a/b"c d'}) == "grades-a-b-c-d.csv"
    assert csv_filename({"id": "x", "slug": ".."}) == "grades-course.csv"


# ---------------------------------------------------------------- admin


def test_users_are_found_and_listed(admin: TestClient, api: FakeApi) -> None:
    other = person("student", "ada<x>", str(uuid.uuid4()))
    api.on("GET", "/users", answer({"items": [other], "next_cursor": None}))
    r = admin.get("/admin/users?q=ada")
    assert r.status_code == 200
    [call] = api.called("GET", "/users")
    assert call.url.params["q"] == "ada"
    html = r.text
    assert "<h1>Users</h1>" in html and "Search users" in html
    assert "ada&lt;x&gt;" in html
    assert f'<label for="role-{other["id"]}">Role</label>' in html
    assert '<option value="student" selected>Student</option>' in html
    assert f'href="/admin/users/{other["id"]}/delete">Delete account</a>' in html
    assert 'href="/admin/users" aria-current="page">Users</a>' in html  # the header link


def test_a_role_change_and_its_refusal(admin: TestClient, api: FakeApi) -> None:
    other = person("student", "ada", str(uuid.uuid4()))
    api.on("GET", "/users", answer({"items": [other], "next_cursor": None}))
    api.on("PATCH", f"/users/{other['id']}", answer({**other, "role": "instructor"}))
    token = csrf(admin.get("/admin/users").text)
    form = {"csrf_token": token, "role": "instructor", "username": "ada", "q": "ad", "cursor": ""}
    r = admin.post(f"/admin/users/{other['id']}/role", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/users?q=ad"
    [patch] = api.called("PATCH", f"/users/{other['id']}")
    assert json.loads(patch.content) == {"role": "instructor"}
    assert "ada is now an instructor." in admin.get(r.headers["location"]).text
    # The last admin: next to that user's Role, the role chosen still selected.
    api.on(
        "PATCH",
        f"/users/{other['id']}",
        problem(409, "last admin", type="https://syllabus.dev/problems/last-admin"),
    )
    r = admin.post(f"/admin/users/{other['id']}/role", data={**form, "role": "admin"})
    assert r.status_code == 409
    assert "This is the last admin" in r.text and 'role="alert"' in r.text
    assert '<option value="admin" selected>Admin</option>' in r.text
    assert f'href="#role-{other["id"]}"' in r.text


def test_deleting_an_account_asks_first(admin: TestClient, api: FakeApi) -> None:
    other = person("student", "ada", str(uuid.uuid4()))
    api.on("GET", f"/users/{other['id']}", answer(other))
    api.on("DELETE", f"/users/{other['id']}", lambda r: httpx.Response(204))
    api.on("GET", "/users", answer({"items": [], "next_cursor": None}))
    page = admin.get(f"/admin/users/{other['id']}/delete")
    assert page.status_code == 200
    assert not api.called("DELETE", f"/users/{other['id']}")
    for words in ("enrollments", "completions", "submissions", "grades", "without an owner"):
        assert words in page.text
    r = admin.post(
        f"/admin/users/{other['id']}/delete",
        data={"csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/users"
    assert len(api.called("DELETE", f"/users/{other['id']}")) == 1
    assert "The account of ada was deleted." in admin.get("/admin/users").text

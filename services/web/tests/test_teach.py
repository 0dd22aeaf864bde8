"""The teaching pages alone (issue 25, part A), with a fake API under the web's client:
who may see them, forms that come back filled with the API's problems next to their
fields, the quiz editor's buttons without any API call, and the form → API body mapping.
The pages against the real stack, in a browser: tests-e2e/test_web_teach.py."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from syllabus_web.api import ApiError
from syllabus_web.main import create_app
from syllabus_web.pages.teach import (
    duration_input,
    post_body,
    post_field,
    problems,
    quiz_action,
    words,
)
from syllabus_web.settings import Settings

SECRET = "a-test-secret-that-is-long-enough-to-use"
NOW = "2025-03-01T12:00:00+00:00"
ME = str(uuid.uuid4())


def user(role: str) -> dict[str, Any]:
    return {
        "id": ME,
        "username": "grace",
        "role": role,
        "email": "g@e.com",
        "display_name": "Grace",
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
    }


def course(title: str = "Databases", status: str = "draft", **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "slug": title.lower(),
        "title": title,
        "description": "",
        "learning_objectives": None,
        "prerequisites": None,
        "status": status,
        "visibility": "public",
        "sequential": False,
        "creator_id": ME,
        "enrollment_count": 0,
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
        **extra,
    }


def module(title: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "title": title,
        "description": "",
        "creator_id": ME,
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
    }


def entry(m: dict[str, Any], position: int, prerequisites: list[str] | None = None) -> Any:
    return {
        "module_id": m["id"],
        "position": position,
        "title": m["title"],
        "prerequisites": prerequisites or [],
        "unlock_at": None,
    }


def quiz_post(module_id: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "module_id": module_id,
        "title": "Check yourself",
        "position": 1,
        "status": "draft",
        "content": {
            "kind": "quiz",
            "max_points": 2,
            "attempts": 1,
            "questions": [{"prompt": "2+2?", "choices": ["3", "4"], "answer_index": 1}],
        },
        "completion": {"rule": "submit"},
        "creator_id": ME,
        "completion_count": 0,
        "submission_count": 0,
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
    }


def page(items: list[Any]) -> Callable[[httpx.Request], httpx.Response]:
    return lambda r: httpx.Response(200, json={"items": items, "next_cursor": None})


def answer(body: Any, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    return lambda r: httpx.Response(status, json=body)


def problem(
    status: int, detail: str, errors: list[dict[str, Any]] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    body: dict[str, Any] = {"type": "about:blank", "title": "Problem", "status": status}
    body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    return lambda r: httpx.Response(
        status, json=body, headers={"content-type": "application/problem+json"}
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
        self.routes: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = {}

    def on(self, method: str, path: str, reply: Callable[[httpx.Request], httpx.Response]) -> None:
        self.routes[(method, "/api/v1" + path)] = reply

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        reply = self.routes.get((request.method, request.url.path))
        if reply is None:
            return empty_list(request) or problem(404, "no")(request)
        return reply(request)

    def sent(self, method: str, path: str) -> list[Any]:
        return [
            json.loads(c.content)
            for c in self.calls
            if c.method == method and c.url.path == "/api/v1" + path
        ]

    def writes(self) -> list[str]:
        return [f"{c.method} {c.url.path}" for c in self.calls if c.method != "GET"]


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


def signed_in(api: FakeApi, role: str) -> TestClient:
    api.on("GET", "/users/me", answer(user(role)))
    api.on(
        "POST",
        "/auth/token",
        answer(
            {
                "access_token": "a",
                "token_type": "bearer",
                "expires_in": 900,
                "refresh_token": "r",
                "refresh_expires_in": 86_400,
            }
        ),
    )
    settings = Settings(session_secret=SECRET, api_url="http://gateway.test")
    client = TestClient(create_app(settings, transport=httpx.MockTransport(api)))
    client.__enter__()
    token = csrf(client.get("/login").text)
    r = client.post("/login", data={"username": "grace", "password": "pw", "csrf_token": token})
    assert r.status_code == 200, r.text  # followed to /
    return client


@pytest.fixture
def teacher(api: FakeApi) -> Iterator[TestClient]:
    api.on("GET", "/me/enrollments", page([]))
    api.on("GET", "/me/groups", page([]))
    client = signed_in(api, "instructor")
    yield client
    client.__exit__(None, None, None)


def csrf(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


# ---------------------------------------------------------------- who may teach


def test_students_get_a_403_and_no_teach_link(api: FakeApi) -> None:
    api.on("GET", "/me/enrollments", page([]))
    api.on("GET", "/me/groups", page([]))
    client = signed_in(api, "student")
    home = client.get("/")
    assert 'href="/teach"' not in home.text
    for path in ("/teach", "/teach/courses/new", f"/teach/courses/{uuid.uuid4()}"):
        r = client.get(path)
        assert r.status_code == 403, path
        assert "for instructors and admins" in r.text
    token = csrf(home.text)
    r = client.post("/teach/courses/new", data={"csrf_token": token, "title": "Mine"})
    assert r.status_code == 403
    assert api.writes() == ["POST /api/v1/auth/token"]  # only the sign-in


def test_guests_are_asked_to_sign_in(api: FakeApi) -> None:
    settings = Settings(session_secret=SECRET, api_url="http://gateway.test")
    with TestClient(create_app(settings, transport=httpx.MockTransport(api))) as client:
        r = client.get("/teach", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/teach"


# ---------------------------------------------------------------- pages


def test_teach_lists_courses_by_status_and_where_each_module_is_used(
    teacher: TestClient, api: FakeApi
) -> None:
    used, unused = module("Basics"), module("Spare")
    draft, live = course("Draft one"), course("Live one", "published")
    api.on("GET", "/courses", page([draft, live]))
    api.on("GET", "/modules", page([used, unused]))
    usage = {"course_id": live["id"], "position": 1, "slug": "x", "status": "published"}
    api.on("GET", f"/modules/{used['id']}/courses", page([{**usage, "title": "Live one"}]))
    api.on("GET", f"/modules/{unused['id']}/courses", page([]))
    html = teacher.get("/teach").text
    assert "<h1>Teaching</h1>" in html
    assert 'href="/teach/courses/new">New course<' in html
    assert 'href="/teach/modules/new">New module<' in html
    drafts = html.split('id="courses-draft"')[1].split('id="courses-published"')[0]
    assert "Draft one" in drafts and "Live one" not in drafts
    assert "Not in any course yet." in html
    listed = [c.url.params.get("creator_id") for c in api.calls if c.url.path.endswith("/modules")]
    assert listed == [ME]  # the person's own library


def test_course_editor_outline_and_attach_choices(teacher: TestClient, api: FakeApi) -> None:
    c = course()
    a, b, spare = module("Alpha"), module("Beta"), module("Spare <b>")
    api.on("GET", f"/courses/{c['id']}", answer(c))
    api.on("GET", f"/courses/{c['id']}/modules", answer([entry(a, 1), entry(b, 2, [a["id"]])]))
    api.on("GET", "/modules", page([a, b, spare]))
    html = teacher.get(f"/teach/courses/{c['id']}").text
    outline = html.split('aria-labelledby="outline-heading"', 1)[1].split("</ol>")[0]
    assert outline.count('class="reorder-item"') == 2
    assert outline.count(">Move up<") == 2 and outline.count(">Detach<") == 2
    assert "After: Alpha" in outline
    select = html.split('id="attach-module"', 1)[1].split("</select>")[0]
    options = re.findall(r"<option [^>]*>([^<]*)</option>", select)
    assert options == ["Spare &lt;b&gt;"]  # the title alone, escaped; attached ones left out
    for link in ("students", "grading", "gradebook"):
        assert f'href="/teach/courses/{c["id"]}/{link}"' in html
    assert "reorder.js" in html and "<script>" not in html


def test_a_refused_course_comes_back_filled_with_the_problem_next_to_the_field(
    teacher: TestClient, api: FakeApi
) -> None:
    api.on(
        "POST",
        "/courses",
        problem(
            422,
            "invalid",
            [{"field": "title", "msg": "String should have at most 200 characters"}],
        ),
    )
    token = csrf(teacher.get("/teach/courses/new").text)
    long = "T" * 201
    r = teacher.post(
        "/teach/courses/new",
        data={"csrf_token": token, "title": long, "description": "Kept <i>as typed</i>"},
    )
    assert r.status_code == 422
    assert 'role="alert"' in r.text and 'href="#course-title"' in r.text
    assert 'aria-invalid="true"' in r.text and f'value="{long}"' in r.text
    assert "Kept &lt;i&gt;as typed&lt;/i&gt;</textarea>" in r.text


def test_a_refused_status_move_is_explained(teacher: TestClient, api: FakeApi) -> None:
    c = course()
    api.on("GET", f"/courses/{c['id']}", answer(c))
    api.on("GET", f"/courses/{c['id']}/modules", answer([]))
    api.on("GET", "/modules", page([]))
    api.on("PATCH", f"/courses/{c['id']}", problem(409, "a draft course cannot become archived"))
    token = csrf(teacher.get(f"/teach/courses/{c['id']}").text)
    r = teacher.post(
        f"/teach/courses/{c['id']}/status", data={"csrf_token": token, "status": "archived"}
    )
    assert r.status_code == 200
    assert '<div class="message message-error" role="alert">A draft course cannot be archived' in (
        r.text
    )


def test_a_prerequisite_cycle_is_shown_with_the_modules_named(
    teacher: TestClient, api: FakeApi
) -> None:
    c = course()
    a, b = module("Alpha"), module("Beta")
    api.on("GET", f"/courses/{c['id']}", answer(c))
    api.on("GET", f"/courses/{c['id']}/modules", answer([entry(a, 1, [b["id"]]), entry(b, 2)]))
    message = (
        f"prerequisites would form a cycle: 'Beta' ({b['id']}) → 'Alpha' ({a['id']}) → "
        f"'Beta' ({b['id']}) (each module requires the next)"
    )
    api.on(
        "PATCH",
        f"/courses/{c['id']}/modules/{b['id']}",
        problem(422, message, [{"field": "prerequisites", "msg": message}]),
    )
    path = f"/teach/courses/{c['id']}/modules/{b['id']}"
    token = csrf(teacher.get(path).text)
    r = teacher.post(
        path, data={"csrf_token": token, "prerequisites": a["id"], "unlock_at": "2030-01-02T09:00"}
    )
    assert r.status_code == 422
    assert (
        "Prerequisites would form a cycle: &#39;Beta&#39; → &#39;Alpha&#39; → &#39;Beta&#39;"
        in (r.text)
    )
    assert a["id"] not in r.text.split('role="alert"')[1].split("</div>")[0]  # no ids shown
    assert 'value="2030-01-02T09:00"' in r.text and " checked" in r.text
    [sent] = api.sent("PATCH", f"/courses/{c['id']}/modules/{b['id']}")
    assert sent == {"prerequisites": [a["id"]], "unlock_at": "2030-01-02T09:00:00+00:00"}


def test_the_quiz_editor_adds_and_removes_without_calling_the_api(
    teacher: TestClient, api: FakeApi
) -> None:
    m = module("Practice")
    post = quiz_post(m["id"])
    api.on("GET", f"/posts/{post['id']}", answer(post))
    api.on("GET", f"/modules/{m['id']}", answer(m))
    html = teacher.get(f"/teach/posts/{post['id']}").text
    assert 'value="2+2?"' in html and 'value="1" checked' in html
    form = {
        "csrf_token": csrf(html),
        "title": "Check yourself",
        "max_points": "2",
        "questions": "1",
        "q0-prompt": "2+2? (typed)",
        "q0-choices": "2",
        "q0-c0": "3",
        "q0-c1": "4",
        "q0-answer": "1",
        "completion": "submit",
        "action": "add-question",
    }
    r = teacher.post(f"/teach/posts/{post['id']}", data=form)
    assert r.status_code == 200
    assert 'value="2+2? (typed)"' in r.text and "Question 2" in r.text
    assert 'id="post-q1-prompt" name="q1-prompt" value="" required autofocus' in r.text
    r = teacher.post(f"/teach/posts/{post['id']}", data={**form, "action": "remove-choice-0-0"})
    assert 'name="q0-answer" value="0" checked' in r.text  # the right answer followed
    assert api.writes() == ["POST /api/v1/auth/token"]
    api.on("PATCH", f"/posts/{post['id']}", answer(post))
    r = teacher.post(
        f"/teach/posts/{post['id']}", data={**form, "action": "save"}, follow_redirects=False
    )
    assert r.status_code == 303
    [sent] = api.sent("PATCH", f"/posts/{post['id']}")
    assert sent["content"]["questions"] == [
        {"prompt": "2+2? (typed)", "choices": ["3", "4"], "answer_index": 1}
    ]


def test_a_new_quiz_goes_to_the_question_editor_with_what_was_typed(
    teacher: TestClient, api: FakeApi
) -> None:
    m = module("Practice")
    api.on("GET", f"/modules/{m['id']}", answer(m))
    r = teacher.post(
        f"/teach/modules/{m['id']}/posts",
        data={
            "csrf_token": csrf(teacher.get("/login").text),
            "title": "Quick check",
            "kind": "quiz",
            "max_points": "5",
            "due": "",
        },
    )
    assert r.status_code == 200
    assert 'value="Quick check"' in r.text and 'value="5"' in r.text
    assert "Question 1" in r.text and ">Create post<" in r.text
    assert api.writes() == ["POST /api/v1/auth/token"]


# ---------------------------------------------------------------- forms → API bodies


def test_post_problems_land_on_their_fields() -> None:
    assert post_field("content.questions.0.choices.1") == "q0-c1"
    assert post_field("content.questions.2.answer_index") == "q2-answer"
    assert post_field("content.questions.1.choices") == "q1-choices"
    assert post_field("content.due_at") == "due"
    assert post_field("completion.min_score") == "min_score"
    assert post_field("title") == "title"
    error = ApiError(
        422,
        "invalid",
        errors=[
            {"field": "content.url", "msg": "URL scheme should be 'http' or 'https'"},
            {"field": "completion.min_score", "msg": "min_score may not exceed max_points (2)"},
        ],
    )
    found = problems(error, post_field)
    assert found["url"].startswith("Enter a web address")
    assert found["min_score"] == "Min_score may not exceed max_points (2)"
    assert problems(ApiError(409, "taken"))["form"] == "Taken."


def test_post_bodies_per_kind() -> None:
    base = {k: "" for k in ("body", "url", "duration", "instructions", "attempts", "min_score")}
    video, errors = post_body(
        {
            **base,
            "title": "V",
            "kind": "video",
            "url": " https://v.example/1 ",
            "duration": "1:02:03",
        },
        None,
        with_completion=False,
    )
    assert video == {
        "title": "V",
        "content": {"kind": "video", "url": "https://v.example/1", "duration_seconds": 3723},
    }
    assert not errors
    work, errors = post_body(
        {
            **base,
            "title": "A",
            "kind": "assignment",
            "instructions": "Do it",
            "max_points": "10",
            "due": "2030-03-04T17:00",
            "completion": "min_score",
            "min_score": "7.5",
        },
        None,
        with_completion=True,
    )
    assert work["content"] == {
        "kind": "assignment",
        "instructions": "Do it",
        "max_points": 10,
        "due_at": "2030-03-04T17:00:00+00:00",
        "attempts": None,
    }
    assert work["completion"] == {"rule": "min_score", "min_score": 7.5}
    _, errors = post_body(
        {**base, "title": "Q", "kind": "quiz", "max_points": "ten", "due": "soon"},
        [],
        with_completion=False,
    )
    assert set(errors) == {"max_points", "due"}


def test_quiz_actions_and_words() -> None:
    questions = [{"prompt": "p", "choices": ["a", "b", "c"], "answer": "2"}]
    questions, focus = quiz_action("remove-choice-0-1", questions)
    assert questions[0] == {"prompt": "p", "choices": ["a", "c"], "answer": "1"}
    questions, focus = quiz_action("add-choice-0", questions)
    assert focus == "q0-c2" and questions[0]["choices"] == ["a", "c", ""]
    questions, focus = quiz_action("remove-question-0", questions)
    assert questions == [] and focus == "add-question"
    assert quiz_action("save", [])[1] is None
    assert words("Value error, must be positive") == "Must be positive."
    assert duration_input(754) == "12:34" and duration_input(None) == ""

"""Running a course and admin in the web app (UI.md: students, grading, gradebook, admin
users), in a real browser against the whole stack.

Courses are built through the API (journey.py's Actor): the pages under test are the ones
that run them, not the editor. Elements are found by role, label and name (UI.md's names
table); every page visited passes axe-core; live updates are checked without a reload, in
two browser contexts (the teacher's and the student's).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from browser import PHONE, Person, Tab, exactly, new_person, open_tab, sign_in
from journey import Actor
from playwright.sync_api import Browser, expect

from conftest import ADMIN, Stack, eventually

# The API promises an event within 3 s of a write on another service; the page fetches
# itself again at once. Room for a busy 2-core machine.
LIVE_TIMEOUT_MS = 6_000

OpenTab = Callable[..., Tab]


@pytest.fixture
def tabs(stack: Stack, browser: Browser, axe_source: str) -> Iterator[OpenTab]:
    """Opens browser contexts of their own (cookies apart: one per person); each is
    checked (no dialog, no CSP violation) and closed at the end."""
    opened: list[tuple[Any, Tab]] = []

    def open_one(*, javascript: bool = True, phone: bool = False) -> Tab:
        context, tab = open_tab(
            browser, stack.base_url, axe_source, javascript=javascript, phone=phone
        )
        opened.append((context, tab))
        return tab

    try:
        yield open_one
        for _, tab in opened:
            tab.check()
    finally:
        for context, _ in opened:
            context.close()


def listening(tab: Tab) -> None:
    """Wait until the page's script has the stream open; mark the document (a reload
    would lose the mark)."""
    tab.page.wait_for_function(
        "() => document.getElementById('main').dataset.liveState === 'listening'",
        timeout=10_000,
    )
    tab.page.evaluate("() => { window.notReloaded = true; }")


def not_reloaded(tab: Tab) -> None:
    assert tab.page.evaluate("() => window.notReloaded === true"), "the page was reloaded"


def actor(stack: Stack, person: Person) -> Actor:
    return Actor(person.user_id, stack.client(person.token))


def named(stack: Stack, display_name: str, role: str = "student") -> Person:
    """A user with a display name of their own (set by themselves, as API.md allows)."""
    person = new_person(stack.base_url, stack.admin_token, role, "staff")
    actor(stack, person).ok(
        "PATCH", f"/users/{person.user_id}", json={"display_name": display_name}
    )
    return person


def at_phone_width(tab: Tab) -> None:
    size = tab.page.viewport_size
    tab.page.set_viewport_size({"width": PHONE["width"], "height": PHONE["height"]})
    tab.no_sideways_scroll()
    if size:
        tab.page.set_viewport_size(size)


@dataclass
class Course:
    """A published course with a text post, a quiz and an assignment, built by a teacher."""

    id: str
    title: str
    teacher: Person
    api: Actor
    text: dict[str, Any]
    quiz: dict[str, Any]
    essay: dict[str, Any]


def build_course(stack: Stack, title: str = "Running a course") -> Course:
    teacher = new_person(stack.base_url, stack.admin_token, "instructor", "teach")
    api = actor(stack, teacher)
    course = api.ok("POST", "/courses", 201, json={"title": f"{title} {uuid.uuid4().hex[:6]}"})
    module = api.module("Week one")

    def post(title: str, content: dict[str, Any]) -> dict[str, Any]:
        body = {"title": title, "status": "published", "content": content}
        created: dict[str, Any] = api.ok("POST", f"/modules/{module['id']}/posts", 201, json=body)
        return created

    text = post("Read me", {"kind": "text", "body": "Hello."})
    quiz = post(
        "Quick check",
        {
            "kind": "quiz",
            "max_points": 2,
            "questions": [{"prompt": "2+2?", "choices": ["3", "4"], "answer_index": 1}],
        },
    )
    essay = post(
        "Write a query",
        {"kind": "assignment", "instructions": "Select every *course*.", "max_points": 10},
    )
    api.attach(course["id"], module["id"])
    api.publish(course["id"])
    return Course(course["id"], course["title"], teacher, api, text, quiz, essay)


def enrolled(stack: Stack, course: Course, person: Person, posts: int = 3) -> Actor:
    """Enrolled, once progress shows the course's ``posts`` (structure arrives by events)."""
    student = actor(stack, person)
    student.enroll(course.id)
    eventually(lambda: student.progress(course.id)["total_posts"] == posts, timeout=10)
    return student


def grading_form(tab: Tab, post_title: str, username: str) -> Any:
    return tab.page.get_by_role("form", name=re.compile(f"{re.escape(post_title)} by .*{username}"))


# ---------------------------------------------------------------- grading


def test_a_grade_reaches_the_student_live_and_a_regrade_works_without_javascript(
    stack: Stack, tabs: OpenTab
) -> None:
    course = build_course(stack)
    person = named(stack, "Ada Lovelace")
    student = enrolled(stack, course, person)
    student.ok(
        "POST",
        f"/posts/{course.essay['id']}/submissions",
        201,
        json={"body": "SELECT * FROM **courses**;", "links": ["https://example.com/query"]},
    )

    # The student watches their assignment (another browser: live updates).
    learner = tabs()
    sign_in(learner, person.username, person.password)
    learner.goto(f"/courses/{course.id}/posts/{course.essay['id']}")
    expect(learner.page.get_by_text("Submitted", exact=True)).to_be_visible()
    listening(learner)

    teacher = tabs()
    page = teacher.page
    sign_in(teacher, course.teacher.username, course.teacher.password)
    teacher.goto(f"/teach/courses/{course.id}/grading")
    expect(page.get_by_role("heading", name="Grading", exact=True)).to_be_visible()
    form = grading_form(teacher, "Write a query", person.username)
    expect(form).to_have_count(1)
    item = page.get_by_role("listitem").filter(has=form)
    expect(item).to_contain_text("SELECT * FROM courses;")  # Markdown, rendered
    expect(item.get_by_role("link", name="https://example.com/query")).to_be_visible()
    teacher.audit("grading")
    at_phone_width(teacher)

    # Out of range: the problem next to Points, in the summary, and nothing typed lost.
    form.get_by_label("Points").fill("11")
    form.get_by_label("Feedback").fill("Nearly: add a *WHERE*.")
    form.get_by_role("button", name="Save grade").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter points from 0 to 10.")
    form = grading_form(teacher, "Write a query", person.username)
    expect(form.get_by_label("Points")).to_have_value("11")
    expect(form.get_by_label("Points")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Feedback")).to_have_value("Nearly: add a *WHERE*.")
    teacher.audit()

    form.get_by_label("Points").fill("8")
    form.get_by_role("button", name="Save grade").click()
    expect(page.get_by_role("status").first).to_contain_text("Grade saved for Ada Lovelace")
    expect(grading_form(teacher, "Write a query", person.username)).to_have_count(0)
    expect(page.get_by_text("Nothing is waiting for a grade.")).to_be_visible()

    expect(learner.page.get_by_text("Score: 8 / 10")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(learner.page.get_by_text("Nearly: add a")).to_be_visible()
    not_reloaded(learner)

    # Regrade without JavaScript (plain forms, POST then redirect): the graded work is a
    # click away, graded again with the version it was seen at.
    plain = tabs(javascript=False)
    sign_in(plain, course.teacher.username, course.teacher.password)
    plain.goto(f"/teach/courses/{course.id}/grading")
    plain.page.get_by_role("link", name=exactly("Graded")).click()
    form = grading_form(plain, "Write a query", person.username)
    expect(form.get_by_label("Points")).to_have_value("8")
    expect(form.get_by_label("Feedback")).to_have_value("Nearly: add a *WHERE*.")
    form.get_by_label("Points").fill("9.5")
    form.get_by_label("Feedback").fill("Better after a second look.")
    form.get_by_role("button", name="Save grade").click()
    expect(plain.page.get_by_role("status").first).to_contain_text("9.5 / 10")
    expect(learner.page.get_by_text("Score: 9.5 / 10")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(learner.page.get_by_text("Better after a second look.")).to_be_visible()
    not_reloaded(learner)


def test_new_work_appears_in_the_queue_live_and_late_is_marked(stack: Stack, tabs: OpenTab) -> None:
    course = build_course(stack, "A queue")
    late = course.api.ok(
        "POST",
        f"/modules/{course.essay['module_id']}/posts",
        201,
        json={
            "title": "Already due",
            "status": "published",
            "content": {
                "kind": "assignment",
                "instructions": "Too late now.",
                "max_points": 5,
                "due_at": "2020-01-01T00:00:00Z",
            },
        },
    )
    first, second = named(stack, "Grace Hopper"), named(stack, "Alan Turing")
    one, two = enrolled(stack, course, first, posts=4), enrolled(stack, course, second, posts=4)

    tab = tabs()
    page = tab.page
    sign_in(tab, course.teacher.username, course.teacher.password)
    tab.goto(f"/teach/courses/{course.id}/grading")
    expect(page.get_by_text("Nothing is waiting for a grade.")).to_be_visible()
    listening(tab)

    # Typed into a form while new work arrives: kept across the update.
    one.ok("POST", f"/posts/{course.essay['id']}/submissions", 201, json={"body": "First!"})
    form = grading_form(tab, "Write a query", first.username)
    expect(form).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    form.get_by_label("Feedback").fill("Half-way through my thoughts")
    two.ok("POST", f"/posts/{late['id']}/submissions", 201, json={"body": "Sorry."})
    late_form = grading_form(tab, "Already due", second.username)
    expect(late_form).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    not_reloaded(tab)
    expect(
        grading_form(tab, "Write a query", first.username).get_by_label("Feedback")
    ).to_have_value("Half-way through my thoughts")
    # Oldest first; the late one says so.
    headings = page.get_by_role("heading", level=2)
    expect(headings.nth(0)).to_contain_text("Write a query")
    expect(headings.nth(1)).to_contain_text("Already due")
    late_item = page.get_by_role("listitem").filter(has=late_form)
    expect(late_item.get_by_text("Late", exact=True)).to_be_visible()
    tab.audit()


# ---------------------------------------------------------------- the roster


def test_the_roster_names_students_sorts_and_moves_live(stack: Stack, tabs: OpenTab) -> None:
    course = build_course(stack, "A roster")
    ahead, behind = named(stack, "Zoe Ahead"), named(stack, "Bob Behind")
    fast = enrolled(stack, course, ahead)
    enrolled(stack, course, behind)
    fast.complete(course.text["id"])

    tab = tabs()
    page = tab.page
    sign_in(tab, course.teacher.username, course.teacher.password)
    tab.goto(f"/teach/courses/{course.id}/students")
    expect(page.get_by_role("heading", name="Students", exact=True)).to_be_visible()
    table = page.get_by_role("table")
    for column in ("Student", "Progress", "Status"):
        expect(table.get_by_role("columnheader", name=exactly(column))).to_be_visible()
    zoe = table.get_by_role("row").filter(has_text=ahead.username)
    expect(zoe).to_contain_text("Zoe Ahead")
    bar = zoe.get_by_role("progressbar")
    eventually(lambda: fast.progress(course.id)["completed_posts"] == 1, timeout=10)
    page.reload()
    expect(bar).to_have_attribute("value", re.compile(r"^33\.33$"))
    expect(table.get_by_role("row").filter(has_text=behind.username)).to_contain_text("In progress")
    tab.audit("students")
    at_phone_width(tab)

    # Sorted by name first (Bob before Zoe), then by progress, most first.
    rows = table.get_by_role("row")
    expect(rows.nth(1)).to_contain_text(behind.username)
    table.get_by_role("link", name=exactly("Progress")).click()
    expect(rows.nth(1)).to_contain_text(behind.username)  # ascending: least first
    table.get_by_role("link", name=exactly("Progress")).click()
    expect(table.get_by_role("columnheader", name="Progress")).to_have_attribute(
        "aria-sort", "descending"
    )
    expect(rows.nth(1)).to_contain_text(ahead.username)

    # Bob catches up elsewhere: his bar moves, and he moves up, without a reload.
    listening(tab)
    slow = actor(stack, behind)
    for post in (course.text, course.quiz):
        if post is course.quiz:
            slow.ok("POST", f"/posts/{post['id']}/submissions", 201, json={"answers": [1]})
        else:
            slow.complete(post["id"])
    bob_bar = table.get_by_role("row").filter(has_text=behind.username).get_by_role("progressbar")
    expect(bob_bar).to_have_attribute("value", "66.67", timeout=LIVE_TIMEOUT_MS)
    expect(rows.nth(1)).to_contain_text(behind.username)
    not_reloaded(tab)


# ---------------------------------------------------------------- the gradebook


def test_the_gradebook_and_its_csv(stack: Stack, tabs: OpenTab) -> None:
    course = build_course(stack, "A gradebook")
    person = named(stack, "Edsger Dijkstra")
    student = enrolled(stack, course, person)
    student.ok("POST", f"/posts/{course.quiz['id']}/submissions", 201, json={"answers": [1]})
    work = student.ok(
        "POST", f"/posts/{course.essay['id']}/submissions", 201, json={"body": "SELECT 1;"}
    )
    course.api.ok("PUT", f"/submissions/{work['id']}/grade", json={"score": 7.5})

    tab = tabs()
    page = tab.page
    sign_in(tab, course.teacher.username, course.teacher.password)
    tab.goto(f"/teach/courses/{course.id}/gradebook")
    expect(page.get_by_role("heading", name="Gradebook", exact=True)).to_be_visible()
    table = page.get_by_role("table")
    for title in ("Quick check", "Write a query"):
        expect(table.get_by_role("columnheader", name=exactly(title))).to_be_visible()
    row = table.get_by_role("row").filter(has_text=person.username)
    expect(row).to_contain_text("Edsger Dijkstra")
    cells = row.get_by_role("cell")
    expect(cells.nth(0)).to_have_text("2")  # the quiz, right
    expect(cells.nth(1)).to_have_text("7.5")
    expect(cells.nth(2)).to_have_text("9.5")  # the total
    tab.audit("gradebook")
    at_phone_width(tab)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert re.fullmatch(r"grades-[a-z0-9-]+\.csv", download.value.suggested_filename)
    path = download.value.path()
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["user_id", "username", "display_name"]
    assert header[-3:] == ["earned", "possible", "percent"]
    assert any("Quick check" in column for column in header)
    [line] = [line for line in lines[1:] if person.username in line]
    assert line.split(",")[1:] == [
        person.username,
        "Edsger Dijkstra",
        "2.00",
        "7.50",
        "9.50",
        "12",
        "79.17",
    ]


# ---------------------------------------------------------------- admin


def test_an_admin_finds_users_changes_a_role_and_deletes_an_account(
    stack: Stack, tabs: OpenTab
) -> None:
    target = named(stack, "Margaret Hamilton")
    tab = tabs()
    page = tab.page
    sign_in(tab, *ADMIN)
    page.get_by_role("link", name=exactly("Users")).click()
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    page.get_by_role("searchbox", name="Search users").fill(target.username)
    page.get_by_role("button", name=exactly("Search")).click()
    row = page.get_by_role("row").filter(has_text=target.username)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Margaret Hamilton")
    expect(row.get_by_label("Role")).to_have_value("student")
    tab.audit("admin-users")
    at_phone_width(tab)

    row.get_by_label("Role").select_option(label="Instructor")
    row.get_by_role("button", name=exactly("Save")).click()
    expect(page.get_by_role("status").first).to_contain_text(
        f"{target.username} is now an instructor"
    )
    with httpx.Client(base_url=stack.base_url, timeout=15) as http:
        r = http.get(
            f"/api/v1/users/{target.user_id}",
            headers={"Authorization": f"Bearer {stack.admin_token}"},
        )
        assert r.json()["role"] == "instructor"
    row = page.get_by_role("row").filter(has_text=target.username)
    expect(row.get_by_label("Role")).to_have_value("instructor")

    row.get_by_role("link", name=exactly("Delete account")).click()
    expect(page.get_by_role("heading", name=re.compile("Delete the account"))).to_contain_text(
        target.username
    )
    for what in ("enrollments", "completions", "submissions", "grades", "without an owner"):
        expect(page.get_by_text(re.compile(what)).first).to_be_visible()
    tab.audit("admin-delete")
    at_phone_width(tab)
    page.get_by_role("button", name=exactly("Delete account")).click()
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text(
        f"The account of {target.username} was deleted"
    )
    page.get_by_role("searchbox", name="Search users").fill(target.username)
    page.get_by_role("button", name=exactly("Search")).click()
    expect(page.get_by_text(f"No user matches “{target.username}”")).to_be_visible()
    with httpx.Client(base_url=stack.base_url, timeout=15) as http:
        r = http.post(
            "/api/v1/auth/token", data={"username": target.username, "password": target.password}
        )
        assert r.status_code == 401


# ---------------------------------------------------------------- who may not


def test_students_and_other_instructors_cannot_reach_these_pages(
    stack: Stack, tabs: OpenTab
) -> None:
    course = build_course(stack, "Not yours")
    person = new_person(stack.base_url, stack.admin_token)
    enrolled(stack, course, person)
    tab = tabs()
    page = tab.page
    sign_in(tab, person.username, person.password)
    tab.goto(f"/courses/{course.id}")
    for link in ("Teach", "Users", "Students", "Grading", "Gradebook"):
        expect(page.get_by_role("link", name=exactly(link))).to_have_count(0)
    pages = [
        f"/teach/courses/{course.id}/students",
        f"/teach/courses/{course.id}/grading",
        f"/teach/courses/{course.id}/gradebook",
        f"/teach/courses/{course.id}/gradebook.csv",
        "/admin/users",
        f"/admin/users/{person.user_id}/delete",
    ]
    for path in pages:
        assert tab.goto(path).status == 403, path
        expect(page.get_by_role("alert")).to_be_visible()
        expect(page.get_by_role("form", name=re.compile("by"))).to_have_count(0)
    tab.audit()

    # Another instructor: the API refuses the course that is not theirs.
    other = new_person(stack.base_url, stack.admin_token, "instructor", "other")
    stranger = tabs()
    sign_in(stranger, other.username, other.password)
    for path in pages[:4]:
        assert stranger.goto(path).status == 403, path
    assert stranger.goto("/admin/users").status == 403
    stranger.audit()

"""What a learner sees and does in the web app (UI.md, "Pages"/Learner), in a real browser.

Elements are found as a person finds them: by role, label and name (UI.md's names table),
never by CSS classes. Every page visited is scanned by axe-core; no dialog ever opens.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from browser import Person, Tab, exactly, new_person, open_tab, sign_in
from journey import Actor
from playwright.sync_api import Browser, expect

from conftest import Stack, eventually

API = "/api/v1"


def instructor(stack: Stack) -> tuple[Person, Actor]:
    person = new_person(stack.base_url, stack.admin_token, "instructor", "teach")
    return person, Actor(person.user_id, stack.client(person.token))


def student_api(stack: Stack, person: Person) -> Actor:
    return Actor(person.user_id, stack.client(person.token))


def post(teacher: Actor, module_id: str, title: str, content: dict[str, Any], **extra: Any) -> Any:
    body = {"title": title, "content": content, "status": "published", **extra}
    return teacher.ok("POST", f"/modules/{module_id}/posts", 201, json=body)


@dataclass
class Course:
    """A published course built by an instructor through the API."""

    id: str
    title: str
    modules: dict[str, dict[str, Any]]  # short name -> module
    posts: dict[str, dict[str, Any]]  # short name -> post
    teacher: Actor


@pytest.fixture(scope="module")
def course(stack: Stack) -> Course:
    """Basics (text, video, link), Practice (a quiz and an assignment) and two gated
    modules: After basics (its prerequisite is Basics) and Later (opens in 3 days)."""
    _, teacher = instructor(stack)
    tag = uuid.uuid4().hex[:6]
    title = f"Databases from scratch {tag}"
    created = teacher.ok(
        "POST",
        "/courses",
        201,
        json={
            "title": title,
            "description": "Tables, queries and **transactions**.",
            "learning_objectives": "- Write a SELECT\n- Explain a transaction",
        },
    )
    cid = created["id"]
    modules = {
        name: teacher.ok("POST", "/modules", 201, json={"title": f"{name} {tag}"})
        for name in ("Basics", "Practice", "After basics", "Later")
    }
    posts = {
        "intro": post(
            teacher,
            modules["Basics"]["id"],
            "Welcome",
            {"kind": "text", "body": "# Hello\n\nRead **this** first."},
        ),
        "video": post(
            teacher,
            modules["Basics"]["id"],
            "Watch this",
            {"kind": "video", "url": "https://videos.example.com/1.mp4", "duration_seconds": 754},
        ),
        "link": post(
            teacher,
            modules["Basics"]["id"],
            "Read that",
            {"kind": "link", "url": "https://docs.example.com/guide"},
        ),
        "quiz": post(
            teacher,
            modules["Practice"]["id"],
            "Check yourself",
            {
                "kind": "quiz",
                "max_points": 2,
                "attempts": 2,
                "questions": [
                    {
                        "prompt": "Which keyword reads rows?",
                        "choices": ["SELECT", "DROP"],
                        "answer_index": 0,
                    },
                    {
                        "prompt": "Is COMMIT the end of a transaction?",
                        "choices": ["Yes", "No"],
                        "answer_index": 0,
                    },
                ],
            },
        ),
        "assignment": post(
            teacher,
            modules["Practice"]["id"],
            "Write a query",
            {
                "kind": "assignment",
                "instructions": "Select every *course*.",
                "max_points": 10,
                "due_at": (dt.datetime.now(dt.UTC) + dt.timedelta(days=3, hours=1)).isoformat(),
            },
        ),
        "after": post(
            teacher, modules["After basics"]["id"], "Deeper", {"kind": "text", "body": "More."}
        ),
        "later": post(
            teacher, modules["Later"]["id"], "Next week", {"kind": "text", "body": "Soon."}
        ),
    }
    for module in modules.values():
        teacher.attach(cid, module["id"])
    teacher.ok(
        "PATCH",
        f"/courses/{cid}/modules/{modules['After basics']['id']}",
        json={"prerequisites": [modules["Basics"]["id"]]},
    )
    opens = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3, hours=1)).isoformat()
    teacher.ok(
        "PATCH", f"/courses/{cid}/modules/{modules['Later']['id']}", json={"unlock_at": opens}
    )
    teacher.publish(cid)
    return Course(cid, title, modules, posts, teacher)


def enrolled_and_settled(stack: Stack, course: Course, person: Person) -> None:
    """Wait until the person's progress shows every post of the course (structure
    reaches progress by events, within 2 s)."""

    def complete() -> bool:
        r = student_api(stack, person).call("GET", f"/me/courses/{course.id}/progress")
        if r.status_code != 200:
            return False
        return sum(len(m["posts"]) for m in r.json()["modules"]) == len(course.posts)

    eventually(complete, timeout=10)


@pytest.fixture
def tab(stack: Stack, browser: Browser, axe_source: str) -> Iterator[Tab]:
    context, opened = open_tab(browser, stack.base_url, axe_source)
    try:
        yield opened
        opened.check()
    finally:
        context.close()


# ---------------------------------------------------------------- account


def test_register_sign_out_and_in_again(tab: Tab) -> None:
    page = tab.page
    username = f"learner_{uuid.uuid4().hex[:8]}"
    tab.goto("/register")
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    tab.audit("register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password").fill("a-good-password")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("link", name="My courses")).to_be_visible()
    expect(page.get_by_role("link", name="Teach")).to_have_count(0)  # staff only

    page.get_by_role("link", name="My courses").click()
    expect(page.get_by_role("heading", name="My courses")).to_be_visible()
    tab.audit()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    expect(page.get_by_role("link", name=exactly("Sign in"))).to_be_visible()

    sign_in(tab, username, "a-good-password")
    tab.goto("/")
    expect(page.get_by_role("heading", name="My courses")).to_be_visible()


def test_register_shows_field_errors_next_to_fields(tab: Tab, stack: Stack) -> None:
    taken = new_person(stack.base_url, stack.admin_token)
    page = tab.page
    tab.goto("/register")
    page.get_by_label("Username").fill(taken.username)
    page.get_by_label("Email").fill(f"other_{uuid.uuid4().hex[:6]}@example.com")
    page.get_by_label("Password").fill("a-good-password")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("This username is taken")
    expect(page.get_by_label("Username")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Username")).to_have_value(taken.username)
    tab.audit()

    page.get_by_label("Username").fill(f"x{uuid.uuid4().hex[:6]}")
    page.get_by_label("Password").fill("short")
    # The browser's own check (minlength) is not there: the API's problem is shown.
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("at least 8 characters")


def test_wrong_password_is_a_message_and_login_form_shows_when_signed_in(
    tab: Tab, stack: Stack
) -> None:
    person = new_person(stack.base_url, stack.admin_token)
    page = tab.page
    tab.goto("/login")
    tab.audit("login")
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(page.get_by_label("Username")).to_have_value(person.username)
    tab.audit()
    sign_in(tab, person.username, person.password)
    tab.goto("/login")  # the form, even to someone signed in
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


# ---------------------------------------------------------------- catalog


def test_catalog_search_and_pages(tab: Tab, stack: Stack) -> None:
    _, teacher = instructor(stack)
    word = "zq" + uuid.uuid4().hex[:8]
    for n in range(21):  # one more than a page
        created = teacher.ok("POST", "/courses", 201, json={"title": f"Topic {word} number {n:02}"})
        teacher.publish(created["id"])
    page = tab.page
    tab.goto("/courses")
    tab.audit("catalog")
    page.get_by_role("searchbox", name="Search courses").fill(word)
    page.get_by_role("button", name="Search").click()
    titles = page.get_by_role("link", name=re.compile(word))
    expect(titles).to_have_count(20)
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_role("link", name=re.compile(word))).to_have_count(1)
    expect(page.get_by_role("searchbox", name="Search courses")).to_have_value(word)
    page.get_by_role("link", name="First page").click()
    expect(page.get_by_role("link", name=re.compile(word))).to_have_count(20)

    tab.goto("/")  # signed out, the home page is the public catalog
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    expect(page.get_by_role("searchbox", name="Search courses")).to_be_visible()


# ---------------------------------------------------------------- learning


def test_enroll_outline_locks_mark_done_and_order(tab: Tab, stack: Stack, course: Course) -> None:
    person = new_person(stack.base_url, stack.admin_token)
    page = tab.page
    sign_in(tab, person.username, person.password)
    tab.goto("/courses")
    page.get_by_role("searchbox", name="Search courses").fill(course.title)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=course.title).click()
    expect(page.get_by_role("heading", level=1, name=course.title)).to_be_visible()
    expect(page.get_by_text("Explain a transaction")).to_be_visible()
    page.get_by_role("button", name="Enroll").click()
    expect(page.get_by_role("button", name="Leave course")).to_be_visible()
    enrolled_and_settled(stack, course, person)
    page.reload()

    expect(page.get_by_role("progressbar", name="Course progress")).to_have_attribute("value", "0")
    for module in course.modules.values():
        expect(page.get_by_role("heading", name=module["title"], exact=True)).to_be_visible()
        expect(page.get_by_role("progressbar", name=module["title"], exact=True)).to_be_visible()
    basics = page.get_by_role("region", name=course.modules["Basics"]["title"], exact=True)
    expect(basics.get_by_text("Not started", exact=True).first).to_be_visible()
    after = page.get_by_role("region", name=course.modules["After basics"]["title"], exact=True)
    deeper = after.get_by_role("listitem").filter(has=page.get_by_role("link", name="Deeper"))
    expect(deeper.get_by_text("Locked", exact=True)).to_be_visible()
    expect(deeper).to_contain_text(f"Finish the module “{course.modules['Basics']['title']}” first")
    later = page.get_by_role("region", name=course.modules["Later"]["title"], exact=True)
    soon = later.get_by_role("listitem").filter(has=page.get_by_role("link", name="Next week"))
    expect(soon.get_by_text("Locked", exact=True)).to_be_visible()
    expect(soon).to_contain_text("Opens in 3 days")
    tab.audit("course")

    page.get_by_role("link", name="Welcome").click()
    expect(page.get_by_role("heading", level=1, name="Welcome")).to_be_visible()
    expect(page.get_by_role("heading", name="Hello")).to_be_visible()  # Markdown rendered
    page.get_by_role("button", name="Mark as done").click()
    expect(page.get_by_text("Done", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Mark as not done")).to_be_visible()
    tab.audit("post")
    page.get_by_role("button", name="Mark as not done").click()
    expect(page.get_by_role("button", name="Mark as done")).to_be_visible()
    expect(page.get_by_text("Done", exact=True)).to_have_count(0)
    page.get_by_role("button", name="Mark as done").click()
    expect(page.get_by_text("Done", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Previous")).to_have_count(0)  # the first post

    page.get_by_role("link", name="Next").click()
    expect(page.get_by_role("heading", level=1, name="Watch this")).to_be_visible()
    expect(page.get_by_role("link", name="Watch the video")).to_have_attribute(
        "href", "https://videos.example.com/1.mp4"
    )
    expect(page.get_by_text("12 min 34 s")).to_be_visible()
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_role("heading", level=1, name="Read that")).to_be_visible()
    expect(page.get_by_role("link", name="Open the link")).to_be_visible()
    page.get_by_role("link", name="Previous").click()
    expect(page.get_by_role("heading", level=1, name="Watch this")).to_be_visible()

    tab.goto(f"/courses/{course.id}/posts/{course.posts['after']['id']}")
    expect(page.get_by_text("Locked", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Mark as done")).to_have_count(0)

    tab.goto(f"/courses/{course.id}")
    expect(page.get_by_role("progressbar", name="Course progress")).not_to_have_attribute(
        "value", "0"
    )
    tab.goto("/")
    expect(page.get_by_role("heading", name="My courses")).to_be_visible()
    expect(page.get_by_role("link", name=course.title)).to_be_visible()
    expect(page.get_by_role("progressbar", name=course.title)).to_be_visible()
    tab.audit("my-courses")
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("heading", level=1, name="Watch this")).to_be_visible()


def test_sequential_course_locks_until_the_post_before_is_done(tab: Tab, stack: Stack) -> None:
    _, teacher = instructor(stack)
    created = teacher.ok(
        "POST", "/courses", 201, json={"title": f"In order {uuid.uuid4().hex[:6]}"}
    )
    module = teacher.ok("POST", "/modules", 201, json={"title": "Steps"})
    first = post(teacher, module["id"], "Step one", {"kind": "text", "body": "1"})
    post(teacher, module["id"], "Step two", {"kind": "text", "body": "2"})
    teacher.attach(created["id"], module["id"])
    teacher.ok("PATCH", f"/courses/{created['id']}", json={"sequential": True})
    teacher.publish(created["id"])
    person = new_person(stack.base_url, stack.admin_token)
    student_api(stack, person).enroll(created["id"])

    def gated() -> bool:
        doc = student_api(stack, person).progress(created["id"])
        posts = [p for m in doc["modules"] for p in m["posts"]]
        return len(posts) == 2 and posts[1]["locked"]

    eventually(gated, timeout=10)
    page = tab.page
    sign_in(tab, person.username, person.password)
    tab.goto(f"/courses/{created['id']}")
    two = page.get_by_role("listitem").filter(has=page.get_by_role("link", name="Step two"))
    expect(two.get_by_text("Locked", exact=True)).to_be_visible()
    expect(two).to_contain_text("Complete “Step one” first")
    tab.goto(f"/courses/{created['id']}/posts/{first['id']}")
    page.get_by_role("button", name="Mark as done").click()
    tab.goto(f"/courses/{created['id']}")
    expect(two.get_by_text("Locked", exact=True)).to_have_count(0)


def test_quiz_assignment_and_grades(tab: Tab, stack: Stack, course: Course) -> None:
    person = new_person(stack.base_url, stack.admin_token)
    student_api(stack, person).enroll(course.id)
    enrolled_and_settled(stack, course, person)
    page = tab.page
    sign_in(tab, person.username, person.password)

    tab.goto(f"/courses/{course.id}/posts/{course.posts['quiz']['id']}")
    expect(page.get_by_role("heading", level=1, name="Check yourself")).to_be_visible()
    expect(page.get_by_text("Attempts left: 2")).to_be_visible()
    tab.audit("quiz")
    page.get_by_role("group", name="Which keyword reads rows?").get_by_label("SELECT").check()
    page.get_by_role("group", name="Is COMMIT the end of a transaction?").get_by_label("No").check()
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_text("Score: 1 / 2")).to_be_visible()
    result = page.get_by_role("region", name="Your result")
    expect(result.get_by_text("Right", exact=True)).to_have_count(1)
    expect(result.get_by_text("Wrong", exact=True)).to_have_count(1)
    expect(page.get_by_text("Attempts left: 1")).to_be_visible()
    tab.audit("quiz-result")

    tab.goto(f"/courses/{course.id}/posts/{course.posts['assignment']['id']}")
    expect(page.get_by_role("heading", level=1, name="Write a query")).to_be_visible()
    expect(page.get_by_text("Due in 3 days")).to_be_visible()
    page.get_by_label("Your answer").fill("SELECT * FROM courses;")
    page.get_by_role("button", name=exactly("Submit")).click()
    expect(page.get_by_text("Submitted", exact=True)).to_be_visible()
    tab.audit("assignment")

    [submission] = course.teacher.ok(
        "GET", f"/posts/{course.posts['assignment']['id']}/submissions?user_id={person.user_id}"
    )["items"]
    course.teacher.ok(
        "PUT",
        f"/submissions/{submission['id']}/grade",
        json={"score": 8, "feedback": "Good, add an ORDER BY."},
    )
    page.reload()
    expect(page.get_by_text("Score: 8 / 10")).to_be_visible()
    expect(page.get_by_text("Good, add an ORDER BY.")).to_be_visible()

    tab.goto(f"/courses/{course.id}/grades")
    expect(page.get_by_role("heading", name="Grades")).to_be_visible()
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(3)  # the header and one row per gradable post
    expect(rows.filter(has_text="Write a query")).to_contain_text("8 / 10")
    expect(rows.filter(has_text="Check yourself")).to_contain_text("1 / 2")
    tab.audit("grades")


# ---------------------------------------------------------------- without JavaScript, on a phone


def test_everything_works_without_javascript(
    stack: Stack, browser: Browser, axe_source: str, course: Course
) -> None:
    context, tab = open_tab(browser, stack.base_url, axe_source, javascript=False)
    try:
        person = new_person(stack.base_url, stack.admin_token)
        page = tab.page
        sign_in(tab, person.username, person.password)
        tab.goto(f"/courses/{course.id}")
        page.get_by_role("button", name="Enroll").click()
        expect(page.get_by_role("button", name="Leave course")).to_be_visible()
        enrolled_and_settled(stack, course, person)
        tab.goto(f"/courses/{course.id}/posts/{course.posts['intro']['id']}")
        page.get_by_role("button", name="Mark as done").click()
        expect(page.get_by_text("Done", exact=True)).to_be_visible()
        tab.goto(f"/courses/{course.id}/posts/{course.posts['quiz']['id']}")
        page.get_by_role("group", name="Which keyword reads rows?").get_by_label("SELECT").check()
        page.get_by_role("group", name="Is COMMIT the end of a transaction?").get_by_label(
            "Yes"
        ).check()
        page.get_by_role("button", name="Submit answers").click()
        expect(page.get_by_text("Score: 2 / 2")).to_be_visible()
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("link", name=exactly("Sign in"))).to_be_visible()
        tab.check()
    finally:
        context.close()


def test_phone_width_never_scrolls_sideways_even_with_long_titles(
    stack: Stack, browser: Browser, axe_source: str
) -> None:
    _, teacher = instructor(stack)
    long_title = ("Averyveryverylongunbrokenword" * 7)[:190] + " end"
    created = teacher.ok(
        "POST", "/courses", 201, json={"title": long_title[:200], "description": "x" * 500}
    )
    module = teacher.ok("POST", "/modules", 201, json={"title": "M" * 200})
    text = post(
        teacher,
        module["id"],
        "P" * 200,
        {
            "kind": "text",
            "body": "W" * 300
            + "\n\n| a | b | c | d | e | f |\n|---|---|---|---|---|---|\n| 1 | 2 | 3 | 4 | 5 | 6 |",
        },
    )
    teacher.attach(created["id"], module["id"])
    teacher.publish(created["id"])
    person = new_person(stack.base_url, stack.admin_token)
    student_api(stack, person).enroll(created["id"])
    eventually(
        lambda: student_api(stack, person).progress(created["id"])["total_posts"] == 1, timeout=10
    )
    context, tab = open_tab(browser, stack.base_url, axe_source, phone=True)
    try:
        sign_in(tab, person.username, person.password)
        for path in (
            "/",
            "/courses",
            f"/courses/{created['id']}",
            f"/courses/{created['id']}/posts/{text['id']}",
            f"/courses/{created['id']}/grades",
            "/login",
            "/register",
            "/no/such/page",
        ):
            tab.goto(path)
            tab.no_sideways_scroll()
        tab.check()
    finally:
        context.close()


# ---------------------------------------------------------------- security


def test_hostile_titles_and_bodies_stay_text(tab: Tab, stack: Stack) -> None:
    _, teacher = instructor(stack)
    hostile = '<script>alert("title")</script><img src=x onerror=alert(1)>'
    created = teacher.ok(
        "POST",
        "/courses",
        201,
        json={"title": f"Evil {uuid.uuid4().hex[:6]} {hostile}", "description": hostile},
    )
    module = teacher.ok("POST", "/modules", 201, json={"title": hostile})
    body = (
        f"{hostile}\n\n[click me](javascript:alert(2))\n\n"
        '<a href="javascript:alert(3)" onclick="alert(4)">raw</a>\n\n'
        "![pic](javascript:alert(5))"
    )
    bad = post(teacher, module["id"], hostile, {"kind": "text", "body": body})
    teacher.attach(created["id"], module["id"])
    teacher.publish(created["id"])
    person = new_person(stack.base_url, stack.admin_token)
    student_api(stack, person).enroll(created["id"])
    eventually(
        lambda: student_api(stack, person).progress(created["id"])["total_posts"] == 1, timeout=10
    )
    page = tab.page
    sign_in(tab, person.username, person.password)
    for path in ("/", f"/courses/{created['id']}", f"/courses/{created['id']}/posts/{bad['id']}"):
        tab.goto(path)
        expect(page.get_by_text('<script>alert("title")</script>').first).to_be_visible()
        scripts_with_alert = page.evaluate(
            "() => [...document.scripts].filter(s => s.textContent.includes('alert')).length"
        )
        assert scripts_with_alert == 0
        javascript_links = page.evaluate(
            "() => [...document.links].filter(a => a.protocol === 'javascript:').length"
        )
        assert javascript_links == 0
        handlers = page.evaluate(
            "() => [...document.querySelectorAll('*')]"
            ".filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length"
        )
        assert handlers == 0
    page.get_by_text("click me").click()  # plain text now: nothing happens
    # tab.check() (the fixture) fails the test if any dialog opened.


def test_security_headers_on_every_page(tab: Tab, stack: Stack) -> None:
    for path in ("/", "/login", "/courses", "/no/such/page", "/static/web.css"):
        response = tab.goto(path)
        headers = response.headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"]


def test_a_cross_site_post_is_refused_and_changes_nothing(
    tab: Tab, stack: Stack, course: Course
) -> None:
    person = new_person(stack.base_url, stack.admin_token)
    sign_in(tab, person.username, person.password)
    page = tab.page
    # A form on another site (a blank page's null origin), posting to ours.
    page.goto("about:blank")
    page.set_content(
        f'<form method="post" action="{stack.base_url}/courses/{course.id}/enroll">'
        '<button type="submit">Win a prize</button></form>'
    )
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Win a prize").click()
    response = navigation.value
    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("Nothing was changed")
    tab.audit()
    # Same site, with the session cookie but without the form's token: refused as well.
    cookies = {c["name"]: c["value"] for c in page.context.cookies(stack.base_url)}
    with httpx.Client(base_url=stack.base_url, cookies=cookies, follow_redirects=False) as http:
        refused = http.post(f"/courses/{course.id}/enroll", data={"csrf_token": "guess"})
        assert refused.status_code == 403
    r = student_api(stack, person).call("GET", f"/me/courses/{course.id}/progress")
    assert r.status_code == 404, "the refused POSTs enrolled nobody"


def test_unknown_page_is_a_404_with_a_way_home(tab: Tab) -> None:
    response = tab.goto("/no/such/page")
    assert response.status == 404
    page = tab.page
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    tab.audit("not-found")
    page.get_by_role("link", name="Go to the home page").click()
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    assert tab.goto(f"/courses/{uuid.uuid4()}").status == 404
    assert tab.goto("/courses/not-an-id").status == 404

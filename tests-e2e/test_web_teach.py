"""Building a course in the browser (UI.md, "Pages"/Instructor; issue 25, part A).

An instructor builds a course from a module created on the spot and one reused from their
library, fills modules with posts (a quiz through the quiz editor), orders modules and
posts with the buttons and by drag and drop (mouse and keyboard), gates a module behind
another and sees a cycle refused, and publishes; a student then takes the quiz in another
browser context, and cannot reach any teaching page.

Elements are found as a person finds them: by role, label and name (UI.md's names table).
Every teaching page is scanned by axe-core and, with SCREENSHOTS=1, photographed at
desktop and phone width. One instructor's browser context serves the whole file (one
sign-in), to keep it quick.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from browser import Person, Tab, exactly, new_person, open_tab, sign_in
from journey import Actor
from playwright.sync_api import Browser, Locator, Page, expect

from conftest import Stack, eventually


@pytest.fixture(scope="module")
def instructor(stack: Stack) -> Person:
    return new_person(stack.base_url, stack.admin_token, "instructor", "teach")


@pytest.fixture(scope="module")
def author(stack: Stack, instructor: Person) -> Actor:
    """The instructor through the API: what a test needs to exist before its page."""
    return Actor(instructor.user_id, stack.client(instructor.token))


@pytest.fixture(scope="module")
def teaching(stack: Stack, browser: Browser, axe_source: str, instructor: Person) -> Iterator[Tab]:
    """The instructor's signed-in tab, shared by the file's tests (one sign-in)."""
    context, tab = open_tab(browser, stack.base_url, axe_source)
    try:
        sign_in(tab, instructor.username, instructor.password)
        yield tab
        tab.check()
    finally:
        context.close()


def tag() -> str:
    return uuid.uuid4().hex[:6]


def form(page: Page, name: str) -> Locator:
    return page.get_by_role("form", name=name)


def outline(page: Page) -> Locator:
    return page.get_by_role("list", name="Outline")


def posts_list(page: Page) -> Locator:
    return page.get_by_role("list", name="Posts")


def expect_order(listing: Locator, titles: list[str]) -> None:
    """The list's items, in order, each naming its title (waits for a swap to land)."""
    patterns = [re.compile(re.escape(title)) for title in titles]
    expect(listing.get_by_role("listitem")).to_have_text(patterns)


def item(listing: Locator, title: str) -> Locator:
    return listing.get_by_role("listitem").filter(has=listing.page.get_by_text(title, exact=True))


def course_order(author: Actor, course_id: str) -> list[str]:
    return [m["title"] for m in author.ok("GET", f"/courses/{course_id}/modules")]


def post_order(author: Actor, module_id: str) -> list[str]:
    return [p["title"] for p in author.ok("GET", f"/modules/{module_id}/posts?limit=100")["items"]]


# ---------------------------------------------------------------- building a course


def test_build_a_course_from_a_new_and_a_reused_module(
    teaching: Tab, author: Actor, stack: Stack
) -> None:
    t = tag()
    reused = author.module(f"Reused basics {t}")
    elsewhere = author.course("Another course")
    author.attach(elsewhere["id"], reused["id"])
    page = teaching.page

    teaching.goto("/teach")
    expect(page.get_by_role("heading", level=1, name="Teaching")).to_be_visible()
    expect(page.get_by_role("link", name="Teach")).to_be_visible()
    library = page.get_by_role("list", name="Module library")
    expect(item(library, reused["title"])).to_contain_text(elsewhere["title"])  # where it is used
    teaching.audit()

    page.get_by_role("link", name="New course").click()
    expect(page.get_by_role("heading", level=1, name="New course")).to_be_visible()
    teaching.audit("course-new")
    page.get_by_label("Description").fill("Tables, *queries* and transactions.")
    page.get_by_role("button", name="Create course").click()  # no title: refused
    expect(page.get_by_role("alert")).to_contain_text("Enter a title")
    expect(page.get_by_label("Title")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Description")).to_have_value("Tables, *queries* and transactions.")
    teaching.audit()
    title = f"Databases from the browser {t}"
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Create course").click()
    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
    expect(page.get_by_text("Course created as a draft")).to_be_visible()
    course_id = page.url.rstrip("/").split("/")[-1]

    # Reuse: find the module in the library, attach it.
    attach = page.get_by_role("region", name="Attach a module")
    attach.get_by_role("searchbox", name="Search your library").fill(f"basics {t}")
    attach.get_by_role("button", name="Search").click()
    attach_form = form(page, "Attach a module")
    expect(attach_form.get_by_label("Module").locator("option")).to_have_text([reused["title"]])
    attach_form.get_by_label("Module").select_option(label=reused["title"])
    attach_form.get_by_role("button", name="Attach").click()
    expect_order(outline(page), [reused["title"]])

    # New: a module created in place, attached at the end.
    fresh = f"Fresh module {t}"
    create = form(page, "Create a module here")
    create.get_by_label("Name").fill(fresh)
    create.get_by_role("button", name="Create and attach").click()
    expect_order(outline(page), [reused["title"], fresh])
    first = item(outline(page), reused["title"])
    for name in ("Move up", "Move down", "Detach"):
        expect(first.get_by_role("button", name=exactly(name))).to_have_count(1)
    expect(first.get_by_role("link", name="Prerequisites and unlock date")).to_be_visible()
    for name in ("Students", "Grading", "Gradebook"):
        expect(page.get_by_role("link", name=exactly(name))).to_have_attribute(
            "href", f"/teach/courses/{course_id}/{name.lower()}"
        )

    # The course's details: saved, and a refused save keeps what was typed.
    details = form(page, "Course details")
    details.get_by_label("Learning objectives").fill("- Write a SELECT")
    details.get_by_label("Title").fill("")
    details.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter a title")
    expect(form(page, "Course details").get_by_label("Learning objectives")).to_have_value(
        "- Write a SELECT"
    )
    form(page, "Course details").get_by_label("Title").fill(title)
    form(page, "Course details").get_by_label("Sequential").check()
    form(page, "Course details").get_by_role("button", name="Save").click()
    expect(page.get_by_text("Course saved.")).to_be_visible()
    expect(form(page, "Course details").get_by_label("Sequential")).to_be_checked()
    teaching.audit("course-editor")

    # Fill the new module: posts of three kinds, each a draft until published.
    item(outline(page), fresh).get_by_role("link", name=fresh).click()
    expect(page.get_by_role("heading", level=1, name=fresh)).to_be_visible()
    expect(page.get_by_role("region", name="Used in")).to_contain_text(title)
    new_post = form(page, "New post")
    new_post.get_by_label("Title").fill("Welcome")
    new_post.get_by_label("Kind").select_option(label="Text")
    expect(new_post.get_by_label("URL")).to_be_hidden()  # the script shows a kind's fields
    new_post.get_by_label("Body").fill("# Hello\n\nRead **this** first.")
    new_post.get_by_role("button", name="Create post").click()
    welcome = item(posts_list(page), "Welcome")
    expect(welcome.get_by_text("Draft", exact=True)).to_be_visible()
    welcome.get_by_role("button", name=exactly("Publish")).click()
    expect(
        item(posts_list(page), "Welcome").get_by_role("button", name="Unpublish")
    ).to_be_visible()

    new_post = form(page, "New post")
    new_post.get_by_label("Title").fill("Read the manual")
    new_post.get_by_label("Kind").select_option(label="Link")
    new_post.get_by_label("URL").fill("javascript:alert(1)")
    new_post.get_by_role("button", name="Create post").click()
    expect(page.get_by_role("alert")).to_contain_text("starts with http:// or https://")
    new_post = form(page, "New post")
    expect(new_post.get_by_label("Title")).to_have_value("Read the manual")
    new_post.get_by_label("URL").fill("https://docs.example.com/manual")
    new_post.get_by_role("button", name="Create post").click()
    expect(item(posts_list(page), "Read the manual")).to_be_visible()

    new_post = form(page, "New post")
    new_post.get_by_label("Title").fill("Write a query")
    new_post.get_by_label("Kind").select_option(label="Assignment")
    new_post.get_by_label("Instructions").fill("Select every *course*.")
    new_post.get_by_label("Max points").fill("10")
    new_post.get_by_label("Due").fill("2031-01-15T17:00")
    new_post.get_by_role("button", name="Create post").click()
    expect_order(posts_list(page), ["Welcome", "Read the manual", "Write a query"])
    teaching.audit("module-editor")

    # The assignment as it was typed, in its own editor.
    item(posts_list(page), "Write a query").get_by_role("link", name="Write a query").click()
    expect(page.get_by_label("Instructions")).to_have_value("Select every *course*.")
    expect(page.get_by_label("Max points")).to_have_value("10")
    expect(page.get_by_label("Due")).to_have_value("2031-01-15T17:00")
    page.get_by_label("Attempts").fill("2")
    page.get_by_label("Completion rule").select_option(label="The student reaches a minimum score")
    page.get_by_label("Min score").fill("11")
    page.get_by_role("button", name=exactly("Save")).click()
    expect(page.get_by_label("Min score")).to_have_attribute("aria-invalid", "true")  # > max
    expect(page.get_by_label("Attempts")).to_have_value("2")
    page.get_by_label("Min score").fill("6")
    page.get_by_role("button", name=exactly("Save")).click()
    expect(page.get_by_text("Post saved.")).to_be_visible()
    content = author.ok("GET", f"/modules/{_module_id(page)}/posts")["items"][2]
    assert content["content"]["attempts"] == 2
    assert content["completion"] == {"rule": "min_score", "min_score": 6.0}
    teaching.audit("post-editor")


def _module_id(page: Page) -> str:
    href = page.get_by_role("navigation", name="Breadcrumb").get_by_role("link").last
    return str(href.get_attribute("href")).rstrip("/").split("/")[-1].split("#")[0]


def test_text_post_preview_is_sanitised_and_enter_saves(teaching: Tab, author: Actor) -> None:
    module = author.module(f"Notes {tag()}")
    post = author.post(module["id"], "Notes", "text", status="draft")
    page = teaching.page
    teaching.goto(f"/teach/posts/{post['id']}")
    page.get_by_label("Body").fill(
        "## Joins\n\n[bad](javascript:alert(1)) <script>alert(2)</script> **ok**"
    )
    page.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("region", name="Preview")
    expect(preview.get_by_role("heading", name="Joins")).to_be_visible()
    expect(preview.get_by_text("<script>alert(2)</script>", exact=False)).to_be_visible()
    expect(preview.get_by_role("link")).to_have_count(0)  # no javascript: link
    expect(page.get_by_label("Body")).to_have_value(re.compile("## Joins"))  # kept as typed
    teaching.audit("post-preview")
    page.get_by_label("Title").fill("Notes on joins")
    page.get_by_label("Title").press("Enter")  # Enter saves: not Preview, not another button
    expect(page.get_by_text("Post saved.")).to_be_visible()
    assert author.ok("GET", f"/posts/{post['id']}")["title"] == "Notes on joins"


# ---------------------------------------------------------------- order


def test_reorder_modules_and_posts_by_buttons_and_drag_and_drop(
    teaching: Tab, author: Actor
) -> None:
    t = tag()
    course = author.course("Ordered")
    names = [f"{n} {t}" for n in ("Alpha", "Beta", "Gamma")]
    modules = [author.module(name) for name in names]
    for module in modules:
        author.attach(course["id"], module["id"])
    page = teaching.page
    teaching.goto(f"/teach/courses/{course['id']}")
    a, b, c = names
    expect_order(outline(page), [a, b, c])
    expect(item(outline(page), a).get_by_role("button", name="Move up")).to_be_disabled()

    item(outline(page), a).get_by_role("button", name="Move down").click()
    expect_order(outline(page), [b, a, c])
    item(outline(page), c).get_by_role("button", name="Move up").click()
    expect_order(outline(page), [b, c, a])
    assert course_order(author, course["id"]) == [b, c, a]

    # Mouse: drag Alpha's handle above Beta.
    handle = page.get_by_role("button", name=f"Reorder {a}")
    handle.drag_to(item(outline(page), b), target_position={"x": 20, "y": 4})
    expect_order(outline(page), [a, b, c])
    expect(item(outline(page), a).get_by_role("button", name="Move up")).to_be_disabled()
    assert course_order(author, course["id"]) == [a, b, c]

    # Keyboard: pick Gamma up, two steps up, drop; focus stays on its handle.
    page.get_by_role("button", name=f"Reorder {c}").focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name=f"Reorder {c}")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Space")
    expect_order(outline(page), [c, a, b])
    expect(page.get_by_role("button", name=f"Reorder {c}")).to_be_focused()
    eventually(lambda: course_order(author, course["id"]) == [c, a, b])
    # Escape puts it back.
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Escape")
    expect_order(outline(page), [c, a, b])

    item(outline(page), b).get_by_role("button", name="Detach").click()
    expect_order(outline(page), [c, a])

    # A module's posts: the same, on its page.
    module = modules[0]
    for title in ("One", "Two", "Three"):
        author.post(module["id"], title, "text", status="draft")
    teaching.goto(f"/teach/modules/{module['id']}")
    posts = posts_list(page)
    expect_order(posts, ["One", "Two", "Three"])
    item(posts, "One").get_by_role("button", name="Move down").click()
    expect_order(posts_list(page), ["Two", "One", "Three"])
    page.get_by_role("button", name="Reorder Three").drag_to(
        item(posts_list(page), "Two"), target_position={"x": 20, "y": 4}
    )
    expect_order(posts_list(page), ["Three", "Two", "One"])
    # Saved and the page fetched again: the first item's Move up is off once it arrived.
    expect(item(posts_list(page), "Three").get_by_role("button", name="Move up")).to_be_disabled()
    page.get_by_role("button", name="Reorder One").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    expect_order(posts_list(page), ["Three", "One", "Two"])
    eventually(lambda: post_order(author, module["id"]) == ["Three", "One", "Two"])


# ---------------------------------------------------------------- gating


def test_prerequisites_unlock_date_and_a_cycle_refused(teaching: Tab, author: Actor) -> None:
    t = tag()
    course = author.course("Gated")
    first = author.module(f"Foundations {t}")
    second = author.module(f"Advanced {t}")
    for module in (first, second):
        author.attach(course["id"], module["id"])
    page = teaching.page
    teaching.goto(f"/teach/courses/{course['id']}")
    item(outline(page), second["title"]).get_by_role(
        "link", name="Prerequisites and unlock date"
    ).click()
    gating = form(page, "Prerequisites and unlock date")
    gating.get_by_role("group", name="Prerequisites").get_by_label(first["title"]).check()
    gating.get_by_label("Unlock date").fill("2031-02-03T09:00")
    teaching.audit("prerequisites")
    gating.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Prerequisites and unlock date saved.")).to_be_visible()
    expect(item(outline(page), second["title"])).to_contain_text(f"After: {first['title']}")
    [_, gated] = author.ok("GET", f"/courses/{course['id']}/modules")
    assert gated["prerequisites"] == [first["id"]]
    assert gated["unlock_at"].startswith("2031-02-03T09:00")

    # Foundations after Advanced too: a cycle, refused with both named.
    item(outline(page), first["title"]).get_by_role(
        "link", name="Prerequisites and unlock date"
    ).click()
    form(page, "Prerequisites and unlock date").get_by_label(second["title"]).check()
    form(page, "Prerequisites and unlock date").get_by_role("button", name="Save").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("cycle")
    expect(alert).to_contain_text(first["title"])
    expect(alert).to_contain_text(second["title"])
    expect(
        form(page, "Prerequisites and unlock date").get_by_label(second["title"])
    ).to_be_checked()
    teaching.audit()
    assert author.ok("GET", f"/courses/{course['id']}/modules")[0]["prerequisites"] == []


# ---------------------------------------------------------------- a quiz, published, taken


def test_quiz_editor_publish_and_a_student_takes_it(
    teaching: Tab, author: Actor, stack: Stack, browser: Browser, axe_source: str
) -> None:
    t = tag()
    course = author.course("Quizzed")
    module = author.module(f"Practice {t}")
    author.attach(course["id"], module["id"])
    page = teaching.page
    teaching.goto(f"/teach/modules/{module['id']}")
    new_post = form(page, "New post")
    new_post.get_by_label("Title").fill("Check yourself")
    new_post.get_by_label("Kind").select_option(label="Quiz")
    new_post.get_by_label("Max points").fill("2")
    new_post.get_by_role("button", name="Create post").click()

    # The quiz editor: one question to start, more with the buttons; typed values stay.
    expect(page.get_by_role("heading", level=1, name="New quiz")).to_be_visible()
    editor = form(page, "New post")
    expect(editor.get_by_label("Title")).to_have_value("Check yourself")
    one = editor.get_by_role("group", name="Question 1", exact=True)
    one.get_by_label("Prompt").fill("Which keyword reads rows?")
    one.get_by_label("Choice 1", exact=True).fill("SELECT")
    one.get_by_label("Choice 2", exact=True).fill("DROP")
    one.get_by_role("button", name="Add choice").click()
    one = form(page, "New post").get_by_role("group", name="Question 1", exact=True)
    expect(one.get_by_label("Choice 3", exact=True)).to_be_focused()
    one.get_by_label("Choice 3", exact=True).fill("DELETE")
    one.get_by_role("radio", name="Right answer for choice 1").check()
    form(page, "New post").get_by_role("button", name="Add question").click()
    two = form(page, "New post").get_by_role("group", name="Question 2", exact=True)
    expect(two.get_by_label("Prompt")).to_be_focused()
    expect(
        form(page, "New post")
        .get_by_role("group", name="Question 1", exact=True)
        .get_by_label("Choice 3", exact=True)
    ).to_have_value("DELETE")
    two.get_by_label("Prompt").fill("Is COMMIT the end of a transaction?")
    two.get_by_label("Choice 1", exact=True).fill("Yes")
    two.get_by_label("Choice 2", exact=True).fill("No")
    # Saving without the right answer of question 2: refused, next to the question.
    form(page, "New post").get_by_role("button", name="Create post").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose the right answer")
    two = form(page, "New post").get_by_role("group", name="Question 2", exact=True)
    expect(two.get_by_label("Prompt")).to_have_value("Is COMMIT the end of a transaction?")
    two.get_by_role("radio", name="Right answer for choice 1").check()
    one = form(page, "New post").get_by_role("group", name="Question 1", exact=True)
    one.get_by_role("button", name="Remove choice 3").click()
    one = form(page, "New post").get_by_role("group", name="Question 1", exact=True)
    expect(one.get_by_label("Choice 3", exact=True)).to_have_count(0)
    expect(one.get_by_role("radio", name="Right answer for choice 1")).to_be_checked()
    teaching.audit("quiz-editor")
    form(page, "New post").get_by_role("button", name="Create post").click()

    quiz = item(posts_list(page), "Check yourself")
    expect(quiz.get_by_text("Draft", exact=True)).to_be_visible()
    quiz.get_by_role("button", name=exactly("Publish")).click()
    expect(
        item(posts_list(page), "Check yourself").get_by_role("button", name="Unpublish")
    ).to_be_visible()
    post_href = str(
        item(posts_list(page), "Check yourself")
        .get_by_role("link", name="Check yourself")
        .get_attribute("href")
    )
    post_id = post_href.rstrip("/").split("/")[-1]
    saved = author.ok("GET", f"/posts/{post_id}")["content"]
    assert [q["answer_index"] for q in saved["questions"]] == [0, 0]
    assert saved["questions"][0]["choices"] == ["SELECT", "DROP"]

    # Publish the course: a draft cannot be archived (explained), then published.
    teaching.goto(f"/teach/courses/{course['id']}")
    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_role("alert")).to_contain_text("A draft course cannot be archived")
    page.get_by_role("button", name=exactly("Publish")).click()
    expect(page.get_by_text("Published: students can find the course")).to_be_visible()
    expect(page.get_by_role("button", name=exactly("Publish"))).to_have_count(0)

    # A student takes it, in a browser of their own.
    student = new_person(stack.base_url, stack.admin_token)
    learner = Actor(student.user_id, stack.client(student.token))
    eventually(
        lambda: learner.call("POST", f"/courses/{course['id']}/enrollments").status_code == 201,
        timeout=10,
    )
    eventually(lambda: learner.progress(course["id"])["total_posts"] == 1, timeout=10)
    context, tab = open_tab(browser, stack.base_url, axe_source)
    try:
        sign_in(tab, student.username, student.password)
        expect(tab.page.get_by_role("link", name="Teach")).to_have_count(0)
        tab.goto(f"/courses/{course['id']}/posts/{post_id}")
        taking = tab.page
        taking.get_by_role("group", name="Which keyword reads rows?").get_by_label("SELECT").check()
        taking.get_by_role("group", name="Is COMMIT the end of a transaction?").get_by_label(
            "No"
        ).check()
        taking.get_by_role("button", name="Submit answers").click()
        expect(taking.get_by_text("Score: 1 / 2")).to_be_visible()
        tab.check()
    finally:
        context.close()

    # Archive, and the editor says so.
    teaching.goto(f"/teach/courses/{course['id']}")
    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_text("Archived: the course is out of the catalog")).to_be_visible()
    teaching.goto("/teach")
    archived = page.get_by_role("list", name="Archived")
    expect(archived.get_by_role("link", name=course["title"])).to_be_visible()
    teaching.audit("teach")  # by now: courses of every status, a library in use


# ---------------------------------------------------------------- who may teach


def test_a_student_cannot_reach_teaching_pages(
    stack: Stack, browser: Browser, axe_source: str, author: Actor
) -> None:
    course = author.course("Not yours")
    module = author.module("Not yours either")
    post = author.post(module["id"], "Hidden", "text")
    student = new_person(stack.base_url, stack.admin_token)
    context, tab = open_tab(browser, stack.base_url, axe_source)
    try:
        sign_in(tab, student.username, student.password)
        expect(tab.page.get_by_role("link", name="Teach")).to_have_count(0)
        for path in (
            "/teach",
            "/teach/courses/new",
            f"/teach/courses/{course['id']}",
            f"/teach/courses/{course['id']}/modules/{module['id']}",
            "/teach/modules/new",
            f"/teach/modules/{module['id']}",
            f"/teach/posts/{post['id']}",
        ):
            assert tab.goto(path).status in (403, 404), path
        expect(tab.page.get_by_role("alert")).to_contain_text("instructors and admins")
        tab.audit()
        tab.check()
    finally:
        context.close()


# ---------------------------------------------------------------- without JavaScript, on a phone


def test_teaching_works_without_javascript(
    stack: Stack, browser: Browser, axe_source: str, instructor: Person, author: Actor
) -> None:
    t = tag()
    module = author.module(f"Plain {t}")
    context, tab = open_tab(browser, stack.base_url, axe_source, javascript=False)
    try:
        page = tab.page
        sign_in(tab, instructor.username, instructor.password)
        tab.goto("/teach/modules/new")
        page.get_by_label("Title").fill(f"Scriptless {t}")
        page.get_by_role("button", name="Create module").click()
        expect(page.get_by_role("heading", level=1, name=f"Scriptless {t}")).to_be_visible()
        new_post = form(page, "New post")
        new_post.get_by_label("Title").fill("Quick check")
        new_post.get_by_label("Kind").select_option(label="Quiz")
        new_post.get_by_label("Max points").fill("1")
        new_post.get_by_role("button", name="Create post").click()
        editor = form(page, "New post")
        editor.get_by_label("Prompt").fill("1 + 1?")
        editor.get_by_label("Choice 1", exact=True).fill("2")
        editor.get_by_label("Choice 2", exact=True).fill("3")
        editor.get_by_role("radio", name="Right answer for choice 1").check()
        editor.get_by_role("button", name="Add question").click()
        expect(form(page, "New post").get_by_label("Prompt").first).to_have_value("1 + 1?")
        form(page, "New post").get_by_role("button", name="Remove question 2").click()
        form(page, "New post").get_by_role("button", name="Create post").click()
        expect(item(posts_list(page), "Quick check")).to_be_visible()

        tab.goto("/teach/courses/new")
        page.get_by_label("Title").fill(f"No script {t}")
        page.get_by_role("button", name="Create course").click()
        attach = form(page, "Attach a module")
        attach.get_by_label("Module").select_option(label=module["title"])
        attach.get_by_role("button", name="Attach").click()
        create = form(page, "Create a module here")
        create.get_by_label("Name").fill(f"Second {t}")
        create.get_by_role("button", name="Create and attach").click()
        item(outline(page), f"Second {t}").get_by_role("button", name="Move up").click()
        expect_order(outline(page), [f"Second {t}", module["title"]])
        tab.check()
    finally:
        context.close()


def test_teaching_pages_fit_a_phone(
    stack: Stack, browser: Browser, axe_source: str, instructor: Person, author: Actor
) -> None:
    long = ("Averyveryverylongunbrokenword" * 7)[:190] + " end"
    course = author.course(long[:190])
    module = author.module("M" * 150 + '<script>alert("m")</script>')
    post = author.post(module["id"], "P" * 200, "quiz")
    author.attach(course["id"], module["id"])
    context, tab = open_tab(browser, stack.base_url, axe_source, phone=True)
    try:
        sign_in(tab, instructor.username, instructor.password)
        for path in (
            "/teach",
            "/teach/courses/new",
            f"/teach/courses/{course['id']}",
            f"/teach/courses/{course['id']}/modules/{module['id']}",
            "/teach/modules/new",
            f"/teach/modules/{module['id']}",
            f"/teach/posts/{post['id']}",
            f"/teach/posts/{post['id']}/delete",
        ):
            tab.goto(path)
            tab.no_sideways_scroll()
            if module["id"] in path:  # a hostile title stays text (a dialog fails the test)
                expect(tab.page.get_by_text('<script>alert("m")</script>').first).to_be_visible()
            if path == "/teach/modules/new":
                tab.audit("module-new")
        tab.audit("post-delete")
        tab.page.get_by_role("button", name="Delete post").click()
        expect(tab.page.get_by_text("is deleted")).to_be_visible()
        tab.check()
    finally:
        context.close()

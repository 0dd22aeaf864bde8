"""Live updates in the web app: a page changes by itself, without a reload, when
something changes elsewhere (UI.md, "Live"), through the web's relay of the API's stream."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from browser import Tab, new_person, open_tab, sign_in
from journey import Actor
from playwright.sync_api import Browser, expect

from conftest import Stack, eventually

# The API's promise is 3 s from a write on another service to the event; the page
# fetches itself again at once. A little room for a busy 2-core machine.
LIVE_TIMEOUT_MS = 6_000


@pytest.fixture
def tab(stack: Stack, browser: Browser, axe_source: str) -> Iterator[Tab]:
    context, opened = open_tab(browser, stack.base_url, axe_source)
    try:
        yield opened
        opened.check()
    finally:
        context.close()


def listening(tab: Tab) -> None:
    """Wait until the page's script has the stream open, and mark the document: a reload
    would lose the mark."""
    tab.page.wait_for_function(
        "() => document.getElementById('main').dataset.liveState === 'listening'",
        timeout=10_000,
    )
    tab.page.evaluate("() => { window.notReloaded = true; }")


def not_reloaded(tab: Tab) -> None:
    assert tab.page.evaluate("() => window.notReloaded === true"), "the page was reloaded"


def test_course_page_shows_a_new_module_and_a_grade_without_reload(tab: Tab, stack: Stack) -> None:
    teacher_person = new_person(stack.base_url, stack.admin_token, "instructor", "live")
    teacher = Actor(teacher_person.user_id, stack.client(teacher_person.token))
    course = teacher.ok("POST", "/courses", 201, json={"title": f"Live {uuid.uuid4().hex[:6]}"})
    first = teacher.ok("POST", "/modules", 201, json={"title": "Already here"})
    work = teacher.ok(
        "POST",
        f"/modules/{first['id']}/posts",
        201,
        json={
            "title": "Hand this in",
            "status": "published",
            "content": {"kind": "assignment", "instructions": "Do it.", "max_points": 10},
        },
    )
    teacher.attach(course["id"], first["id"])
    teacher.publish(course["id"])
    person = new_person(stack.base_url, stack.admin_token)
    student = Actor(person.user_id, stack.client(person.token))
    student.enroll(course["id"])
    eventually(lambda: student.progress(course["id"])["total_posts"] == 1, timeout=10)
    submission = student.ok("POST", f"/posts/{work['id']}/submissions", 201, json={"body": "Done."})

    page = tab.page
    sign_in(tab, person.username, person.password)
    tab.goto(f"/courses/{course['id']}")
    expect(page.get_by_role("heading", name="Already here")).to_be_visible()
    listening(tab)

    added = teacher.ok("POST", "/modules", 201, json={"title": "Added while you watch"})
    teacher.ok(
        "POST",
        f"/modules/{added['id']}/posts",
        201,
        json={
            "title": "Fresh post",
            "status": "published",
            "content": {"kind": "text", "body": "New."},
        },
    )
    teacher.attach(course["id"], added["id"])
    expect(page.get_by_role("heading", name="Added while you watch")).to_be_visible(
        timeout=LIVE_TIMEOUT_MS
    )
    expect(page.get_by_role("link", name="Fresh post")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    not_reloaded(tab)

    tab.goto(f"/courses/{course['id']}/posts/{work['id']}")
    expect(page.get_by_text("Submitted", exact=True)).to_be_visible()
    listening(tab)
    teacher.ok(
        "PUT", f"/submissions/{submission['id']}/grade", json={"score": 9, "feedback": "Neat."}
    )
    expect(page.get_by_text("Score: 9 / 10")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(page.get_by_text("Neat.")).to_be_visible()
    not_reloaded(tab)
    tab.audit()


def test_my_courses_follows_progress_made_elsewhere(tab: Tab, stack: Stack) -> None:
    teacher_person = new_person(stack.base_url, stack.admin_token, "instructor", "live")
    teacher = Actor(teacher_person.user_id, stack.client(teacher_person.token))
    title = f"Followed {uuid.uuid4().hex[:6]}"
    course = teacher.ok("POST", "/courses", 201, json={"title": title})
    module = teacher.ok("POST", "/modules", 201, json={"title": "Only module"})
    posts = [
        teacher.ok(
            "POST",
            f"/modules/{module['id']}/posts",
            201,
            json={
                "title": f"Post {n}",
                "status": "published",
                "content": {"kind": "text", "body": "x"},
            },
        )
        for n in (1, 2)
    ]
    teacher.attach(course["id"], module["id"])
    teacher.publish(course["id"])
    person = new_person(stack.base_url, stack.admin_token)
    student = Actor(person.user_id, stack.client(person.token))
    student.enroll(course["id"])
    eventually(lambda: student.progress(course["id"])["total_posts"] == 2, timeout=10)

    page = tab.page
    sign_in(tab, person.username, person.password)
    tab.goto("/")
    bar = page.get_by_role("progressbar", name=title)
    expect(bar).to_have_attribute("value", "0")
    listening(tab)
    student.complete(posts[0]["id"])  # on another device, say
    expect(bar).to_have_attribute("value", "50", timeout=LIVE_TIMEOUT_MS)
    not_reloaded(tab)

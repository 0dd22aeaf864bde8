"""Groups and cohorts in the web app (issue 26), in a real browser against the whole stack.

An instructor creates a group, pastes several usernames at once (one of them nobody's: it
is reported, the others are added), and makes a course follow the group from the course
editor; the members find the course in My courses and their groups under **My groups**.
The roster and the gradebook show one group at a time (the CSV too). A group gets an
unlock date for a module and a student a due date for an assignment, each listed on its
own; the student sees their own due date on the post, a member sees the module locked
until the group's date while a student outside the group does not, and a member cannot
leave a course that their group holds.

Elements are found by role, label and name; every new page passes axe-core (and is
photographed with SCREENSHOTS=1).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from browser import PHONE, Tab, exactly, new_person, open_tab, sign_in
from journey import Actor
from playwright.sync_api import Browser, Locator, Page, expect

from conftest import Stack, eventually

OpenTab = Callable[..., Tab]
# Enrollment through a group reaches every service within 2 s; room for a busy machine.
SETTLE_MS = 10_000


@pytest.fixture
def tabs(stack: Stack, browser: Browser, axe_source: str) -> Iterator[OpenTab]:
    """Browser contexts of their own (one per person), each checked and closed at the end."""
    opened: list[tuple[Any, Tab]] = []

    def open_one(*, javascript: bool = True) -> Tab:
        context, tab = open_tab(browser, stack.base_url, axe_source, javascript=javascript)
        opened.append((context, tab))
        return tab

    try:
        yield open_one
        for _, tab in opened:
            tab.check()
    finally:
        for context, _ in opened:
            context.close()


def form(page: Page, name: str) -> Locator:
    return page.get_by_role("form", name=name)


def at_phone_width(tab: Tab) -> None:
    """Nothing on the page makes a 360 px wide screen scroll sideways."""
    size = tab.page.viewport_size
    tab.page.set_viewport_size({"width": PHONE["width"], "height": PHONE["height"]})
    tab.no_sideways_scroll()
    if size:
        tab.page.set_viewport_size(size)


def reload_until(page: Page, locator: Locator, timeout_ms: int = SETTLE_MS) -> None:
    """Reload the page until ``locator`` shows (what another service learns by events)."""
    end = time.monotonic() + timeout_ms / 1000
    while True:
        if locator.count() and locator.first.is_visible():
            return
        if time.monotonic() > end:
            expect(locator.first).to_be_visible()
            return
        page.wait_for_timeout(300)
        page.reload()


def test_a_class_is_enrolled_filtered_and_given_its_own_dates(stack: Stack, tabs: OpenTab) -> None:
    tag = uuid.uuid4().hex[:6]
    teacher = new_person(stack.base_url, stack.admin_token, "instructor", "teach")
    ada = new_person(stack.base_url, stack.admin_token, prefix="ada")
    bob = new_person(stack.base_url, stack.admin_token, prefix="bob")
    cyd = new_person(stack.base_url, stack.admin_token, prefix="cyd")  # not in the group
    api = Actor(teacher.user_id, stack.client(teacher.token))
    course = api.course(f"Cohort course {tag}", publish=False)
    week1, week2 = api.module("Week one"), api.module("Week two")
    essay = api.ok(
        "POST",
        f"/modules/{week1['id']}/posts",
        201,
        json={
            "title": "Essay",
            "status": "published",
            "content": {"kind": "assignment", "instructions": "Write.", "max_points": 10},
        },
    )
    api.ok(
        "POST",
        f"/modules/{week2['id']}/posts",
        201,
        json={
            "title": "Later reading",
            "status": "published",
            "content": {"kind": "text", "body": "Hi."},
        },
    )
    api.attach(course["id"], week1["id"])
    api.attach(course["id"], week2["id"])
    api.publish(course["id"])
    # A student outside the group enrolls themselves: the filters must leave them out.
    Actor(cyd.user_id, stack.client(cyd.token)).enroll(course["id"])

    tab = tabs()
    page = tab.page
    sign_in(tab, teacher.username, teacher.password)

    # -- a group, and its members pasted at once (one username is nobody's)
    tab.goto("/teach")
    page.get_by_role("link", name=exactly("Groups")).click()
    expect(page.get_by_role("heading", name="Groups", level=1)).to_be_visible()
    tab.audit("groups")
    new_group = form(page, "New group")
    new_group.get_by_role("button", name="Create group").click()
    expect(new_group.get_by_text("Enter a name of 1 to 200 characters.").first).to_be_visible()
    group_name = f"Class of {tag}"
    new_group.get_by_label("Name").fill(group_name)
    new_group.get_by_label("Description").fill("Evening class")
    new_group.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", name=group_name, level=1)).to_be_visible()
    group_url = page.url
    ghost = f"nobody_{tag}"
    adding = form(page, "Add members")
    adding.get_by_label("Usernames").fill(f"{ada.username}\n{bob.username.upper()}, {ghost}")
    adding.get_by_role("button", name="Add members").click()
    expect(page.get_by_role("status").filter(has_text="Added 2 members")).to_be_visible()
    problem = page.get_by_role("alert").filter(has_text=ghost)
    expect(problem).to_contain_text(f"No account has the username {ghost}")
    expect(form(page, "Add members").get_by_label("Usernames")).to_have_value(ghost)
    members = page.get_by_role("table", name=f"Members of {group_name}")
    expect(members.get_by_role("row")).to_have_count(3)  # the header and two members
    expect(members).to_contain_text(ada.username)
    expect(members).to_contain_text(bob.username)
    tab.audit("group")
    at_phone_width(tab)
    # The same person again: said, not an error.
    form(page, "Add members").get_by_label("Usernames").fill(ada.username)
    form(page, "Add members").get_by_role("button", name="Add members").click()
    expect(page.get_by_role("status").filter(has_text="was already a member")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)

    # -- the course follows the group
    tab.goto(f"/teach/courses/{course['id']}")
    follow = form(page, "Follow a group")
    follow.get_by_label("Group").select_option(label=f"{group_name} (2 members)")
    follow.get_by_role("button", name="Follow").click()
    expect(
        page.get_by_role("status").filter(has_text=f"This course follows “{group_name}”")
    ).to_be_visible()
    followed = page.get_by_role("table", name="Groups this course follows")
    row = followed.get_by_role("row").filter(has_text=group_name)
    expect(row.get_by_role("cell").nth(0)).to_have_text("2")  # members
    expect(row.get_by_role("cell").nth(1)).to_have_text("2")  # enrolled
    tab.audit("course-groups")
    at_phone_width(tab)

    # -- a member finds the course and their group
    member = tabs()
    sign_in(member, ada.username, ada.password)
    reload_until(member.page, member.page.get_by_role("link", name=course["title"]))
    expect(member.page.get_by_role("heading", name="My groups")).to_be_visible()
    expect(member.page.get_by_role("list", name="My groups")).to_contain_text(group_name)
    expect(member.page.get_by_text(f"Through your group {group_name}")).to_be_visible()
    member.audit("my-groups")
    at_phone_width(member)

    # -- the roster and the gradebook, one group at a time
    tab.goto(f"/teach/courses/{course['id']}/students")
    roster = page.get_by_role("table")
    reload_until(page, roster.get_by_role("row").filter(has_text=bob.username))
    expect(roster).to_contain_text(cyd.username)
    filtering = page.get_by_role("search", name="Filter")
    filtering.get_by_label("Group").select_option(label=group_name)
    filtering.get_by_role("button", name="Show").click()
    expect(page.get_by_text(f"Showing the members of “{group_name}” only.")).to_be_visible()
    expect(roster).to_contain_text(ada.username)
    expect(roster).to_contain_text(bob.username)
    expect(roster).not_to_contain_text(cyd.username)
    # Sorting keeps the group.
    page.get_by_role("link", name="Progress", exact=True).click()
    expect(page.get_by_label("Group")).to_have_value(re.compile(r"[0-9a-f-]{36}"))
    expect(roster).not_to_contain_text(cyd.username)
    tab.audit("students-group")
    at_phone_width(tab)

    tab.goto(f"/teach/courses/{course['id']}/gradebook")
    book = page.get_by_role("table")
    reload_until(page, book.get_by_role("row").filter(has_text=bob.username))
    expect(book).to_contain_text(cyd.username)
    filtering = page.get_by_role("search", name="Filter")
    filtering.get_by_label("Group").select_option(label=group_name)
    filtering.get_by_role("button", name="Show").click()
    expect(book).to_contain_text(ada.username)
    expect(book).not_to_contain_text(cyd.username)
    tab.audit("gradebook-group")
    at_phone_width(tab)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.endswith(f"-class-of-{tag}.csv")
    text = download.value.path().read_text()
    assert ada.username in text and bob.username in text
    assert cyd.username not in text

    # -- an unlock date for the group, listed on its own
    tab.goto(f"/teach/courses/{course['id']}")
    outline = page.get_by_role("list", name="Outline")
    week_two = outline.get_by_role("listitem").filter(has_text="Week two").first
    week_two.get_by_role("link", name="Prerequisites and unlock date").click()
    group_date = form(page, "Date for a group")
    group_date.get_by_label("Group").select_option(label=group_name)
    group_date.get_by_label("Opens on").fill("2030-03-04T09:00")
    group_date.get_by_role("button", name="Set date").click()
    expect(
        page.get_by_role("status").filter(has_text="Unlock date set for the group")
    ).to_be_visible()
    dates = page.get_by_role("list", name="Dates for groups and students")
    expect(dates.get_by_role("listitem")).to_have_count(1)
    expect(dates).to_contain_text(f"{group_name} (group)")
    expect(dates).to_contain_text("Opens Monday 4 March 2030, 09:00 UTC")
    # A student outside the group cannot be given a date in this course.
    student_date = form(page, "Date for a student")
    student_date.get_by_label("Username").fill(ghost)
    student_date.get_by_label("Opens on").fill("2030-01-01T09:00")
    student_date.get_by_role("button", name="Set date").click()
    expect(form(page, "Date for a student")).to_contain_text(f"No account has the username {ghost}")
    expect(form(page, "Date for a student").get_by_label("Username")).to_have_value(ghost)
    tab.audit("unlock-dates")
    at_phone_width(tab)
    tab.goto(f"/teach/courses/{course['id']}")
    expect(
        page.get_by_role("group", name="Unlock dates of groups and students for Week two")
    ).to_contain_text(f"Opens Monday 4 March 2030, 09:00 UTC for {group_name} (group)")
    expect(page.get_by_role("list", name="Outline").get_by_role("listitem")).to_have_count(2)

    # -- a due date for one student, listed on its own
    tab.goto(f"/teach/posts/{essay['id']}")
    outsider = new_person(stack.base_url, stack.admin_token, prefix="out")
    student_date = form(page, "Date for a student")
    student_date.get_by_label("Username").fill(outsider.username)
    student_date.get_by_label("Deadline").fill("2030-05-06T17:00")
    student_date.get_by_role("button", name="Set date").click()
    expect(form(page, "Date for a student")).to_contain_text(
        f"{outsider.username} is not enrolled in a course that has this post."
    )
    student_date = form(page, "Date for a student")
    student_date.get_by_label("Username").fill(ada.username)
    student_date.get_by_label("Deadline").fill("2030-05-06T17:00")
    student_date.get_by_role("button", name="Set date").click()
    expect(
        page.get_by_role("status").filter(has_text=f"Due date set for {ada.username}")
    ).to_be_visible()
    dates = page.get_by_role("list", name="Dates for groups and students")
    expect(dates.get_by_role("listitem")).to_have_count(1)
    expect(dates).to_contain_text(f"{ada.username} (student)")
    expect(dates).to_contain_text("Due Monday 6 May 2030, 17:00 UTC")
    tab.audit("due-dates")
    at_phone_width(tab)

    # -- the member sees their own due date, and the module locked until the group's date
    member.goto(f"/courses/{course['id']}/posts/{essay['id']}")
    due = member.page.locator("time[datetime='2030-05-06T17:00:00+00:00']")
    reload_until(member.page, due)
    expect(member.page.get_by_text("(your own date)")).to_be_visible()
    member.goto(f"/courses/{course['id']}")
    week = member.page.get_by_role("region", name="Week two")
    reload_until(member.page, week.locator("time[datetime='2030-03-04T09:00:00+00:00']"))
    expect(week.get_by_text("Locked", exact=True).first).to_be_visible()
    # Somebody outside the group has the course's date (none): open.
    outside = tabs()
    sign_in(outside, cyd.username, cyd.password)
    outside.goto(f"/courses/{course['id']}")
    theirs = outside.page.get_by_role("region", name="Week two")
    expect(theirs).to_be_visible()
    expect(theirs.get_by_text("Locked", exact=True)).to_have_count(0)
    # A member cannot leave a course their group holds: said in words.
    member.page.get_by_role("button", name="Leave course").click()
    expect(member.page.get_by_role("alert")).to_contain_text(
        f"You are in this course through your group “{group_name}”"
    )

    # -- removing: the date, a member, the follow, the group
    tab.goto(f"/teach/posts/{essay['id']}")
    page.get_by_role("button", name=f"Remove the date for {ada.username}").click()
    expect(page.get_by_text("No group or student has a date of their own.")).to_be_visible()
    page.goto(group_url)
    page.get_by_role("button", name=f"Remove {bob.username}").click()
    expect(page.get_by_role("status").filter(has_text="is no longer in the group")).to_be_visible()
    expect(page.get_by_role("table", name=f"Members of {group_name}")).not_to_contain_text(
        bob.username
    )
    tab.goto(f"/teach/courses/{course['id']}")
    page.get_by_role("button", name=f"Unfollow {group_name}").click()
    expect(page.get_by_role("status").filter(has_text="no longer follows")).to_be_visible()
    expect(page.get_by_text("This course follows no group.")).to_be_visible()
    page.goto(group_url)
    page.get_by_role("link", name="Delete group").click()
    expect(page.get_by_role("heading", name=f"Delete the group “{group_name}”?")).to_be_visible()
    tab.audit("group-delete")
    page.get_by_role("button", name="Delete group").click()
    expect(
        page.get_by_role("status").filter(has_text=f"Group “{group_name}” is deleted.")
    ).to_be_visible()
    # Bob left the group and was enrolled through it alone: dropped (his work kept).
    eventually(
        lambda: all(
            e["course_id"] != course["id"] or e["status"] == "dropped"
            for e in stack.client(bob.token).get("/api/v1/me/enrollments").json()["items"]
        ),
        timeout=10,
    )


def test_students_may_not_manage_groups(stack: Stack, tabs: OpenTab) -> None:
    student = new_person(stack.base_url, stack.admin_token)
    tab = tabs(javascript=False)
    sign_in(tab, student.username, student.password)
    for path in ("/teach/groups", f"/teach/groups/{uuid.uuid4()}"):
        assert tab.goto(path).status == 403
        expect(tab.page.get_by_role("heading", name="Only for instructors")).to_be_visible()
    expect(tab.page.get_by_role("link", name=exactly("Groups"))).to_have_count(0)

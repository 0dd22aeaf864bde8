"""Groups and cohorts (issue 26) with a fake API under the web's client: usernames pasted
at once become one directory look-up and one bulk add (unknown names reported, kept in the
box), following a group says what happened, the roster, gradebook and CSV pass the group
on, dates per group or student come back with the problem by the field, a student learns
why they cannot leave a course their group holds, and students are refused before any
call. In a real browser against the stack: tests-e2e/test_web_groups.py."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from syllabus_web.pages.grading import csv_filename, group_filter, group_param
from syllabus_web.pages.groups import listed, parse_usernames
from test_staff import COURSE, ME, NOW, FakeApi, answer, course, csrf, problem, sign_in

GROUP = str(uuid.uuid4())


def group(name: str = "Class <A>", **extra: Any) -> dict[str, Any]:
    return {
        "id": GROUP,
        "name": name,
        "description": "Evening",
        "creator_id": ME,
        "member_count": 2,
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
        **extra,
    }


def followed(name: str = "Class <A>") -> dict[str, Any]:
    return {
        "group_id": GROUP,
        "name": name,
        "followed_at": NOW,
        "members": 2,
        "enrolled": 2,
        "completed": 1,
        "average_percent": 55.5,
    }


def entry(username: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "username": username, "display_name": username.title()}


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def teacher(api: FakeApi) -> Any:
    client = sign_in(api, "instructor")
    api.on("GET", f"/groups/{GROUP}", answer(group()))
    api.on("GET", f"/groups/{GROUP}/members", answer({"items": [], "next_cursor": None}))
    yield client
    client.__exit__(None, None, None)


def test_pasted_usernames_are_read_once_each_in_order() -> None:
    text = "ada\nBob, carl;  @dee\tada\n\nADA bob"
    assert parse_usernames(text) == ["ada", "Bob", "carl", "dee"]
    assert parse_usernames(" ,\n ") == []
    assert listed(["a", "b"]) == "a, b"
    assert listed([str(i) for i in range(25)]).endswith("and 5 more")


def test_members_pasted_at_once_one_look_up_one_bulk_add(teacher: TestClient, api: FakeApi) -> None:
    ada, bob, carl = entry("ada"), entry("bob"), entry("carl")
    # The directory knows three of the four names (ignoring case); carl is a member.
    api.on("GET", "/users/directory", answer({"items": [ada, bob, carl], "next_cursor": None}))
    result = {
        "added": [ada["id"], bob["id"]],
        "already_members": [carl["id"]],
        "unknown_user_ids": [],
    }
    api.on("POST", f"/groups/{GROUP}/members", answer(result))
    html = teacher.get(f"/teach/groups/{GROUP}").text
    r = teacher.post(
        f"/teach/groups/{GROUP}/members",
        data={"csrf_token": csrf(html), "usernames": "ADA\nbob, carl zed"},
    )
    assert r.status_code == 422  # a name to correct: the form comes back
    [look_up] = api.called("GET", "/users/directory")
    assert look_up.url.params.get_list("username") == ["ADA", "bob", "carl", "zed"]
    assert look_up.url.params["limit"] == "100"
    [add] = api.called("POST", f"/groups/{GROUP}/members")
    assert json.loads(add.content) == {"user_ids": [ada["id"], bob["id"], carl["id"]]}
    assert "Added 2 members: ada, bob." in r.text
    assert "carl was already a member." in r.text
    assert "No account has the username zed." in r.text
    assert ">zed</textarea>" in r.text  # only the unknown name stays, to correct
    assert 'aria-invalid="true"' in r.text


def test_all_known_usernames_redirect_with_what_happened(teacher: TestClient, api: FakeApi) -> None:
    ada = entry("ada")
    api.on("GET", "/users/directory", answer({"items": [ada], "next_cursor": None}))
    api.on(
        "POST",
        f"/groups/{GROUP}/members",
        answer({"added": [ada["id"]], "already_members": [], "unknown_user_ids": []}),
    )
    html = teacher.get(f"/teach/groups/{GROUP}").text
    r = teacher.post(
        f"/teach/groups/{GROUP}/members",
        data={"csrf_token": csrf(html), "usernames": "ada"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/teach/groups/{GROUP}#members-heading"
    assert "Added 1 member: ada." in teacher.get(r.headers["location"]).text


def test_many_usernames_are_asked_a_hundred_at_a_time(teacher: TestClient, api: FakeApi) -> None:
    api.on("GET", "/users/directory", answer({"items": [], "next_cursor": None}))
    names = [f"user{i}" for i in range(250)]
    html = teacher.get(f"/teach/groups/{GROUP}").text
    r = teacher.post(
        f"/teach/groups/{GROUP}/members",
        data={"csrf_token": csrf(html), "usernames": "\n".join(names)},
    )
    assert r.status_code == 422
    sizes = sorted(
        len(c.url.params.get_list("username")) for c in api.called("GET", "/users/directory")
    )
    assert sizes == [50, 100, 100]
    assert not api.called("POST", f"/groups/{GROUP}/members")  # nobody known: nothing to add
    assert "and 230 more" in r.text
    too_many = "\n".join(f"u{i}" for i in range(1001))
    r = teacher.post(
        f"/teach/groups/{GROUP}/members", data={"csrf_token": csrf(html), "usernames": too_many}
    )
    assert r.status_code == 422 and "Paste at most 1,000 usernames at a time" in r.text


def test_a_taken_group_name_is_said_by_the_field(teacher: TestClient, api: FakeApi) -> None:
    api.on("POST", "/groups", problem(409, "a group named 'x' exists"))
    html = teacher.get("/teach/groups").text
    r = teacher.post("/teach/groups", data={"csrf_token": csrf(html), "name": "Class <A>"})
    assert r.status_code == 409
    assert "A group with this name exists already" in r.text
    assert 'value="Class &lt;A&gt;"' in r.text
    r = teacher.post("/teach/groups", data={"csrf_token": csrf(html), "name": "  "})
    assert r.status_code == 422 and "Enter a name of 1 to 200 characters." in r.text
    assert len(api.called("POST", "/groups")) == 1  # the empty name was never sent


def test_following_says_what_happened(teacher: TestClient, api: FakeApi) -> None:
    api.on("GET", f"/courses/{COURSE}", answer(course()))
    api.on("GET", f"/courses/{COURSE}/modules", answer([]))
    api.on("GET", "/modules", answer({"items": [], "next_cursor": None}))
    api.on(
        "PUT",
        f"/courses/{COURSE}/groups/{GROUP}",
        answer(
            {
                "course_id": COURSE,
                "group_id": GROUP,
                "followed_at": NOW,
                "members": 2,
                "enrolled": 2,
            }
        ),
    )
    html = teacher.get("/teach").text
    r = teacher.post(
        f"/teach/courses/{COURSE}/groups", data={"csrf_token": csrf(html), "group_id": GROUP}
    )
    assert r.status_code == 200  # followed to the editor
    assert "This course follows “Class &lt;A&gt;”: 2 members; 2 of them are enrolled now." in r.text
    api.on("DELETE", f"/courses/{COURSE}/groups/{GROUP}", lambda r: httpx.Response(204))
    r = teacher.post(
        f"/teach/courses/{COURSE}/groups/{GROUP}/unfollow",
        data={"csrf_token": csrf(html), "name": "Class <A>"},
    )
    assert "Its members who were enrolled only through it are dropped" in r.text


def test_the_roster_gradebook_and_csv_pass_the_group_on(teacher: TestClient, api: FakeApi) -> None:
    api.on("GET", f"/courses/{COURSE}", answer(course()))
    api.on("GET", f"/courses/{COURSE}/groups", answer([followed()]))
    api.on("GET", f"/courses/{COURSE}/progress", answer({"items": [], "next_cursor": "n1"}))
    r = teacher.get(f"/teach/courses/{COURSE}/students?group={GROUP}&sort=status")
    assert r.status_code == 200
    [call] = api.called("GET", f"/courses/{COURSE}/progress")
    assert call.url.params["group_id"] == GROUP
    assert f'<option value="{GROUP}" selected>Class &lt;A&gt;</option>' in r.text
    assert f"group={GROUP}" in r.text.split('rel="next"')[1].split(">")[0]  # paging keeps it
    assert "No member of this group is enrolled" in r.text
    # A malformed group is every student, asked without a filter.
    teacher.get(f"/teach/courses/{COURSE}/students?group=nope")
    assert "group_id" not in api.called("GET", f"/courses/{COURSE}/progress")[-1].url.params

    book = {"items": [], "next_cursor": None, "posts": []}
    api.on("GET", f"/courses/{COURSE}/grades", answer(book))
    html = teacher.get(f"/teach/courses/{COURSE}/gradebook?group={GROUP}").text
    assert api.called("GET", f"/courses/{COURSE}/grades")[-1].url.params["group_id"] == GROUP
    assert f'href="/teach/courses/{COURSE}/gradebook.csv?group={GROUP}"' in html

    api.on(
        "GET",
        f"/courses/{COURSE}/grades",
        lambda r: httpx.Response(200, text="user_id\n", headers={"content-type": "text/csv"}),
    )
    r = teacher.get(f"/teach/courses/{COURSE}/gradebook.csv?group={GROUP}")
    assert r.status_code == 200
    assert api.called("GET", f"/courses/{COURSE}/grades")[-1].url.params["group_id"] == GROUP
    assert (
        'filename="grades-databases-from-scratch-class-a.csv"' in r.headers["content-disposition"]
    )


def test_a_group_gone_from_a_filter_shows_every_student(teacher: TestClient, api: FakeApi) -> None:
    api.on("GET", f"/courses/{COURSE}", answer(course()))
    api.on("GET", f"/courses/{COURSE}/progress", problem(404, "no such group"))
    r = teacher.get(f"/teach/courses/{COURSE}/students?group={GROUP}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/teach/courses/{COURSE}/students"


def test_filter_helpers() -> None:
    assert group_param(GROUP) == GROUP and group_param("x") is None and group_param("") is None
    chosen = group_filter([followed()], GROUP)
    assert chosen["name"] == "Class <A>"
    assert [o["selected"] for o in chosen["options"]] == [False, True]
    gone = group_filter([], GROUP)
    assert gone["options"][-1] == {"value": GROUP, "text": "Another group", "selected": True}
    assert csv_filename(course(), {"name": "Class of 2026!"}) == (
        "grades-databases-from-scratch-class-of-2026.csv"
    )


def _module_in_course(api: FakeApi) -> str:
    module_id = str(uuid.uuid4())
    api.on("GET", f"/courses/{COURSE}", answer(course()))
    outline = [
        {
            "module_id": module_id,
            "position": 1,
            "title": "Week 1",
            "prerequisites": [],
            "unlock_at": None,
        }
    ]
    api.on("GET", f"/courses/{COURSE}/modules", answer(outline))
    api.on("GET", f"/courses/{COURSE}/groups", answer([followed()]))
    return module_id


def test_unlock_dates_each_listed_and_refusals_by_the_field(
    teacher: TestClient, api: FakeApi
) -> None:
    module_id = _module_in_course(api)
    ada = entry("ada")
    override = {
        "id": str(uuid.uuid4()),
        "course_id": COURSE,
        "module_id": module_id,
        "kind": "user",
        "target_id": ada["id"],
        "unlock_at": "2030-03-04T09:00:00Z",
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
    }
    group_override = {
        **override,
        "kind": "group",
        "target_id": GROUP,
        "unlock_at": "2030-03-05T09:00:00Z",
    }
    base = f"/courses/{COURSE}/modules/{module_id}/overrides"
    api.on("GET", base, answer([override, group_override]))
    roster_row = {"user_id": ada["id"], "username": "ada", "display_name": "Ada L.", "status": "active",
                  "completed_posts": 0, "total_posts": 1, "percent": 0}  # fmt: skip
    api.on(
        "GET", f"/courses/{COURSE}/progress", answer({"items": [roster_row], "next_cursor": None})
    )
    page = f"/teach/courses/{COURSE}/modules/{module_id}"
    html = teacher.get(page).text
    listed_dates = html.split('class="teach-list dates-list"', 1)[1].split("</ul>")[0]
    # Each date on its own, named; groups first.
    assert listed_dates.index("Class &lt;A&gt;") < listed_dates.index("Ada L. (ada)")
    assert "Opens Monday 4 March 2030, 09:00 UTC" in listed_dates
    assert "Opens Tuesday 5 March 2030, 09:00 UTC" in listed_dates

    # A student not enrolled: the API's 422, said by the username.
    api.on("GET", "/users/directory", answer({"items": [ada], "next_cursor": None}))
    api.on(
        "PUT",
        f"{base}/users/{ada['id']}",
        problem(422, "not enrolled", errors=[{"field": "path.id", "msg": "not enrolled"}]),
    )
    r = teacher.post(
        f"{page}/dates/users",
        data={"csrf_token": csrf(html), "username": "ada", "unlock_at": "2030-01-02T08:00"},
    )
    assert r.status_code == 422
    assert "ada is not enrolled in this course." in r.text
    assert 'value="2030-01-02T08:00"' in r.text
    [sent] = [json.loads(c.content) for c in api.called("PUT", f"{base}/users/{ada['id']}")]
    assert sent == {"unlock_at": "2030-01-02T08:00:00+00:00"}
    # A date the form cannot read: never sent.
    r = teacher.post(
        f"{page}/dates/groups",
        data={"csrf_token": csrf(html), "group_id": GROUP, "unlock_at": "next week"},
    )
    assert r.status_code == 422 and "Enter a date and time, like 2030-03-04 09:00 (UTC)." in r.text
    assert not api.called("PUT", f"{base}/groups/{GROUP}")
    # Removing says so.
    api.on("DELETE", f"{base}/groups/{GROUP}", lambda r: httpx.Response(204))
    r = teacher.post(
        f"{page}/dates/groups/{GROUP}/remove", data={"csrf_token": csrf(html), "who": "Class A"}
    )
    assert "The unlock date for Class A is removed" in r.text


def test_a_student_is_told_why_they_cannot_leave(api: FakeApi) -> None:
    client = sign_in(api, "student")
    api.on("GET", "/me/groups", answer({"items": [group()], "next_cursor": None}))
    api.on(
        "DELETE",
        f"/courses/{COURSE}/enrollments/me",
        problem(409, "this enrollment comes from your group membership", group_ids=[GROUP]),
    )
    api.on("GET", f"/courses/{COURSE}", answer(course()))
    api.on("GET", f"/courses/{COURSE}/modules", answer([]))
    home = client.get("/").text
    assert "My groups" in home and "Class &lt;A&gt;" in home
    r = client.post(f"/courses/{COURSE}/leave", data={"csrf_token": csrf(home)})
    assert "You are in this course through your group “Class &lt;A&gt;”" in r.text
    client.__exit__(None, None, None)


def test_students_get_the_403_page_without_a_call(api: FakeApi) -> None:
    client = sign_in(api, "student")
    before = len(api.calls)
    for path in ("/teach/groups", f"/teach/groups/{GROUP}", f"/teach/groups/{GROUP}/delete"):
        assert client.get(path).status_code == 403
    token = csrf(client.get("/").text)
    before = len(api.calls)
    for path in (
        "/teach/groups",
        f"/teach/groups/{GROUP}/members",
        f"/teach/courses/{COURSE}/groups",
        f"/teach/posts/{uuid.uuid4()}/dates/users",
    ):
        assert client.post(path, data={"csrf_token": token, "usernames": "ada"}).status_code == 403
    assert len(api.calls) == before
    client.__exit__(None, None, None)

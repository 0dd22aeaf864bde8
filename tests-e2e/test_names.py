"""Names, not ids (issue 25), through the gateway: the course owner's roster, gradebook
(JSON and CSV) and submission list show each student's username and display name, which
progress and assessment keep from identity's events (``UserRegistered``,
``UserProfileChanged``) without ever asking identity. A display-name change shows within
the event lag; a deleted account leaves every list.

What travels by events is awaited by bounded polling (API.md promises 2 s).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from journey import Actor, actor, settles, within

from conftest import Stack

LAG = 5.0


def _names_everywhere(owner: Actor, course_id: str, post_id: str) -> Any:
    """user id -> (username, display_name) as each of the owner's four views shows it."""
    roster = owner.ok("GET", f"/courses/{course_id}/progress")["items"]
    book = owner.ok("GET", f"/courses/{course_id}/grades")["items"]
    r = owner.call("GET", f"/courses/{course_id}/grades", 200, headers={"Accept": "text/csv"})
    header, *rows = list(csv.reader(io.StringIO(r.text)))
    assert header[:3] == ["user_id", "username", "display_name"], header
    submissions = owner.ok("GET", f"/posts/{post_id}/submissions")["items"]
    return {
        "roster": {i["user_id"]: (i["username"], i["display_name"]) for i in roster},
        "gradebook": {i["user_id"]: (i["username"], i["display_name"]) for i in book},
        "csv": {row[0]: (row[1], row[2]) for row in rows},
        "submissions": {i["user_id"]: (i["username"], i["display_name"]) for i in submissions},
    }


def _everywhere(names: dict[str, tuple[str, str]]) -> dict[str, Any]:
    return {view: names for view in ("roster", "gradebook", "csv", "submissions")}


def test_names_follow_identity_to_rosters_gradebooks_and_submissions(stack: Stack) -> None:
    ada = actor(stack, "instructor")
    course = ada.course("Named course")
    cid = course["id"]
    module = ada.module("Named module")
    essay = ada.post(module["id"], "Named essay", kind="assignment")
    ada.attach(cid, module["id"])
    ada.publish(cid)

    bo, cy = actor(stack, "student"), actor(stack, "student")
    # Bo names themself; Cy keeps the display name registration gave (the username).
    bo.ok("PATCH", f"/users/{bo.id}", json={"display_name": "Bo Before"})
    me = {who.id: who.ok("GET", "/users/me") for who in (bo, cy)}
    for student in (bo, cy):
        within(2.5, lambda s=student: s.call("POST", f"/courses/{cid}/enrollments"), 201)
        within(
            2.5,
            lambda s=student: s.call(
                "POST", f"/posts/{essay['id']}/submissions", json={"body": "My essay."}
            ),
            201,
        )

    def names() -> dict[str, tuple[str, str]]:
        return {uid: (u["username"], u["display_name"]) for uid, u in me.items()}

    assert me[bo.id]["display_name"] == "Bo Before"
    assert me[cy.id]["display_name"] == me[cy.id]["username"]
    settles(lambda: _names_everywhere(ada, cid, essay["id"]), _everywhere(names()), LAG)

    # A new display name (UserProfileChanged) reaches every view within the lag.
    renamed = bo.ok("PATCH", f"/users/{bo.id}", json={"display_name": 'Bo "After", PhD'})
    me[bo.id] = renamed
    settles(lambda: _names_everywhere(ada, cid, essay["id"]), _everywhere(names()), LAG)

    # The admin renames Cy: the same event, the same way. Its own reads see it at once,
    # without polling: the PATCH's consistency token (the admin client's cookie) names
    # the UserProfileChanged, which progress and assessment consume, so they wait for it.
    admin = Actor("", stack.client(stack.admin_token))
    me[cy.id] = admin.ok("PATCH", f"/users/{cy.id}", json={"display_name": "=Cy (renamed)"})
    expected = _everywhere(names())
    # The CSV neutralises a cell a spreadsheet would run as a formula.
    expected["csv"] = {**names(), cy.id: (me[cy.id]["username"], "'=Cy (renamed)")}
    assert _names_everywhere(admin, cid, essay["id"]) == expected
    settles(lambda: _names_everywhere(ada, cid, essay["id"]), expected, LAG)

    # A deleted account leaves every list (its names with it).
    bo.call("DELETE", "/users/me", 204)
    del me[bo.id]
    expected = _everywhere(names())
    expected["csv"] = {cy.id: (me[cy.id]["username"], "'=Cy (renamed)")}
    settles(lambda: _names_everywhere(ada, cid, essay["id"]), expected, LAG)

"""User journeys through the gateway: build, enroll, progress, reshape, roster, drop.

Changes that travel between services by events are awaited by bounded polling of at
most 2.5 s (API.md promises 2 s); a write followed by a dependent call by the same
client needs no waiting at all (read-your-writes).
"""

from __future__ import annotations

from typing import Any

from journey import Actor, actor, comparable, expected_progress, settles, within

from conftest import Stack, eventually


def _enroll_soon(student: Actor, course_id: str) -> dict[str, Any]:
    """Enroll as soon as progress knows the course is published (within 2 s of it)."""
    r = within(2.5, lambda: student.call("POST", f"/courses/{course_id}/enrollments"), 201)
    enrollment: dict[str, Any] = r.json()
    return enrollment


def _count(reader: Actor, path: str, field: str) -> Any:
    return lambda: reader.ok("GET", path)[field]


def test_build_a_course_from_new_and_reused_modules_then_students_progress(
    stack: Stack,
) -> None:
    ada = actor(stack, "instructor")
    # An earlier course whose module is reused below.
    earlier = ada.course("Data Engineering")
    sql = ada.module("SQL basics")
    # Read-your-writes: posts go into a module the moment it exists.
    s1 = ada.post(sql["id"], "SELECT", "text")
    s2 = ada.post(sql["id"], "Joins", "video")
    ada.post(sql["id"], "Draft notes", "text", status="draft")
    s3 = ada.post(sql["id"], "Check yourself", "quiz", rule="mark_done")
    pipes = ada.module("Pipelines")
    p1 = ada.post(pipes["id"], "Batch or stream", "link")
    ada.attach(earlier["id"], sql["id"])
    ada.attach(earlier["id"], pipes["id"])
    ada.publish(earlier["id"])

    # The new course: one new module, first, and the reused one after it.
    course = ada.course("Databases 101")
    cid = course["id"]
    relational = ada.module("Relational model")
    r1 = ada.post(relational["id"], "Tables", "text")
    r2 = ada.post(relational["id"], "Keys", "assignment", rule="mark_done")
    ada.attach(cid, sql["id"])
    outline = ada.attach(cid, relational["id"], position=1)
    assert [(e["module_id"], e["position"], e["title"]) for e in outline] == [
        (relational["id"], 1, "Relational model"),
        (sql["id"], 2, "SQL basics"),
    ]
    assert ada.publish(cid)["status"] == "published"
    usage = ada.ok("GET", f"/modules/{sql['id']}/courses")["items"]
    assert {(u["course_id"], u["position"]) for u in usage} == {(earlier["id"], 1), (cid, 2)}
    guest = actor(stack, None)
    assert [e["module_id"] for e in guest.ok("GET", f"/courses/{cid}/modules")] == [
        relational["id"],
        sql["id"],
    ]

    # A student enrolls within 2 s of publication and sees the whole course, drafts hidden.
    bo = actor(stack, "student")
    enrollment = _enroll_soon(bo, cid)
    assert enrollment["status"] == "active" and enrollment["completed_at"] is None
    assert (enrollment["user_id"], enrollment["course_id"]) == (bo.id, cid)
    fresh = [
        (relational, [(r1, False), (r2, False)]),
        (sql, [(s1, False), (s2, False), (s3, False)]),
    ]
    settles(
        lambda: comparable(bo.progress(cid)),
        expected_progress(cid, bo.id, fresh, status="active", percent=0.0, next_post=r1),
    )

    # Completing is idempotent (201, then 200) and shows at once in progress.
    bo.complete(r1["id"])
    bo.complete(r1["id"], expect=200)
    bo.complete(s1["id"])
    step = [(relational, [(r1, True), (r2, False)]), (sql, [(s1, True), (s2, False), (s3, False)])]
    assert comparable(bo.progress(cid)) == expected_progress(
        cid, bo.id, step, status="active", percent=40.0, next_post=r2
    )

    # The shared module's completion counts in the other course too.
    _enroll_soon(bo, earlier["id"])
    other = [(sql, [(s1, True), (s2, False), (s3, False)]), (pipes, [(p1, False)])]
    assert comparable(bo.progress(earlier["id"])) == expected_progress(
        earlier["id"], bo.id, other, status="active", percent=25.0, next_post=s2
    )
    mine = {e["course_id"]: e for e in bo.ok("GET", "/me/enrollments")["items"]}
    assert {k: (v["status"], v["percent"]) for k, v in mine.items()} == {
        cid: ("active", 40.0),
        earlier["id"]: ("active", 25.0),
    }

    # Counters kept from progress's events: completions per post, enrollments per course.
    cy = actor(stack, "student")
    _enroll_soon(cy, cid)
    cy.complete(s1["id"])
    settles(_count(ada, f"/posts/{s1['id']}", "completion_count"), 2)
    settles(_count(ada, f"/courses/{cid}", "enrollment_count"), 2)
    settles(_count(ada, f"/courses/{earlier['id']}", "enrollment_count"), 1)

    # Finishing the course completes the enrollment; new content later keeps it completed.
    for post in (r2, s2, s3):
        bo.complete(post["id"])
    done = bo.progress(cid)
    assert (done["status"], done["percent"], done["next_post_id"]) == ("completed", 100.0, None)
    finished = next(e for e in bo.ok("GET", "/me/enrollments")["items"] if e["course_id"] == cid)
    assert finished["status"] == "completed" and finished["completed_at"] is not None
    r3 = ada.post(relational["id"], "Normal forms", "text")
    grown = [
        (relational, [(r1, True), (r2, True), (r3, False)]),
        (sql, [(s1, True), (s2, True), (s3, True)]),
    ]
    settles(
        lambda: comparable(bo.progress(cid)),
        expected_progress(cid, bo.id, grown, status="completed", percent=83.33, next_post=r3),
    )


def test_reshaping_a_course_moves_progress_with_it(stack: Stack) -> None:
    ada = actor(stack, "instructor")
    course = ada.course("Reshaped")
    cid = course["id"]
    x, y, z = (ada.module(name) for name in ("X", "Y", "Z"))
    x1, x2 = ada.post(x["id"], "x1"), ada.post(x["id"], "x2")
    y1 = ada.post(y["id"], "y1")
    z1, z2 = ada.post(z["id"], "z1"), ada.post(z["id"], "z2")
    for module in (x, y, z):
        ada.attach(cid, module["id"])
    ada.publish(cid)
    eve = actor(stack, "student")
    _enroll_soon(eve, cid)

    def shows(modules: Any, percent: float, next_post: Any) -> None:
        expected = expected_progress(
            cid, eve.id, modules, status="active", percent=percent, next_post=next_post
        )
        settles(lambda: comparable(eve.progress(cid)), expected)

    shows(
        [(x, [(x1, False), (x2, False)]), (y, [(y1, False)]), (z, [(z1, False), (z2, False)])],
        0.0,
        x1,
    )
    eve.complete(x1["id"])
    eve.complete(y1["id"])

    # Reorder all modules at once, then move one: the document follows within 2 s.
    ada.ok("PUT", f"/courses/{cid}/modules", json={"module_ids": [z["id"], x["id"], y["id"]]})
    shows(
        [(z, [(z1, False), (z2, False)]), (x, [(x1, True), (x2, False)]), (y, [(y1, True)])],
        40.0,
        z1,
    )
    moved = ada.ok("PATCH", f"/courses/{cid}/modules/{y['id']}", json={"position": 1})
    assert [e["module_id"] for e in moved] == [y["id"], z["id"], x["id"]]
    # Reorder a module's posts.
    ada.ok("PUT", f"/modules/{x['id']}/posts", json={"post_ids": [x2["id"], x1["id"]]})
    shows(
        [(y, [(y1, True)]), (z, [(z1, False), (z2, False)]), (x, [(x2, False), (x1, True)])],
        40.0,
        z1,
    )

    # Detach a module: its posts leave the course.
    ada.call("DELETE", f"/courses/{cid}/modules/{z['id']}", 204)
    shows([(y, [(y1, True)]), (x, [(x2, False), (x1, True)])], 66.67, x2)
    # Unpublish a completed post: it stops counting; publish it again: it counts, still done.
    ada.ok("PATCH", f"/posts/{x1['id']}", json={"status": "draft"})
    shows([(y, [(y1, True)]), (x, [(x2, False)])], 50.0, x2)
    ada.ok("PATCH", f"/posts/{x1['id']}", json={"status": "published"})
    shows([(y, [(y1, True)]), (x, [(x2, False), (x1, True)])], 66.67, x2)
    # Re-attach at the front; delete a completed post.
    ada.attach(cid, z["id"], position=1)
    ada.call("DELETE", f"/posts/{y1['id']}", 204)
    shows([(z, [(z1, False), (z2, False)]), (y, []), (x, [(x2, False), (x1, True)])], 25.0, z1)


def test_roster_drop_and_re_enroll(stack: Stack) -> None:
    ada = actor(stack, "instructor")
    course = ada.course("Roster")
    cid = course["id"]
    module = ada.module("Only module")
    first, second = ada.post(module["id"], "one"), ada.post(module["id"], "two")
    ada.attach(cid, module["id"])
    ada.publish(cid)
    bo, cy = actor(stack, "student"), actor(stack, "student")
    _enroll_soon(bo, cid)
    _enroll_soon(cy, cid)
    bo.complete(first["id"])

    def roster() -> dict[str, tuple[str, int, int, float]]:
        items = ada.ok("GET", f"/courses/{cid}/progress")["items"]
        return {
            i["user_id"]: (i["status"], i["completed_posts"], i["total_posts"], i["percent"])
            for i in items
        }

    settles(roster, {bo.id: ("active", 1, 2, 50.0), cy.id: ("active", 0, 2, 0.0)})
    settles(_count(ada, f"/courses/{cid}", "enrollment_count"), 2)

    # Drop: the enrollment stays, dropped; completing is refused; the count follows.
    bo.call("DELETE", f"/courses/{cid}/enrollments/me", 204)
    assert roster()[bo.id] == ("dropped", 1, 2, 50.0)
    assert bo.progress(cid)["status"] == "dropped"
    bo.call("PUT", f"/me/completions/{second['id']}", 403)
    bo.call("DELETE", f"/courses/{cid}/enrollments/me", 404)  # not enrolled any more
    settles(_count(ada, f"/courses/{cid}", "enrollment_count"), 1)

    # Re-enroll: the same enrollment, active again, with its completions kept.
    again = bo.enroll(cid)
    assert again["status"] == "active"
    assert bo.progress(cid)["percent"] == 50.0
    bo.call("POST", f"/courses/{cid}/enrollments", 409)  # already enrolled
    bo.complete(second["id"])
    assert roster() == {bo.id: ("completed", 2, 2, 100.0), cy.id: ("active", 0, 2, 0.0)}
    settles(_count(ada, f"/courses/{cid}", "enrollment_count"), 2)
    enrollments = bo.ok("GET", "/me/enrollments")["items"]
    assert [(e["course_id"], e["status"]) for e in enrollments] == [(cid, "completed")]
    assert eventually(lambda: ada.ok("GET", f"/courses/{cid}")["enrollment_count"] == 2)

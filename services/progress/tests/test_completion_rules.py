"""Completion rules through the app (API.md, "Completion rules, prerequisites and
locks"): mark_done, view, submit, min_score; marking a post with another rule (409); a
rule change re-deriving every student's completion within 2 s, set-based, with one event
per changed (user, post)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from syllabus_devkit.testing.asserts import assert_problem, eventually
from test_progress_document import _count, statements

from conftest import API, Progress

RULE_CHANGE_SLA = 2.0


def _post(doc: dict[str, Any], post_id: uuid.UUID) -> dict[str, Any]:
    found: dict[str, Any] = next(
        p for m in doc["modules"] for p in m["posts"] if p["post_id"] == str(post_id)
    )
    return found


async def test_each_rule_and_its_status(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    course = await w.course()
    module = await w.module()
    await w.attach(course, module)
    text = await w.post(module, "text")  # mark_done by default
    video = await w.post(module, "video", kind="video", completion={"rule": "view"})
    assignment = await w.post(module, "assignment", kind="assignment")  # submit by default
    quiz = await w.post(
        module, "quiz", kind="quiz", completion={"rule": "min_score", "min_score": 7}
    )
    await p.synced()
    user, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201

    doc = await p.doc(course, headers)
    assert [(q["rule"], q["min_score"], q["status"]) for q in doc["modules"][0]["posts"]] == [
        ("mark_done", None, "not_started"),
        ("view", None, "not_started"),
        ("submit", None, "not_started"),
        ("min_score", 7.0, "not_started"),
    ]

    # Marking or unmarking a post with another rule: 409 naming the rule.
    for post, rule in ((video, "view"), (assignment, "submit"), (quiz, "min_score")):
        body = assert_problem(await p.complete(post, headers), 409)
        assert body["rule"] == rule and rule in body["detail"]
        url = f"{API}/me/completions/{post}"
        assert assert_problem(await p.client.delete(url, headers=headers), 409)["rule"] == rule

    assert (await p.complete(text, headers)).status_code == 201
    await w.view(video, user)
    await w.view(quiz, user)  # opened: in progress, not done
    await w.submit(assignment, user)  # waiting for a grader: done (submit)
    first = await w.submit(quiz, user, score=5)  # graded below the threshold
    # Each fact comes on its own stream: wait for the last of them (the quiz's grade) too.
    doc = await p.doc_until(
        course,
        headers,
        lambda d: d["completed_posts"] == 3 and _post(d, quiz)["status"] == "graded",
    )
    assert [(q["status"], q["completed"], q["score"]) for q in doc["modules"][0]["posts"]] == [
        ("completed", True, None),
        ("completed", True, None),
        ("completed", True, None),
        ("graded", False, 5.0),
    ]
    assert doc["next_post_id"] == str(quiz) and doc["modules"][0]["state"] == "started"

    # The kept score is the highest graded one, whatever the order of the grades.
    second = await w.submit(quiz, user)
    doc = await p.doc_until(course, headers, lambda d: _post(d, quiz)["status"] == "graded")
    await w.grade(second, 8)
    doc = await p.doc_until(course, headers, lambda d: d["completed_posts"] == 4)
    assert (_post(doc, quiz)["status"], _post(doc, quiz)["score"]) == ("completed", 8.0)
    assert _post(doc, quiz)["completed_at"]
    await w.grade(first, 6)  # a regrade of the lower one changes nothing
    await p.synced()
    # 100 % through events alone: the decider completes the enrollment (and module).
    doc = await p.doc_until(course, headers, lambda d: d["status"] == "completed")
    assert doc["percent"] == 100.0 and _post(doc, quiz)["score"] == 8.0
    completed = [e for e in await p.events("CourseCompleted") if e["data"]["user_id"] == str(user)]
    assert len(completed) == 1

    # A regrade that lowers the kept score below the threshold un-completes the post.
    await w.grade(second, 4)
    doc = await p.doc_until(course, headers, lambda d: d["completed_posts"] == 3)
    assert _post(doc, quiz)["score"] == 6.0 and _post(doc, quiz)["status"] == "graded"
    assert doc["status"] == "completed"  # stays completed


async def test_a_view_reaches_only_the_viewing_student(shared_progress: Progress) -> None:
    p = shared_progress
    w = p.world
    course, modules, _ = await w.course_with(1, 0)
    video = await w.post(modules[0], kind="video", completion={"rule": "view"})
    await p.synced()
    viewer, viewer_headers = p.student()
    _, other_headers = p.student()
    for headers in (viewer_headers, other_headers):
        assert (await p.enroll(course, headers)).status_code == 201
    await w.view(video, viewer)
    await w.view(video, viewer)  # a second PostViewed for the pair: one fact
    await p.doc_until(course, viewer_headers, lambda d: d["percent"] == 100.0)
    assert (await p.doc(course, other_headers))["percent"] == 0.0
    assert len(await p.events("PostCompleted")) >= 1


async def test_a_rule_change_re_derives_every_student(progress: Progress) -> None:
    p = progress
    w = p.world
    course, modules, _ = await w.course_with(1, 0)
    post = await w.post(modules[0])  # mark_done
    other = await w.post(modules[0])
    await p.synced()
    students = [p.student() for _ in range(4)]
    for _, headers in students:
        assert (await p.enroll(course, headers)).status_code == 201
    (u0, h0), (u1, h1), (u2, h2), (_, h3) = students
    assert (await p.complete(post, h0)).status_code == 201  # marked, not viewed
    assert (await p.complete(post, h1)).status_code == 201  # marked and viewed
    await w.view(post, u1)
    await w.view(post, u2)  # viewed, not marked
    await p.synced()
    assert [(await p.doc(course, h))["completed_posts"] for _, h in students] == [1, 1, 0, 0]
    before = len(await p.events("PostCompleted", "PostUncompleted"))

    started = time.monotonic()
    await w.update_post(post, completion={"rule": "view"})
    for headers, expected in ((h0, 0), (h1, 1), (h2, 1), (h3, 0)):
        await p.doc_until(
            course,
            headers,
            lambda d, expected=expected: d["completed_posts"] == expected,
            timeout=RULE_CHANGE_SLA,
        )
    assert time.monotonic() - started < RULE_CHANGE_SLA + 0.5
    # One event per (user, post) whose completion changed: u0 lost it, u2 gained it.
    changed = (await p.events("PostCompleted", "PostUncompleted"))[before:]
    assert sorted((e["type"].split(".")[2], e["data"]["user_id"]) for e in changed) == sorted(
        [("PostUncompleted", str(u0)), ("PostCompleted", str(u2))]
    )
    # Marking it now is refused; changing the rule back restores the marks.
    assert assert_problem(await p.complete(post, h0), 409)["rule"] == "view"
    await w.update_post(post, completion={"rule": "mark_done"})
    await p.doc_until(course, h0, lambda d: d["completed_posts"] == 1)
    await p.doc_until(course, h2, lambda d: d["completed_posts"] == 0)
    # Another post of the same students is untouched.
    assert (await p.complete(other, h3)).status_code == 201

    # A completed enrollment stays completed when a rule change takes a post away.
    assert (await p.complete(other, h1)).status_code == 201
    await p.doc_until(course, h1, lambda d: d["status"] == "completed")
    await w.update_post(post, completion={"rule": "view"})
    await w.update_post(other, kind="quiz", completion={"rule": "submit"})
    doc = await p.doc_until(course, h1, lambda d: d["completed_posts"] == 1)
    assert doc["status"] == "completed"


async def test_older_producers_without_a_rule_get_the_kind_default(
    shared_progress: Progress,
) -> None:
    p = shared_progress
    w = p.world
    course, modules, _ = await w.course_with(1, 0)
    quiz = await w.post(modules[0], kind="quiz")  # no completion in the event: submit
    await p.synced()
    user, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201
    assert assert_problem(await p.complete(quiz, headers), 409)["rule"] == "submit"
    await w.submit(quiz, user)
    doc = await p.doc_until(course, headers, lambda d: d["percent"] == 100.0)
    assert _post(doc, quiz)["status"] == "completed"


async def test_facts_before_their_post_count_once_it_arrives(shared_progress: Progress) -> None:
    """A submission (assessment's stream) can land before the post (content's)."""
    p = shared_progress
    w = p.world
    course, modules, _ = await w.course_with(1, 0)
    await p.synced()
    user, headers = p.student()
    assert (await p.enroll(course, headers)).status_code == 201
    quiz = await w.post(modules[0], kind="quiz", hold=True)
    await w.submit(quiz, user, score=9)
    await p.synced()
    await w.deliver(w.take_held())
    await p.doc_until(course, headers, lambda d: d["percent"] == 100.0)

    async def completed_count() -> int:
        return len(await p.events("PostCompleted"))

    assert await eventually(completed_count, lambda n: n >= 1) >= 1


async def test_a_rule_change_is_set_based(progress: Progress) -> None:
    """The handler of a rule change takes the same statements for 3 students as for 30:
    one derivation statement for all of them, one outbox statement for all the events."""
    from sqlalchemy import event as sa_event
    from syllabus_progress import projection
    from syllabus_shared.contracts import content as pe
    from syllabus_shared.unit_of_work import UnitOfWork

    p = progress
    w = p.world
    counts = []
    for students in (3, 30):
        course, modules, _ = await w.course_with(1, 0)
        post = await w.post(modules[0])
        await p.synced()
        for _ in range(students):
            user, headers = p.student()
            assert (await p.enroll(course, headers)).status_code == 201
            await w.view(post, user, hold=True)
        await w.deliver(w.take_held())
        await p.synced()
        state = {**w.posts[post], "completion": pe.CompletionRule(rule="view")}
        event = pe.PostUpdated(post_id=post, position=1, **state)
        engine = p.runtime.db.engine.sync_engine
        sa_event.listen(engine, "before_cursor_execute", _count)
        try:
            with statements() as seen:  # this task's statements only
                await projection.on_post(UnitOfWork(p.runtime.db, p.runtime.outbox), event)
        finally:
            sa_event.remove(engine, "before_cursor_execute", _count)
        counts.append(len(seen))
        changed = [e for e in await p.events("PostCompleted") if e["data"]["post_id"] == str(post)]
        assert len(changed) == students
    assert counts[0] == counts[1], counts

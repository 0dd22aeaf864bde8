"""Assessment's events reach its ASSESSMENT stream once each, in CloudEvents form, with the
submission's version as their sequence, and their data is what the contract declares."""

from __future__ import annotations

import json
from typing import Any

import nats
from syllabus_devkit.testing.asserts import eventually
from syllabus_shared.contracts import Envelope
from syllabus_shared.contracts import assessment as ev
from syllabus_shared.messaging.outbox import subject_for

from conftest import Assessment


async def _published(a: Assessment) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    """Every message of this test's ASSESSMENT stream, once the outbox is drained."""
    await a.runtime.relay.drain()
    rows = await eventually(a.outbox, lambda rows: all(r.published_at is not None for r in rows))
    assert all(r.published_at is not None for r in rows), "outbox not drained"
    stream = f"{a.settings.event_namespace.upper()}_ASSESSMENT"
    nc = await nats.connect(a.settings.nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        messages = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            assert msg.data is not None and msg.subject is not None
            messages.append((msg.subject, json.loads(msg.data), dict(msg.headers or {})))
        return messages
    finally:
        await nc.close()


async def test_submissions_and_grades_are_published_once_each(assessment: Assessment) -> None:
    a = assessment
    s = await a.setup()
    quiz = await a.submitted(s.quiz, s.student, {"answers": [1, 0, 0]})
    essay = await a.submitted(s.assignment, s.student, {"body": "essay"})
    r = await a.grade(essay["id"], 18, a.as_("instructor", s.module_owner), feedback="ok")
    assert r.status_code == 200

    messages = await _published(a)
    ns = a.settings.event_namespace
    seen = [(subject, body["subject"], body["sequence"]) for subject, body, _ in messages]
    assert seen == [
        (subject_for(ns, ev.SubmissionCreated), quiz["id"], 1),
        (subject_for(ns, ev.SubmissionCreated), essay["id"], 1),
        (subject_for(ns, ev.SubmissionGraded), essay["id"], 2),
    ]
    for _, body, headers in messages:
        envelope = Envelope.model_validate(body)
        assert headers["Nats-Msg-Id"] == str(envelope.id)
        assert envelope.source == "assessment"
        assert envelope.aggregatetype == "submission"
    graded = ev.SubmissionGraded.model_validate(messages[2][1]["data"])
    assert str(graded.submission_id) == essay["id"]
    assert (graded.status, graded.score, graded.kept_score) == ("graded", 18.0, 18.0)
    assert graded.grader_id == s.module_owner
    assert graded.attempt == 1 and graded.max_points == 20 and graded.late is False
    created = ev.SubmissionCreated.model_validate(messages[0][1]["data"])
    assert (created.status, created.score, created.kept_score) == ("graded", 6.67, 6.67)
    assert created.user_id == s.student and created.post_id == s.quiz

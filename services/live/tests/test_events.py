"""What a stream sends: ``ready`` first, each notice to its person only (its stream
sequence as the id, the fields of its kind), and on a resume exactly what was missed."""

from __future__ import annotations

import json
import uuid
from typing import Any

from syllabus_devkit.testing.tokens import TokenFactory

from conftest import Live, notice, running_live


async def test_ready_comes_first_with_where_the_stream_starts(live: Live) -> None:
    someone = uuid.uuid4()
    await live.notify(notice(someone, "progress"))
    last = await live.notify(notice(someone, "progress"))

    async with live.stream(uuid.uuid4()) as s:
        assert s.seen[0] is s.ready  # nothing (not even a comment) before it
        assert s.ready.event == "ready"
        assert s.ready.id == str(last)
        assert s.ready.json() == {}
        assert s.response.headers["cache-control"] == "no-cache"
        # Nobody else's notices before it are sent.
        await s.quiet(0.3)


async def test_each_kind_reaches_its_person_with_its_sequence_and_fields(live: Live) -> None:
    me = uuid.uuid4()
    async with live.stream(me) as s:
        course, post, submission = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        other_course = uuid.uuid4()
        sent = [
            # Fields another kind carries are not sent (only the kind's own).
            notice(me, "progress", course_id=course, reason="unlock", score=3.0),
            notice(
                me,
                "grade",
                submission_id=submission,
                post_id=post,
                status="graded",
                score=9.5,
                course_id=course,
            ),
            notice(me, "roster", course_id=course, reason="structure"),
            notice(
                me,
                "submission",
                submission_id=submission,
                post_id=post,
                course_ids=[course, other_course],
            ),
        ]
        seqs = [await live.notify(n) for n in sent]
        expected: list[tuple[str, dict[str, Any]]] = [
            ("progress", {"course_id": str(course), "reason": "unlock"}),
            (
                "grade",
                {
                    "submission_id": str(submission),
                    "post_id": str(post),
                    "status": "graded",
                    "score": 9.5,
                },
            ),
            ("roster", {"course_id": str(course)}),
            (
                "submission",
                {
                    "submission_id": str(submission),
                    "post_id": str(post),
                    "course_ids": [str(course), str(other_course)],
                },
            ),
        ]
        for seq, n, (kind, data) in zip(seqs, sent, expected, strict=True):
            event = await s.event(kind)
            assert event.id == str(seq)
            assert event.json() == {**data, "consistency": n.consistency}
        assert len(set(seqs)) == 4 and int(s.ready.id or "") < seqs[0]


async def test_a_notice_that_names_someone_else_reaches_nobody(live: Live) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    async with live.stream(a) as sa, live.stream(b) as sb:
        # On A's subject, but for B: neither A (not theirs) nor B (not their subject).
        await live.notify(notice(b, "grade"), subject_user=a)
        # Not notices at all, or of a kind this live does not know (a newer producer's).
        subject = f"{live.namespace}.live.user.{a}"
        for payload in (
            b"not json",
            b"[]",
            b'{"data": "text"}',
            b'{"data": null}',
            json.dumps({"data": {"kind": "badge", "user_id": str(a)}}).encode(),
        ):
            await live.publish(subject, payload, live.live_stream)
        mine_a = await live.notify(notice(a, "progress"))
        mine_b = await live.notify(notice(b, "progress"))

        assert (await sa.event("progress")).id == str(mine_a)
        assert (await sb.event("progress")).id == str(mine_b)
        await sa.quiet(0.2)
        await sb.quiet(0.05)
    # Nor on a resume, which reads A's subject from the stream.
    async with live.stream(a, last_event_id=sa.ready.id) as again:
        assert (await again.next()).id == str(mine_a)
        await again.quiet(0.2)


async def test_another_persons_stream_never_gets_mine(live: Live) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    async with live.stream(a) as sa, live.stream(b) as sb:
        for _ in range(3):
            await live.notify(notice(a, "progress"))
        await live.notify(notice(a, "grade"))
        theirs = await live.notify(notice(b, "roster"))

        assert [(await sa.next()).event for _ in range(4)] == [
            "progress",
            "progress",
            "progress",
            "grade",
        ]
        first = await sb.next()
        assert (first.event, first.id) == ("roster", str(theirs))
        await sb.quiet(0.2)
        assert [f.event for f in sb.seen] == ["ready", "roster"]


async def test_resume_sends_exactly_the_missed_ones_of_this_person(live: Live) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    async with live.stream(a) as s:
        await live.notify(notice(a, "progress"))
        seen = await s.event("progress")
    assert seen.id is not None

    # While away: two of A's, one of B's, one on A's subject naming B.
    missed = [await live.notify(notice(a, "progress"))]
    await live.notify(notice(b, "progress"))
    await live.notify(notice(b, "grade"), subject_user=a)
    missed.append(await live.notify(notice(a, "grade")))

    async with live.stream(a, last_event_id=seen.id) as s:
        assert s.ready.id == seen.id  # the stream starts where the client was
        got = [await s.next() for _ in missed]
        assert [(f.event, f.id) for f in got] == [
            ("progress", str(missed[0])),
            ("grade", str(missed[1])),
        ]
        # Then new ones, and nothing sent twice in between (replay and live overlap).
        new = await live.notify(notice(a, "roster"))
        nxt = await s.next()
        assert (nxt.event, nxt.id) == ("roster", str(new))
        await s.quiet(0.2)


async def test_ready_id_resumes_a_client_that_got_nothing_else(live: Live) -> None:
    a = uuid.uuid4()
    async with live.stream(a) as s:
        ready = s.ready.id
    assert ready is not None
    seq = await live.notify(notice(a, "progress"))
    async with live.stream(a, last_event_id=ready) as s:
        assert (await s.next()).id == str(seq)


async def test_an_id_from_the_future_begins_with_reset(live: Live) -> None:
    a = uuid.uuid4()
    await live.notify(notice(a, "progress"))
    _, last = await live.position()
    async with live.stream(a, last_event_id=str(last + 1000)) as s:
        assert s.ready.id == str(last)  # starts from now
        reset = await s.next()
        assert (reset.event, reset.json()) == ("reset", {})
        seq = await live.notify(notice(a, "progress"))
        assert (await s.event("progress")).id == str(seq)


async def test_an_id_no_longer_kept_begins_with_reset(live: Live) -> None:
    a = uuid.uuid4()
    old = await live.notify(notice(a, "progress"))
    await live.notify(notice(a, "progress"))
    await live.js.purge_stream(live.live_stream)  # as if they had aged out
    first, last = await live.position()
    assert first > old + 1

    async with live.stream(a, last_event_id=str(old)) as s:
        assert s.ready.id == str(last)
        assert (await s.next()).event == "reset"
        await s.quiet(0.2)  # the purged ones are not sent
    # The last id the stream had is still a good place to resume from.
    async with live.stream(a, last_event_id=str(last)) as s:
        await s.quiet(0.2)


async def test_more_missed_than_the_replay_limit_begin_with_reset(
    nats_url: str, namespace: str, tokens: TokenFactory
) -> None:
    async with running_live(nats_url, namespace, tokens, replay_limit=3) as live:
        a = uuid.uuid4()
        async with live.stream(a) as s:
            start = s.ready.id
        assert start is not None
        three = [await live.notify(notice(a, "progress")) for _ in range(3)]
        async with live.stream(a, last_event_id=start) as s:
            assert [(await s.next()).id for _ in range(3)] == [str(q) for q in three]
            await s.quiet(0.2)

        four = [await live.notify(notice(a, "progress")) for _ in range(4)]
        async with live.stream(a, last_event_id=str(three[-1])) as s:
            # Instead of the flood: reset first, and none of the missed ones.
            reset = await s.next()
            assert reset.event == "reset", s.seen
            assert reset.id == str(four[-1])
            await s.quiet(0.2)
            seq = await live.notify(notice(a, "grade"))
            assert (await s.next()).id == str(seq)

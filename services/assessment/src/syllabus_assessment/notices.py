"""Whom a submission concerns, told through the live stream (contracts.notices).

Assessment knows who grades what, so it decides who hears of a submission; the
``assessment-notices`` consumer reads assessment's own events back (the request that
submitted or graded pays nothing for it) and records one notice per person:

- ``grade`` to the student, whenever a submission of theirs is graded (a quiz as it is
  submitted, an assignment when a grader grades or regrades it);
- ``submission`` to the post's graders, when an assignment waits for a grade: the owner
  of the post's module and the owner of every course that contains the post and in which
  the student is enrolled (``course_ids``: those courses). Admins may grade anything but
  are not told of every submission;
- ``roster`` to the owners of those courses (their gradebooks moved).

Each carries the token of the event it is about, so the progress a grade completes is
shown by the next read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from syllabus_shared.contracts import assessment as ae
from syllabus_shared.notify import tell
from syllabus_shared.unit_of_work import UnitOfWork

# Per (student, post): each course that contains the post and in which the student is
# enrolled, with its owner, and the owner of the post's module.
_GRADERS = text("""
SELECT k.user_id, k.post_id, cm.course_id, c.creator_id AS course_owner,
       m.creator_id AS module_owner
FROM unnest(CAST(:user_ids AS uuid[]), CAST(:post_ids AS uuid[])) AS k(user_id, post_id)
JOIN posts p ON p.post_id = k.post_id
LEFT JOIN modules m ON m.module_id = p.module_id
LEFT JOIN course_modules cm ON cm.module_id = p.module_id
    AND EXISTS (SELECT FROM enrollments e WHERE e.course_id = cm.course_id
                AND e.user_id = k.user_id AND e.status IN ('active', 'completed'))
LEFT JOIN courses c ON c.course_id = cm.course_id
""")


async def on_submissions(uow: UnitOfWork, events: Sequence[ae.SubmissionState]) -> None:
    async with uow:
        rows = (
            await uow.session.execute(
                _GRADERS,
                {"user_ids": [e.user_id for e in events], "post_ids": [e.post_id for e in events]},
            )
        ).all()
        courses: dict[tuple[Any, Any], list[Any]] = {}
        graders: dict[tuple[Any, Any], set[Any]] = {}
        for user_id, post_id, course_id, course_owner, module_owner in rows:
            key = (user_id, post_id)
            found = courses.setdefault(key, [])
            owners = graders.setdefault(key, set())
            if module_owner is not None:
                owners.add(module_owner)
            if course_id is not None:
                found.append(course_id)
                if course_owner is not None:
                    owners.add(course_owner)
        recipients: list[dict[str, Any]] = []
        for event in events:
            key = (event.user_id, event.post_id)
            about = {"submission_id": event.submission_id, "post_id": event.post_id}
            status, score = event.status, event.score
            if status == "graded":
                recipients.append(
                    {"user_id": event.user_id, "kind": "grade", "status": status, "score": score}
                    | about
                )
            elif status == "submitted":
                course_ids = sorted(set(courses.get(key, [])), key=str)
                recipients.extend(
                    {"user_id": grader, "kind": "submission", "course_ids": course_ids} | about
                    for grader in sorted(graders.get(key, set()), key=str)
                    if grader != event.user_id
                )
        for _, _, course_id, course_owner, _ in rows:
            if course_id is not None and course_owner is not None:
                recipients.append(
                    {"user_id": course_owner, "kind": "roster", "course_id": course_id}
                )
        await tell(uow, ae.AssessmentNotice, recipients)


async def on_submission(uow: UnitOfWork, event: ae.SubmissionState) -> None:
    await on_submissions(uow, [event])

"""Where students stand: ONE statement reads a set of enrollments with their course's
structure and the students' facts, and :func:`standings` evaluates each with
``rules.evaluate`` (locks, counted completions). The progress document, the enrollment
lists, the roster, the lock check of a mark and the module/course completion decisions
all read through here, so they always agree.

The statement is the enrollments chosen by the caller (a filter and an order, bound
parameters), LATERAL to each the course's modules (outline order, with their gating) and
counted posts (module order, then their own position) with the student's completion row,
view and submissions (count and kept score). An enrollment in a course without modules
gives one row whose module columns are NULL; a module without counted posts one row whose
post columns are NULL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Row, TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from syllabus_progress.rules import (
    COUNTED_POST_STATUS,
    CourseState,
    ModuleFacts,
    PostFacts,
    evaluate,
)

_STATEMENT = """
SELECT e.id AS enrollment_id, e.user_id, e.course_id, e.status AS enrollment_status,
       e.enrolled_at, e.completed_at AS enrollment_completed_at, e.version AS enrollment_version,
       COALESCE(co.sequential, false) AS sequential,
       ARRAY(SELECT mc.module_id FROM module_completions mc WHERE mc.enrollment_id = e.id)
           AS recorded_modules,
       s.module_id, s.prerequisites, s.unlock_at, s.module_title, s.post_id, s.title, s.kind,
       s.rule, s.min_score, s.done, s.completed_at, s.marked, s.viewed, s.submitted, s.graded,
       s.kept_score
FROM ({enrollments}) e
LEFT JOIN courses co ON co.course_id = e.course_id
LEFT JOIN LATERAL (
    SELECT cm.position AS module_position, cm.module_id, cm.prerequisites,
           -- The student's date (docs/dates.md): their own override, else the earliest of
           -- their followed groups' overrides, else the course's.
           COALESCE(
               (SELECT o.unlock_at FROM unlock_overrides o
                WHERE o.course_id = cm.course_id AND o.module_id = cm.module_id
                  AND o.kind = 'user' AND o.target_id = e.user_id),
               (SELECT min(o.unlock_at) FROM unlock_overrides o
                JOIN course_groups f
                  ON f.course_id = o.course_id AND f.group_id = o.target_id AND f.following
                JOIN group_members gm ON gm.group_id = o.target_id AND gm.user_id = e.user_id
                WHERE o.course_id = cm.course_id AND o.module_id = cm.module_id
                  AND o.kind = 'group'),
               cm.unlock_at) AS unlock_at,
           COALESCE(m.title, '') AS module_title,
           p.post_id, p.title, p.kind, p.rule, p.min_score,
           COALESCE(c.completed, false) AS done, c.completed_at,
           COALESCE(c.marked, false) AS marked,
           (v.user_id IS NOT NULL) AS viewed,
           COALESCE(sub.submitted, 0) AS submitted, COALESCE(sub.graded, 0) AS graded,
           sub.kept_score,
           mp.position IS NULL AS unlisted,
           COALESCE(mp.position, p.position) AS post_position
    FROM course_modules cm
    LEFT JOIN modules m ON m.module_id = cm.module_id
    LEFT JOIN posts p
           ON p.module_id = cm.module_id AND p.status = '{published}' AND NOT p.deleted
    LEFT JOIN module_posts mp ON mp.module_id = p.module_id AND mp.post_id = p.post_id
    LEFT JOIN completions c ON c.user_id = e.user_id AND c.post_id = p.post_id
    LEFT JOIN post_views v ON v.user_id = e.user_id AND v.post_id = p.post_id
    LEFT JOIN (
        SELECT su.post_id, count(*) AS submitted,
               count(*) FILTER (WHERE su.status = 'graded') AS graded,
               max(su.score) FILTER (WHERE su.status = 'graded') AS kept_score
        FROM submissions su WHERE su.user_id = e.user_id GROUP BY su.post_id
    ) sub ON sub.post_id = p.post_id
    WHERE cm.course_id = e.course_id AND m.deleted IS NOT TRUE
) s ON true
ORDER BY {order}, s.module_position, s.module_id, s.unlisted, s.post_position, s.post_id
"""


def statement(enrollments: str, order: str = "e.id") -> TextClause:
    """The statement over the enrollments ``enrollments`` selects (SQL selecting
    ``enrollments`` rows, with bound parameters), grouped by ``order`` (over ``e``)."""
    return text(
        _STATEMENT.format(enrollments=enrollments, order=order, published=COUNTED_POST_STATUS)
    )


@dataclass
class Standing:
    """One enrollment, its course's structure with the student's facts, and the
    evaluation of both (``course``)."""

    enrollment_id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID
    status: str
    enrolled_at: dt.datetime
    completed_at: dt.datetime | None
    version: int
    sequential: bool
    recorded: frozenset[uuid.UUID]  # modules whose completion was recorded (ModuleCompleted)
    course: CourseState = field(default_factory=lambda: CourseState([]))
    # Display data the rules do not need: module titles, post titles and kinds.
    module_titles: dict[uuid.UUID, str] = field(default_factory=dict)
    posts: dict[uuid.UUID, tuple[str, str]] = field(default_factory=dict)


def with_done(s: Standing, post_id: uuid.UUID, now: dt.datetime) -> Standing:
    """``s`` as it stands once ``post_id`` is done (a mark just derived): re-evaluated in
    Python, without reading again."""
    modules = [
        replace(
            m.facts,
            posts=[
                replace(p.facts, done=True) if p.facts.post_id == post_id else p.facts
                for p in m.posts
            ],
        )
        for m in s.course.modules
    ]
    return replace(s, course=evaluate(modules, sequential=s.sequential, now=now))


async def standings(
    conn: AsyncConnection | AsyncSession,
    stmt: TextClause,
    params: Mapping[str, Any],
    now: dt.datetime | None = None,
) -> list[Standing]:
    """Run ``stmt`` (from :func:`statement`) and evaluate each enrollment, in order."""
    rows = (await conn.execute(stmt, dict(params))).all()
    return assemble(rows, now or dt.datetime.now(dt.UTC))


def assemble(
    rows: Sequence[Row[Any]] | Sequence[tuple[Any, ...]], now: dt.datetime
) -> list[Standing]:
    """Group the statement's rows by enrollment, module and post, and evaluate each
    enrollment. Rows are unpacked by position (the statement's column order): on the
    document's hot path, a thousand rows' attribute lookups cost more than the SQL."""
    out: list[Standing] = []
    modules: list[ModuleFacts] = []
    posts: list[PostFacts] = []
    current: Standing | None = None
    last_enrollment = last_module = -1

    def finish() -> None:
        if current is not None:
            current.course = evaluate(modules, sequential=current.sequential, now=now)

    for row in rows:
        (
            enrollment_id, user_id, course_id, status, enrolled_at, enrollment_completed_at,
            version, sequential, recorded,
            module_id, prerequisites, unlock_at, module_title,
            post_id, title, kind, rule, min_score, done, completed_at, marked, viewed,
            submitted, graded, kept_score,
        ) = tuple(row)  # fmt: skip
        if current is None or enrollment_id.int != last_enrollment:
            finish()
            last_enrollment, last_module = enrollment_id.int, -1
            current = Standing(
                enrollment_id,
                user_id,
                course_id,
                status,
                enrolled_at,
                enrollment_completed_at,
                version,
                sequential,
                frozenset(recorded or ()),
            )
            out.append(current)
            modules = []
        if module_id is None:
            continue  # a course without modules
        if module_id.int != last_module:
            last_module = module_id.int
            posts = []
            modules.append(ModuleFacts(module_id, tuple(prerequisites or ()), unlock_at, posts))
            current.module_titles[module_id] = module_title
        if post_id is None:
            continue  # a module without counted posts
        posts.append(
            PostFacts(
                post_id,
                rule,
                min_score,
                done,
                completed_at,
                marked,
                viewed,
                submitted > 0,
                graded > 0,
                kept_score,
            )
        )
        current.posts[post_id] = (title, kind)
    finish()
    return out

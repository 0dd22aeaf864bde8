"""Progress's rules that need no database: plain functions, tested without one.

What counts toward a course (the SQL in ``service`` and ``views`` says the same: see
:func:`post_counts` and :func:`module_counts`), percent rounding, the enrollment status
moves, who may do what, and when a read-your-writes wait is over.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from pydantic_core import to_jsonable_python
from syllabus_shared.auth import Principal
from syllabus_shared.problems import Problem, conflict, forbidden, not_found

from syllabus_progress.models import Course

T = TypeVar("T")

# Enrollments that may complete posts ("completed" ones may keep marking more).
ENROLLED = ("active", "completed")
# The only post status that counts toward a course.
COUNTED_POST_STATUS = "published"


# ---------------------------------------------------------------- what counts


def post_counts(status: str, deleted: bool) -> bool:
    """A post counts when it is published and not deleted."""
    return status == COUNTED_POST_STATUS and not deleted


def module_counts(deleted: bool | None) -> bool:
    """A module we have no row for yet (``None``: its events may lag) still counts; a
    deleted one does not."""
    return deleted is not True


def percent(done: int, total: int) -> float:
    """100 * done / total rounded half-up to 2 decimals; 0 when there is nothing to do."""
    if total <= 0:
        return 0.0
    exact = Decimal(100 * done) / Decimal(total)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def course_complete(done: int, total: int) -> bool:
    """A course with something to do is complete once everything is done."""
    return total > 0 and done >= total


# ---------------------------------------------------------------- enrollments


def check_enrollable(course: Course | None) -> Course:
    """The course, if a student may enroll in it: 404 for a course the student cannot
    see; 409 when it is not published."""
    if course is None or course.deleted or course.visibility != "public":
        raise not_found("course")
    if course.status != "published":
        raise conflict(f"the course is {course.status}, not published", kind="course-not-published")
    return course


def already_enrolled() -> Problem:
    return conflict("you are already enrolled in this course", "already-enrolled")


def check_may_reenroll(status: str) -> None:
    """Only a dropped enrollment can be enrolled again."""
    if status != "dropped":
        raise already_enrolled()


def reactivated_status(completed_at: dt.datetime | None) -> str:
    """A dropped enrollment comes back ``completed`` if it had been (it keeps its
    ``completed_at``, so CourseCompleted stays once per enrollment), else ``active``."""
    return "completed" if completed_at else "active"


def may_complete_posts(status: str) -> bool:
    return status in ENROLLED


def completes_course(status: str) -> bool:
    """Only an active enrollment moves to completed (a completed one stays as it is)."""
    return status == "active"


# ---------------------------------------------------------------- completions and roster


def check_completable(post_deleted: bool, post_status: str) -> None:
    if post_deleted or post_status != COUNTED_POST_STATUS:
        raise forbidden("only a published post can be completed")


def check_roster_access(who: Principal, course: Course | None) -> None:
    """The course's owner or an admin may see its roster; others get 403 for a course
    they can see (published and public), else 404."""
    if course is None or course.deleted:
        raise not_found("course")
    if who.is_admin or course.creator_id == who.user_id:
        return
    if course.status == "published" and course.visibility == "public":
        raise forbidden("only the course's owner or an admin may see its roster")
    raise not_found("course")


def check_course_owner(who: Principal, course: Course | None) -> Course:
    """The course's owner or an admin may manage whom it enrolls (the groups it follows);
    others get 403 for a course they can see (published and public), else 404."""
    if course is None or course.deleted:
        raise not_found("course")
    if who.is_admin or course.creator_id == who.user_id:
        return course
    if course.status == "published" and course.visibility == "public":
        raise forbidden("only the course's owner or an admin may manage its groups")
    raise not_found("course")


def held_by_groups(group_ids: Sequence[uuid.UUID]) -> Problem:
    """A student dropping an enrollment that only groups hold (409 naming them)."""
    return Problem(
        409,
        "this enrollment comes from your group membership; it ends when you leave the group"
        " or the course stops following it",
        kind="held-by-group",
        group_ids=[str(g) for g in group_ids],
    )


# ---------------------------------------------------------------- completion rules

MARK_DONE, VIEW, SUBMIT, MIN_SCORE = "mark_done", "view", "submit", "min_score"
RULES = (MARK_DONE, VIEW, SUBMIT, MIN_SCORE)
GRADABLE_KINDS = ("assignment", "quiz")


def rule_of(kind: str, rule: str | None, min_score: float | None) -> tuple[str, float | None]:
    """A post's rule as progress keeps it: the event's, else the kind's default
    (``submit`` for gradable kinds, ``mark_done`` otherwise); ``min_score`` only with
    ``min_score``. An unknown rule name is kept (it is satisfied by nothing)."""
    if rule is None:
        return (SUBMIT if kind in GRADABLE_KINDS else MARK_DONE), None
    return rule, (min_score if rule == MIN_SCORE else None)


def satisfied(
    rule: str,
    min_score: float | None,
    *,
    marked: bool,
    viewed: bool,
    submitted: bool,
    score: float | None,
) -> bool:
    """Whether the facts meet the rule (``projection.DERIVE`` says the same in SQL)."""
    if rule == MARK_DONE:
        return marked
    if rule == VIEW:
        return viewed
    if rule == SUBMIT:
        return submitted
    if rule == MIN_SCORE:
        return score is not None and min_score is not None and score >= min_score
    return False


def check_markable(rule: str) -> None:
    """Only a ``mark_done`` post is marked (or unmarked) by the student: 409 naming the rule."""
    if rule != MARK_DONE:
        raise Problem(
            409,
            f"this post is completed by its rule '{rule}', not by marking it",
            kind="completion-rule",
            rule=rule,
        )


def locked_problem(locks: Sequence[dict[str, Any]]) -> Problem:
    """403 naming why (``locks``, as in the progress document, JSON-ready)."""
    return Problem(403, "this post is locked", kind="locked", locks=to_jsonable_python(locks))


# ---------------------------------------------------------------- locks and states


@dataclass(frozen=True)
class PostFacts:
    """One counted post of a course as the student's facts stand (one row of the
    progress statement). ``done``: the stored derived completion (rule met by facts)."""

    post_id: uuid.UUID
    rule: str = MARK_DONE
    min_score: float | None = None
    done: bool = False
    completed_at: dt.datetime | None = None
    marked: bool = False
    viewed: bool = False
    submitted: bool = False
    graded: bool = False
    score: float | None = None


@dataclass(frozen=True)
class ModuleFacts:
    module_id: uuid.UUID
    prerequisites: Sequence[uuid.UUID] = ()
    unlock_at: dt.datetime | None = None
    posts: Sequence[PostFacts] = ()


@dataclass
class PostState:
    facts: PostFacts
    locks: list[dict[str, Any]] = field(default_factory=list)
    completed: bool = False

    @property
    def locked(self) -> bool:
        return bool(self.locks)

    @property
    def status(self) -> str:
        """``completed`` (counted), else ``graded`` (a graded submission), ``submitted``
        (a submission, none graded), ``in_progress`` (opened, marked or done while locked),
        ``not_started``."""
        f = self.facts
        if self.completed:
            return "completed"
        if f.graded:
            return "graded"
        if f.submitted:
            return "submitted"
        if f.viewed or f.marked or f.done:
            return "in_progress"
        return "not_started"


@dataclass
class ModuleState:
    facts: ModuleFacts
    posts: list[PostState]
    locks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(1 for p in self.posts if p.completed)

    @property
    def total(self) -> int:
        return len(self.posts)

    @property
    def completed(self) -> bool:
        """Every counted post completed (a module without counted posts is not)."""
        return self.total > 0 and self.done == self.total

    @property
    def state(self) -> str:
        if self.locks:
            return "locked"
        if self.completed:
            return "completed"
        if any(p.status != "not_started" for p in self.posts):
            return "started"
        return "unlocked"


@dataclass
class CourseState:
    modules: list[ModuleState]

    @property
    def done(self) -> int:
        return sum(m.done for m in self.modules)

    @property
    def total(self) -> int:
        return sum(m.total for m in self.modules)

    @property
    def next_post_id(self) -> uuid.UUID | None:
        """The first post, in course order, neither completed nor locked."""
        for m in self.modules:
            for p in m.posts:
                if not p.completed and not p.locked:
                    return p.facts.post_id
        return None

    def post(self, post_id: uuid.UUID) -> PostState | None:
        for m in self.modules:
            for p in m.posts:
                if p.facts.post_id == post_id:
                    return p
        return None


def evaluate(modules: Sequence[ModuleFacts], *, sequential: bool, now: dt.datetime) -> CourseState:
    """Locks and counted completions of one student in one course (in course order).

    A post counts as completed when its rule is met by the facts (``done``) AND it is
    not locked. A module is locked while one of its prerequisites (a module of this
    course) is not completed, or before its ``unlock_at``; in a sequential course a post
    is also locked until every post before it, in course order, is completed. Locks
    depend on completions and completions on locks, so this is the least fixed point:
    start from nothing completed and sweep the course in order until nothing changes
    (locks only ever lift as completions grow, so it ends within one sweep per module).
    Prerequisites naming modules not in the course are ignored; a prerequisite without
    counted posts is met; a cycle stays locked.
    """
    present = {m.module_id for m in modules}
    states = [ModuleState(m, [PostState(p) for p in m.posts]) for m in modules]
    by_id = {m.facts.module_id: m for m in states}
    gated = any(pid in present for m in modules for pid in m.prerequisites)

    def prerequisite_met(module_id: uuid.UUID) -> bool:
        m = by_id[module_id]
        return m.completed or m.total == 0

    for _ in range(len(states) + 2):
        changed = False
        first_open: uuid.UUID | None = None  # the first not-completed post so far
        for m in states:
            locks: list[dict[str, Any]] = [
                {"reason": "prerequisite", "module_id": pid}
                for pid in dict.fromkeys(m.facts.prerequisites)
                if pid in present and pid != m.facts.module_id and not prerequisite_met(pid)
            ]
            if m.facts.unlock_at is not None and now < m.facts.unlock_at:
                locks.append({"reason": "unlock_at", "at": m.facts.unlock_at})
            post_locks: list[list[dict[str, Any]]] = []
            for p in m.posts:
                mine = list(locks)
                if sequential and first_open is not None:
                    mine.append({"reason": "sequential", "post_id": first_open})
                completed = p.facts.done and not mine
                if completed != p.completed:
                    p.completed, changed = completed, True
                post_locks.append(mine)
                if not completed and first_open is None:
                    first_open = p.facts.post_id
            for p, mine in zip(m.posts, post_locks, strict=True):
                p.locks = mine
            # The module's own locks; in a sequential course also its first post's.
            m.locks = post_locks[0] if post_locks else locks
        if not changed or not gated:
            break  # without prerequisites one sweep in course order settles everything
    return CourseState(states)


# ---------------------------------------------------------------- read-your-writes


def course_settled(course: Course | None, *, enrollable: bool, recently_minted: bool) -> bool:
    """Whether waiting for the course's events can no longer change the answer.

    Unknown and minted recently: its CourseCreated may be in flight. With ``enrollable``,
    also while it is known but not (yet) published and public: publication happens later
    than creation, so publish→enroll needs the wait whatever the course's age.
    """
    if course is None:
        return not recently_minted
    if course.deleted or not enrollable:
        return True
    return course.status == "published" and course.visibility == "public"


def post_settled(
    known: bool,
    deleted: bool,
    status: str,
    *,
    enrolled: bool,
    containing: bool,
    recently_minted: bool,
) -> bool:
    """Whether completing the post can no longer be helped by events still on their way.

    An unknown post minted recently may be in flight; a known draft may be being
    published; a published post whose module is in none of the caller's enrolled courses
    may be waiting for an attach event. A caller enrolled nowhere cannot be helped by any
    event, so is answered at once.
    """
    if not known:
        return not recently_minted
    if deleted:
        return True
    if status != COUNTED_POST_STATUS:
        return False
    return not enrolled or containing


# ---------------------------------------------------------------- orders in events


def first_of_each(items: Iterable[tuple[T, int]]) -> list[tuple[T, int]]:
    """Drop repeated ids (first wins): a malformed order must not fail on the primary key."""
    seen: set[T] = set()
    out = []
    for item_id, position in items:
        if item_id not in seen:
            seen.add(item_id)
            out.append((item_id, position))
    return out

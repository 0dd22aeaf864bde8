"""Progress's rules that need no database: plain functions, tested without one.

What counts toward a course (the SQL in ``service`` and ``views`` says the same: see
:func:`post_counts` and :func:`module_counts`), percent rounding, the enrollment status
moves, who may do what, and when a read-your-writes wait is over.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

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

"""Progress's rules without a database (``rules.py``): fast, no servers needed."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from syllabus_progress.models import Course
from syllabus_progress.rules import (
    already_enrolled,
    check_completable,
    check_enrollable,
    check_may_reenroll,
    check_roster_access,
    completes_course,
    course_complete,
    course_settled,
    first_of_each,
    may_complete_posts,
    module_counts,
    percent,
    post_counts,
    post_settled,
    reactivated_status,
)
from syllabus_shared.auth import Principal, Role
from syllabus_shared.problems import Problem


def _course(**changes: Any) -> Course:
    values: dict[str, Any] = {
        "course_id": uuid.uuid4(),
        "title": "C",
        "status": "published",
        "visibility": "public",
        "creator_id": uuid.uuid4(),
        "deleted": False,
    }
    values.update(changes)
    return Course(**values)


def _status(call: object) -> tuple[int, str]:
    with pytest.raises(Problem) as caught:
        call()  # type: ignore[operator]
    return caught.value.status, caught.value.kind


# ---------------------------------------------------------------- what counts


@pytest.mark.parametrize(
    ("done", "total", "expected"),
    [
        (0, 0, 0.0),
        (5, 0, 0.0),
        (0, 3, 0.0),
        (1, 3, 33.33),
        (2, 3, 66.67),
        (1, 8, 12.5),
        (1, 200, 0.5),
        (1, 400, 0.25),
        (1, 800, 0.13),  # 0.125 rounds half up, not to even
        (3, 3, 100.0),
    ],
)
def test_percent_rounds_half_up_to_two_decimals(done: int, total: int, expected: float) -> None:
    assert percent(done, total) == expected


def test_only_published_live_posts_count() -> None:
    assert post_counts("published", False)
    assert not post_counts("published", True)
    assert not post_counts("draft", False)


def test_an_unknown_module_counts_a_deleted_one_does_not() -> None:
    assert module_counts(None)
    assert module_counts(False)
    assert not module_counts(True)


def test_a_course_completes_when_everything_is_done() -> None:
    assert course_complete(3, 3)
    assert not course_complete(2, 3)
    assert not course_complete(0, 0)  # nothing to do is not complete


# ---------------------------------------------------------------- enrollments


def test_enrollable_course() -> None:
    course = _course()
    assert check_enrollable(course) is course
    assert _status(lambda: check_enrollable(None))[0] == 404
    assert _status(lambda: check_enrollable(_course(deleted=True)))[0] == 404
    assert _status(lambda: check_enrollable(_course(visibility="private")))[0] == 404
    assert _status(lambda: check_enrollable(_course(status="draft"))) == (
        409,
        "course-not-published",
    )


def test_only_a_dropped_enrollment_enrolls_again() -> None:
    check_may_reenroll("dropped")
    for status in ("active", "completed"):
        assert _status(lambda s=status: check_may_reenroll(s)) == (409, "already-enrolled")
    assert already_enrolled().kind == "already-enrolled"


def test_reactivation_keeps_a_completion() -> None:
    assert reactivated_status(None) == "active"
    assert reactivated_status(dt.datetime.now(dt.UTC)) == "completed"


def test_status_moves() -> None:
    assert may_complete_posts("active") and may_complete_posts("completed")
    assert not may_complete_posts("dropped")
    assert completes_course("active")
    assert not completes_course("completed") and not completes_course("dropped")


# ---------------------------------------------------------------- completions and roster


def test_only_a_published_post_can_be_completed() -> None:
    check_completable(False, "published")
    assert _status(lambda: check_completable(True, "published"))[0] == 403
    assert _status(lambda: check_completable(False, "draft"))[0] == 403


def test_roster_access() -> None:
    owner = Principal(uuid.uuid4(), Role.instructor)
    admin = Principal(uuid.uuid4(), Role.admin)
    other = Principal(uuid.uuid4(), Role.instructor)
    course = _course(creator_id=owner.user_id)
    check_roster_access(owner, course)
    check_roster_access(admin, course)
    assert _status(lambda: check_roster_access(other, course))[0] == 403
    draft = _course(creator_id=owner.user_id, status="draft")
    assert _status(lambda: check_roster_access(other, draft))[0] == 404
    assert _status(lambda: check_roster_access(admin, None))[0] == 404
    assert _status(lambda: check_roster_access(admin, _course(deleted=True)))[0] == 404


# ---------------------------------------------------------------- read-your-writes


def test_course_settled() -> None:
    assert not course_settled(None, enrollable=True, recently_minted=True)
    assert course_settled(None, enrollable=True, recently_minted=False)
    assert course_settled(_course(), enrollable=True, recently_minted=True)
    assert not course_settled(_course(status="draft"), enrollable=True, recently_minted=False)
    assert course_settled(_course(status="draft"), enrollable=False, recently_minted=True)
    assert course_settled(_course(deleted=True), enrollable=True, recently_minted=True)


def test_post_settled() -> None:
    def settled(
        known: bool = True, deleted: bool = False, status: str = "published", **kw: bool
    ) -> bool:
        flags = {"enrolled": True, "containing": True, "recently_minted": False} | kw
        return post_settled(known, deleted, status, **flags)

    assert not settled(known=False, recently_minted=True)
    assert settled(known=False)
    assert settled(deleted=True, status="draft")
    assert not settled(status="draft")
    assert settled()
    assert not settled(containing=False)  # an attach event may be on its way
    assert settled(enrolled=False, containing=False)  # no event can help


def test_first_of_each_drops_repeated_ids() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    assert first_of_each([(a, 1), (b, 2), (a, 3)]) == [(a, 1), (b, 2)]
    assert first_of_each([]) == []

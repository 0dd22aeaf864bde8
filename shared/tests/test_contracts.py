"""The exported JSON Schemas in the repo match the contracts in code."""

from __future__ import annotations

from pathlib import Path

from syllabus_shared.contracts import ALL_EVENTS, EVENTS_BY_TYPE
from syllabus_shared.contracts.export import drift, main

SCHEMAS = Path(__file__).resolve().parents[2] / "contracts" / "schemas"


def test_exported_schemas_match_the_code() -> None:
    problems = drift(SCHEMAS)
    assert problems == [], (
        "event schemas drifted; run `make schemas` and review the diff: " + "; ".join(problems)
    )


def test_drift_is_detected(tmp_path: Path) -> None:
    assert main([str(tmp_path)]) == 0
    assert drift(tmp_path) == []
    victim = next(tmp_path.glob("syllabus.content.PostCreated.v1.json"))
    victim.write_text(victim.read_text().replace('"module_id"', '"module"', 1))
    assert drift(tmp_path) == ["missing or stale: syllabus.content.PostCreated.v1.json"]


def test_every_designed_event_has_a_contract() -> None:
    designed = {
        "UserRegistered",
        "UserRoleChanged",
        "UserProfileChanged",
        "UserDeleted",
        "CourseCreated",
        "CourseUpdated",
        "CoursePublished",
        "CourseArchived",
        "CourseDeleted",
        "ModuleCreated",
        "ModuleUpdated",
        "ModuleDeleted",
        "ModuleAttached",
        "ModuleDetached",
        "CourseModulesReordered",
        "ModuleGatingChanged",
        "PostCreated",
        "PostUpdated",
        "PostPublished",
        "PostUnpublished",
        "PostDeleted",
        "ModulePostsReordered",
        "PostViewed",
        "EnrollmentCreated",
        "EnrollmentDropped",
        "PostCompleted",
        "PostUncompleted",
        "CourseCompleted",
        "ModuleCompleted",
        "SubmissionCreated",
        "SubmissionGraded",
        # Groups and cohorts (issue 26): identity's groups, progress's follows, catalog's
        # and content's dates per group and per student.
        "GroupCreated",
        "GroupUpdated",
        "GroupDeleted",
        "GroupMemberAdded",
        "GroupMemberRemoved",
        "CourseGroupFollowed",
        "CourseGroupUnfollowed",
        "UnlockOverrideSet",
        "UnlockOverrideRemoved",
        "DueOverrideSet",
        "DueOverrideRemoved",
        "Notice",  # one per teller: progress's and assessment's (contracts/notices.py)
    }
    assert {cls.name for cls in ALL_EVENTS} == designed
    assert len(EVENTS_BY_TYPE) == len(designed) + 1

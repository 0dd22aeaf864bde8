"""Convergence checker (RELIABILITY item 10): every projection against its owners' data.

A test/ops tool, so it may read every service's database (services never do). It reads the
owners' tables (catalog: courses, modules, course_modules; content: posts; progress:
enrollments, completions; and each owner's outbox for the aggregates it deleted) and
recomputes every projection another service keeps from their events:

========================================  =============================================
projection                                recomputed from
========================================  =============================================
content  ``modules``                      catalog ``modules`` (+ ModuleDeleted tombstones)
content  ``courses``                      catalog ``courses`` (+ CourseDeleted tombstones)
content  ``course_modules``               catalog ``course_modules``
content  ``completions``                  progress ``completions``
content  ``posts.completion_count``       progress ``completions`` (completed, per post)
progress ``courses``                      catalog ``courses`` (+ tombstones)
progress ``course_modules``               catalog ``course_modules``
progress ``modules``                      catalog ``modules`` (+ tombstones)
progress ``posts``                        content ``posts`` (+ PostDeleted tombstones)
progress ``module_posts``                 content ``posts`` (module, position)
catalog  ``enrollment_projection``        progress ``enrollments``
catalog  ``courses.enrollment_count``     progress ``enrollments`` (active + completed)
progress ``posts.rule``/``min_score``     content ``posts.completion_rule``/``_min_score``
progress ``course_modules`` gating        catalog ``course_modules`` (prerequisites, unlock_at)
progress ``courses.sequential``           catalog ``courses.sequential``
progress ``post_views``                   content ``post_views`` (posts that still exist)
progress ``submissions``                  assessment ``submissions``
progress ``completions.completed``        the facts (progress's marks, content's views,
                                          assessment's submissions and kept scores) and
                                          content's current rules (docs/progress.md)
content  ``posts.completion_count``       the recomputed derived completions
========================================  =============================================

Progress documents (locks, counted completions, states) are checked against
:func:`expected_document` with documents read through the gateway
(:func:`check_documents`; the chaos run does it after the drain).

``lost`` counts owner facts missing from, or different in, a projection; ``unexpected``
counts projection facts no owner has; ``checked`` counts the facts compared. A run is
valid when both are 0. With a workload history (see ``workload.Model``) it also checks the
Jepsen way: every acknowledged write is in its owner and in every projection of it, and
nothing was read that no one wrote.

CLI (``make check-consistency``)::

    python tests-reliability/checker.py                       # the `make run` stack: its
                                                              # DATABASE_URL, else .data
    python tests-reliability/checker.py --database-url postgresql://postgres@127.0.0.1:5432/
    python tests-reliability/checker.py --wait 60 -v          # re-check until it converges

Exit status: 0 when lost=0 and unexpected=0, 1 otherwise, 2 when the databases cannot be read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy.engine import make_url

SERVICES = ("catalog", "content", "progress", "assessment")
# identity is read for the accounts it deleted (when its database is given).
IDENTITY = "identity"
GRADABLE = ("assignment", "quiz")
ENROLLED = ("active", "completed")
Key = Hashable
CENT = Decimal("0.01")
Rows = list[dict[str, Any]]

# Every column that names a user, per service: after a UserDeleted has been applied, none
# may name a deleted account (rows of the user deleted, authorship nulled; docs/events.md).
USER_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "catalog": (
        ("courses", "creator_id"),
        ("modules", "creator_id"),
        ("enrollment_projection", "user_id"),
        ("unlock_overrides", "target_id"),
    ),
    "content": (
        ("posts", "creator_id"),
        ("modules", "creator_id"),
        ("courses", "creator_id"),
        ("completions", "user_id"),
        ("submissions", "user_id"),
        ("post_views", "user_id"),
        ("enrollments", "user_id"),
        ("due_overrides", "target_id"),
    ),
    "progress": (
        ("courses", "creator_id"),
        ("enrollments", "user_id"),
        ("completions", "user_id"),
        ("post_views", "user_id"),
        ("submissions", "user_id"),
        ("users", "user_id"),
        ("group_members", "user_id"),
        ("known_groups", "creator_id"),
        ("unlock_overrides", "target_id"),
    ),
    "assessment": (
        ("courses", "creator_id"),
        ("modules", "creator_id"),
        ("enrollments", "user_id"),
        ("submissions", "user_id"),
        ("submissions", "grader_id"),
        ("post_grades", "user_id"),
        ("users", "user_id"),
        ("group_members", "user_id"),
        ("known_groups", "creator_id"),
        ("due_overrides", "target_id"),
    ),
}
# Columns that name a user only on some rows: an override's target is a user's id when its
# kind is "user" (a group's otherwise).
USER_FILTERS: dict[tuple[str, str], str] = {
    ("unlock_overrides", "target_id"): "kind = 'user'",
    ("due_overrides", "target_id"): "kind = 'user'",
}


def _by_user(service: str) -> str:
    """Rows per (table.column, user) for every user column of ``service``."""
    return " UNION ALL ".join(
        f"SELECT '{table}.{column}' AS what, {column} AS user_id, count(*) AS n FROM {table}"
        f" WHERE {column} IS NOT NULL"
        + (f" AND {USER_FILTERS[(table, column)]}" if (table, column) in USER_FILTERS else "")
        + f" GROUP BY {column}"
        for table, column in USER_COLUMNS[service]
    )


QUERIES: dict[str, dict[str, str]] = {
    "identity": {
        "users": "SELECT id, username, display_name FROM users",
        "deleted_users": "SELECT user_id FROM deleted_users",
        "unpublished": "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL",
        "groups": "SELECT id, name, creator_id, member_count FROM groups",
        "memberships": "SELECT group_id, user_id, active FROM group_memberships",
        "course_groups": "SELECT course_id, group_id FROM course_groups",
        "deleted": "SELECT DISTINCT event_type, aggregate_id FROM outbox"
        " WHERE event_type = 'syllabus.identity.GroupDeleted.v1'",
    },
    "catalog": {
        "courses": "SELECT id, title, status, visibility, creator_id, enrollment_count,"
        " sequential FROM courses",
        "modules": "SELECT id, title, creator_id FROM modules",
        "course_modules": "SELECT course_id, module_id, position, prerequisites, unlock_at"
        " FROM course_modules",
        "enrollment_projection": "SELECT enrollment_id, course_id, status FROM enrollment_projection",
        "deleted": "SELECT DISTINCT event_type, aggregate_id FROM outbox"
        " WHERE event_type IN ('syllabus.catalog.CourseDeleted.v1',"
        " 'syllabus.catalog.ModuleDeleted.v1')",
        "course_groups": "SELECT course_id, group_id FROM course_groups",
        "unlock_overrides": "SELECT course_id, module_id, kind, target_id, unlock_at"
        " FROM unlock_overrides WHERE active",
        "by_user": _by_user("catalog"),
        "deleted_users": "SELECT user_id FROM deleted_users",
        "unpublished": "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL",
    },
    "content": {
        "posts": "SELECT id, module_id, title, position, status, kind,"
        " content->'max_points' AS max_points, content->'questions' AS questions,"
        " completion_count, submission_count, completion_rule, completion_min_score FROM posts",
        "views": "SELECT post_id, user_id FROM post_views",
        "submissions": "SELECT submission_id, post_id, user_id FROM submissions",
        "modules": "SELECT module_id, creator_id, title, deleted FROM modules",
        "courses": "SELECT course_id, status, visibility, creator_id, deleted FROM courses",
        "course_modules": "SELECT course_id, module_id, position FROM course_modules",
        "completions": "SELECT completion_id, post_id, completed FROM completions",
        "deleted": "SELECT DISTINCT event_type, aggregate_id FROM outbox"
        " WHERE event_type = 'syllabus.content.PostDeleted.v1'",
        "course_groups": "SELECT course_id, group_id FROM course_groups",
        "due_overrides": "SELECT post_id, kind, target_id, due_at FROM due_overrides WHERE active",
        "enrollments": "SELECT enrollment_id, user_id, course_id, status FROM enrollments",
        "by_user": _by_user("content"),
        "deleted_users": "SELECT user_id FROM deleted_users",
        "unpublished": "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL",
    },
    "progress": {
        "users": "SELECT user_id, username, display_name FROM users",
        "courses": "SELECT course_id, title, status, visibility, creator_id, deleted, sequential"
        " FROM courses",
        "course_modules": "SELECT course_id, module_id, position, prerequisites, unlock_at"
        " FROM course_modules",
        "modules": "SELECT module_id, title, deleted FROM modules",
        "posts": "SELECT post_id, module_id, title, kind, status, position, max_points, deleted,"
        " rule, min_score FROM posts",
        "module_posts": "SELECT module_id, post_id, position FROM module_posts",
        "enrollments": "SELECT id, user_id, course_id, status, self_enrolled FROM enrollments",
        "completions": "SELECT id, user_id, post_id, completed, marked, version FROM completions",
        "course_groups": "SELECT course_id, group_id, following FROM course_groups",
        "known_groups": "SELECT group_id, name, deleted FROM known_groups",
        "group_members": "SELECT group_id, user_id FROM group_members",
        "unlock_overrides": "SELECT course_id, module_id, kind, target_id, unlock_at"
        " FROM unlock_overrides",
        "views": "SELECT user_id, post_id FROM post_views",
        "submissions": "SELECT submission_id, user_id, post_id, status, score FROM submissions",
        "by_user": _by_user("progress"),
        "deleted_users": "SELECT user_id FROM deleted_users",
        "orphans": "SELECT 'module_completions' AS what, count(*) AS n FROM module_completions"
        " WHERE enrollment_id NOT IN (SELECT id FROM enrollments) UNION ALL"
        " SELECT 'pending_decisions', count(*) FROM pending_decisions"
        " WHERE enrollment_id NOT IN (SELECT id FROM enrollments)",
        "unpublished": "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL",
    },
    "assessment": {
        "users": "SELECT user_id, username, display_name FROM users",
        "courses": "SELECT course_id, status, visibility, creator_id, deleted FROM courses",
        "course_modules": "SELECT course_id, module_id, position FROM course_modules",
        "modules": "SELECT module_id, creator_id, deleted FROM modules",
        "posts": "SELECT post_id, module_id, kind, status, max_points, answer_key, deleted"
        " FROM posts",
        "enrollments": "SELECT enrollment_id, user_id, course_id, status FROM enrollments",
        "submissions": "SELECT id, post_id, user_id, attempt, kind, status, score, late,"
        " max_points, version FROM submissions",
        "post_grades": "SELECT user_id, post_id, attempts_used, status, late, kept_score"
        " FROM post_grades",
        "known_groups": "SELECT group_id, name, deleted FROM known_groups",
        "group_members": "SELECT group_id, user_id FROM group_members",
        "course_groups": "SELECT course_id, group_id FROM course_groups",
        "due_overrides": "SELECT post_id, kind, target_id, due_at FROM due_overrides",
        "by_user": _by_user("assessment"),
        "deleted_users": "SELECT user_id FROM deleted_users",
        "unpublished": "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL",
    },
}


@dataclass
class Snapshot:
    """The rows the checker compares, per service and table."""

    tables: dict[str, dict[str, Rows]]

    def rows(self, service: str, table: str) -> Rows:
        return self.tables[service][table]

    def deleted(self, service: str, event: str) -> set[uuid.UUID]:
        return {
            uuid.UUID(str(r["aggregate_id"]))
            for r in self.rows(service, "deleted")
            if r["event_type"].endswith(f".{event}.v1")
        }

    @property
    def unpublished(self) -> dict[str, int]:
        return {s: int(self.tables[s]["unpublished"][0]["n"]) for s in self.tables}


def load(urls: Mapping[str, str], timeout: int = 10) -> Snapshot:
    """Read every table the checker needs from each service's database (libpq URLs)."""
    tables: dict[str, dict[str, Rows]] = {}
    for service in (IDENTITY, *SERVICES) if IDENTITY in urls else SERVICES:
        url = urls[service].replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(
            url, connect_timeout=timeout, row_factory=dict_row, autocommit=True
        ) as conn:
            # One snapshot per database: the tables of one service agree with each other.
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            tables[service] = {
                name: conn.execute(sql.encode()).fetchall()
                for name, sql in QUERIES[service].items()
            }
            conn.execute("COMMIT")
    return Snapshot(tables)


@dataclass
class Report:
    lost: int = 0
    unexpected: int = 0
    checked: int = 0
    recovered: int = 0
    per_check: dict[str, Counter[str]] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.unexpected == 0

    def line(self) -> str:
        return f"lost={self.lost} unexpected={self.unexpected} checked={self.checked}"

    def add(self, check: str, kind: str, detail: str | None = None) -> None:
        counts = self.per_check.setdefault(check, Counter())
        counts[kind] += 1
        if kind == "lost":
            self.lost += 1
        elif kind == "unexpected":
            self.unexpected += 1
        elif kind == "recovered":
            self.recovered += 1
        if kind != "recovered":
            self.checked += 1
        if detail and kind in ("lost", "unexpected") and len(self.samples) < 40:
            self.samples.append(f"{check}: {kind}: {detail}")

    def compare(self, check: str, expected: Mapping[Any, Any], actual: Mapping[Any, Any]) -> None:
        """Owner facts (``expected``) against a projection's (``actual``), by key."""
        self.per_check.setdefault(check, Counter())
        for key, value in expected.items():
            if key not in actual:
                self.add(check, "lost", f"{key} missing (owner has {value})")
            elif actual[key] != value:
                self.add(check, "lost", f"{key}: projection {actual[key]} != owner {value}")
            else:
                self.add(check, "ok")
        for key in actual.keys() - expected.keys():
            self.add(check, "unexpected", f"{key}: {actual[key]} (no owner fact)")

    def merge(self, other: Report) -> Report:
        self.lost += other.lost
        self.unexpected += other.unexpected
        self.checked += other.checked
        self.recovered += other.recovered
        for name, counts in other.per_check.items():
            self.per_check.setdefault(name, Counter()).update(counts)
        self.samples.extend(other.samples[: max(0, 40 - len(self.samples))])
        return self

    def table(self) -> str:
        lines = []
        for name, counts in sorted(self.per_check.items()):
            lines.append(
                f"  {name:<42} ok={counts['ok']:<6} lost={counts['lost']:<4} "
                f"unexpected={counts['unexpected']}"
            )
        return "\n".join(lines)


def _index(
    rows: Iterable[dict[str, Any]], key: str | tuple[str, ...], *values: str
) -> dict[Any, Any]:
    keys = (key,) if isinstance(key, str) else key
    out: dict[Key, Any] = {}
    for r in rows:
        k = r[keys[0]] if len(keys) == 1 else tuple(r[c] for c in keys)
        out[k] = tuple(r[v] for v in values)
    return out


def _max_points(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_projections(snap: Snapshot) -> Report:
    """Every projection against the recomputation from its owners."""
    report = Report()
    cat = snap.tables["catalog"]
    con = snap.tables["content"]
    pro = snap.tables["progress"]
    live_courses = {r["id"]: r for r in cat["courses"]}
    live_modules = {r["id"]: r for r in cat["modules"]}
    live_posts = {r["id"]: r for r in con["posts"]}
    gone_courses = snap.deleted("catalog", "CourseDeleted") - live_courses.keys()
    gone_modules = snap.deleted("catalog", "ModuleDeleted") - live_modules.keys()
    gone_posts = snap.deleted("content", "PostDeleted") - live_posts.keys()
    links = {(r["course_id"], r["module_id"]): (r["position"],) for r in cat["course_modules"]}

    # content ← catalog
    expected: dict[Key, Any] = {
        m["id"]: (m["creator_id"], m["title"], False) for m in live_modules.values()
    }
    expected |= {m: ("deleted",) for m in gone_modules}
    actual: dict[Any, Any] = {
        r["module_id"]: ("deleted",) if r["deleted"] else (r["creator_id"], r["title"], False)
        for r in con["modules"]
    }
    report.compare("content.modules <- catalog.modules", expected, actual)

    expected = {
        c["id"]: (c["status"], c["visibility"], c["creator_id"], False)
        for c in live_courses.values()
    }
    expected |= {c: ("deleted",) for c in gone_courses}
    actual = {
        r["course_id"]: ("deleted",)
        if r["deleted"]
        else (r["status"], r["visibility"], r["creator_id"], False)
        for r in con["courses"]
    }
    report.compare("content.courses <- catalog.courses", expected, actual)
    report.compare(
        "content.course_modules <- catalog",
        links,
        _index(con["course_modules"], ("course_id", "module_id"), "position"),
    )

    # content ← progress
    # A completion row at version 0 (a mark's, before its derivation) was never published.
    report.compare(
        "content.completions <- progress.completions",
        _index((r for r in pro["completions"] if r["version"] > 0), "id", "post_id", "completed"),
        _index(con["completions"], "completion_id", "post_id", "completed"),
    )
    done = Counter(r["post_id"] for r in pro["completions"] if r["completed"])
    report.compare(
        "content.posts.completion_count <- progress",
        {p: (done.get(p, 0),) for p in live_posts},
        {p: (r["completion_count"],) for p, r in live_posts.items()},
    )

    # progress ← catalog
    tomb_course = ("", "draft", "private", None, True)
    expected = {
        c["id"]: (c["title"], c["status"], c["visibility"], c["creator_id"], False)
        for c in live_courses.values()
    }
    expected |= {c: tomb_course for c in gone_courses}
    report.compare(
        "progress.courses <- catalog.courses",
        expected,
        _index(
            pro["courses"], "course_id", "title", "status", "visibility", "creator_id", "deleted"
        ),
    )
    report.compare(
        "progress.course_modules <- catalog",
        links,
        _index(pro["course_modules"], ("course_id", "module_id"), "position"),
    )
    expected = {m["id"]: (m["title"], False) for m in live_modules.values()}
    expected |= {m: ("", True) for m in gone_modules}
    report.compare(
        "progress.modules <- catalog.modules",
        expected,
        _index(pro["modules"], "module_id", "title", "deleted"),
    )

    # progress ← content. A post's position lives in module_posts (a move alone emits only
    # ModulePostsReordered), so posts are compared without it.
    expected = {
        p["id"]: (
            p["module_id"],
            p["title"],
            p["kind"],
            p["status"],
            _max_points(p["max_points"]),
            False,
        )
        for p in live_posts.values()
    }
    tomb_modules = {
        r["post_id"]: r["module_id"] for r in pro["posts"] if r["post_id"] in gone_posts
    }
    expected |= {p: (tomb_modules.get(p), "", "", "draft", None, True) for p in gone_posts}
    report.compare(
        "progress.posts <- content.posts",
        expected,
        _index(
            pro["posts"], "post_id", "module_id", "title", "kind", "status", "max_points", "deleted"
        ),
    )
    report.compare(
        "progress.module_posts <- content.posts",
        {(p["module_id"], p["id"]): (p["position"],) for p in live_posts.values()},
        _index(pro["module_posts"], ("module_id", "post_id"), "position"),
    )

    # catalog ← progress
    report.compare(
        "catalog.enrollment_projection <- progress",
        _index(pro["enrollments"], "id", "course_id", "status"),
        _index(cat["enrollment_projection"], "enrollment_id", "course_id", "status"),
    )
    counted = Counter(
        r["course_id"] for r in pro["enrollments"] if r["status"] in ("active", "completed")
    )
    report.compare(
        "catalog.courses.enrollment_count <- progress",
        {c: (counted.get(c, 0),) for c in live_courses},
        {c: (r["enrollment_count"],) for c, r in live_courses.items()},
    )
    report.merge(check_deleted_users(snap))
    report.merge(check_names(snap))
    report.merge(check_groups(snap))
    return report.merge(check_assessment(snap)).merge(check_completion_rules(snap))


def check_names(snap: Snapshot) -> Report:
    """progress's and assessment's ``users`` (the names rosters and gradebooks show) equal
    identity's users, every one of them (when identity's database is given)."""
    report = Report()
    if IDENTITY not in snap.tables:
        return report
    expected = {r["id"]: (r["username"], r["display_name"]) for r in snap.rows(IDENTITY, "users")}
    for service in ("progress", "assessment"):
        actual = {
            r["user_id"]: (r["username"], r["display_name"]) for r in snap.rows(service, "users")
        }
        report.compare(f"{service}.users <- identity.users", expected, actual)
    return report


GROUPS_RULE = "progress enrollments <=> sources (item 22)"


def memberships(snap: Snapshot) -> set[tuple[Any, Any]]:
    """(group, user) of every membership: identity's active ones (the source of truth), or
    progress's projection when identity's database is not given."""
    if IDENTITY in snap.tables:
        return {
            (m["group_id"], m["user_id"]) for m in snap.rows(IDENTITY, "memberships") if m["active"]
        }
    return {(m["group_id"], m["user_id"]) for m in snap.rows("progress", "group_members")}


def follows(snap: Snapshot) -> dict[Any, set[Any]]:
    """Course -> the groups it follows (progress owns follows)."""
    out: dict[Any, set[Any]] = {}
    for r in snap.rows("progress", "course_groups"):
        if r["following"]:
            out.setdefault(r["course_id"], set()).add(r["group_id"])
    return out


def check_groups(snap: Snapshot) -> Report:
    """RELIABILITY item 22: groups and cohorts (issue 26; docs/progress.md, "Sources").

    - **The rule**: for every (user, course) of a live course in progress's enrollments or
      held by a group, the enrollment is active (or completed) exactly when the student's
      own source (``self_enrolled``) or a group the course follows (progress's
      ``course_groups.following``) that identity says they belong to (``group_memberships``,
      active; the source of truth, not progress's copy) holds it. Exactly for published
      courses; for a draft or archived one (which enrolls nobody new) only "active implies
      held". A ``self`` source never sits on a dropped enrollment.
    - **Memberships and groups as every keeper holds them**: progress's and assessment's
      ``group_members`` equal identity's active memberships, their ``known_groups`` its
      groups (names) and tombstones (``GroupDeleted`` in identity's outbox); identity's
      ``member_count`` equals its active memberships.
    - **Follows**: catalog's, content's, assessment's and identity's ``course_groups`` equal
      progress's follows (identity's: of groups it still has); no follow of a deleted group.
    - **Dates**: progress's ``unlock_overrides`` equal catalog's active ones, assessment's
      ``due_overrides`` content's; content's ``enrollments`` equal progress's.

    (No completion or grade lost by a drop: every fact stays, :func:`check_history` holds
    the workload's acknowledged ones to it, ``history: facts kept across drops``.)
    """
    report = Report()
    cat = snap.tables["catalog"]
    con = snap.tables["content"]
    pro = snap.tables["progress"]
    ass = snap.tables["assessment"]
    members = memberships(snap)
    followed = follows(snap)
    following = {(c, g) for c, groups in followed.items() for g in groups}
    if IDENTITY in snap.tables:
        idn = snap.tables[IDENTITY]
        live_groups = {g["id"]: g for g in idn["groups"]}
        gone_groups = snap.deleted(IDENTITY, "GroupDeleted") - live_groups.keys()
        count = Counter(g for g, _ in members)
        report.compare(
            "identity.groups.member_count <- memberships",
            {g: (count.get(g, 0),) for g in live_groups},
            {g: (r["member_count"],) for g, r in live_groups.items()},
        )
        expected: dict[Key, Any] = {g: (r["name"], False) for g, r in live_groups.items()}
        expected |= {g: ("", True) for g in gone_groups}
        for service in ("progress", "assessment"):
            rows = snap.rows(service, "known_groups")
            report.compare(
                f"{service}.known_groups <- identity.groups",
                expected,
                {r["group_id"]: ("", True) if r["deleted"] else (r["name"], False) for r in rows},
            )
        report.compare(
            "identity.course_groups <- progress follows",
            {f: () for f in following if f[1] in live_groups},
            {(r["course_id"], r["group_id"]): () for r in idn["course_groups"]},
        )
        for course, group in sorted(following, key=str):
            report.add(
                "progress: no follow of a deleted group",
                "unexpected" if group in gone_groups else "ok",
                f"course {course} follows deleted group {group}",
            )
    for service in ("progress", "assessment"):
        report.compare(
            f"{service}.group_members <- identity.group_memberships",
            {m: () for m in members},
            {(r["group_id"], r["user_id"]): () for r in snap.rows(service, "group_members")},
        )
    for service, rows in (("catalog", cat), ("content", con), ("assessment", ass)):
        report.compare(
            f"{service}.course_groups <- progress follows",
            {f: () for f in following},
            {(r["course_id"], r["group_id"]): () for r in rows["course_groups"]},
        )
    report.compare(
        "progress.unlock_overrides <- catalog",
        _index(
            cat["unlock_overrides"], ("course_id", "module_id", "kind", "target_id"), "unlock_at"
        ),
        _index(
            pro["unlock_overrides"], ("course_id", "module_id", "kind", "target_id"), "unlock_at"
        ),
    )
    report.compare(
        "assessment.due_overrides <- content",
        _index(con["due_overrides"], ("post_id", "kind", "target_id"), "due_at"),
        _index(ass["due_overrides"], ("post_id", "kind", "target_id"), "due_at"),
    )
    report.compare(
        "content.enrollments <- progress",
        _index(pro["enrollments"], "id", "user_id", "course_id", "status"),
        _index(con["enrollments"], "enrollment_id", "user_id", "course_id", "status"),
    )

    # The rule, for every pair an enrollment row or a group source names.
    groups_of: dict[Any, set[Any]] = {}
    members_of: dict[Any, set[Any]] = {}
    for group, user in members:
        groups_of.setdefault(user, set()).add(group)
        members_of.setdefault(group, set()).add(user)
    courses = {c["id"]: c for c in cat["courses"]}
    gone_users = deleted_users(snap)
    enrollments = {(e["user_id"], e["course_id"]): e for e in pro["enrollments"]}
    held_pairs = {
        (user, course)
        for course, groups in followed.items()
        for group in groups
        for user in members_of.get(group, ())
    }
    report.per_check.setdefault(GROUPS_RULE, Counter())
    for user, course_id in sorted(enrollments.keys() | held_pairs, key=str):
        course = courses.get(course_id)
        if course is None or user in gone_users:
            continue
        e = enrollments.get((user, course_id))
        own = bool(e and e["self_enrolled"])
        groups = groups_of.get(user, set()) & followed.get(course_id, set())
        held = own or bool(groups)
        active = e is not None and e["status"] in ENROLLED
        detail = (
            f"{user}/{course_id} ({course['status']}): enrollment"
            f" {e['status'] if e else None}, self={own}, groups={sorted(map(str, groups))}"
        )
        if own and not active:
            report.add(GROUPS_RULE, "unexpected", f"a self source on a dropped one: {detail}")
        elif active and not held:
            report.add(GROUPS_RULE, "unexpected", f"enrolled, no source holds it: {detail}")
        elif held and not active and course["status"] == "published":
            report.add(GROUPS_RULE, "lost", f"held, not enrolled: {detail}")
        else:
            report.add(GROUPS_RULE, "ok")
    return report


def deleted_users(snap: Snapshot) -> set[Any]:
    """The accounts identity deleted (any service's record of one, without identity)."""
    if IDENTITY in snap.tables:
        return {r["user_id"] for r in snap.rows(IDENTITY, "deleted_users")}
    return {r["user_id"] for s in SERVICES for r in snap.rows(s, "deleted_users")}


def check_deleted_users(snap: Snapshot) -> Report:
    """No service holds data of a deleted account: each one recorded the deletion, and no
    user column of any service names it (its rows deleted, its authorship nulled), nor do
    rows hang on to its deleted enrollments; identity has no such user any more."""
    report = Report()
    gone = deleted_users(snap)
    if IDENTITY in snap.tables:
        users = {r["id"] for r in snap.rows(IDENTITY, "users")}
        for user in gone:
            report.add(
                "identity.users: deleted accounts gone",
                "unexpected" if user in users else "ok",
                f"user {user} deleted and still in identity.users",
            )
    for service in SERVICES:
        recorded = {r["user_id"] for r in snap.rows(service, "deleted_users")}
        report.compare(
            f"{service}.deleted_users <- identity",
            {u: (True,) for u in gone},
            {u: (True,) for u in recorded},
        )
        held = {(r["what"], r["user_id"]): r["n"] for r in snap.rows(service, "by_user")}
        for table, column in USER_COLUMNS[service]:
            what = f"{table}.{column}"
            check = f"{service}.{what}: no deleted user"
            report.per_check.setdefault(check, Counter())
            for user in gone:
                n = held.get((what, user), 0)
                report.add(
                    check,
                    "unexpected" if n else "ok",
                    f"{n} row(s) of deleted user {user}" if n else None,
                )
        for r in snap.tables[service].get("orphans", []):
            check = f"{service}.{r['what']}: no rows of deleted enrollments"
            report.add(check, "unexpected" if r["n"] else "ok", f"{r['n']} orphan row(s)")
    return report


def _cents(value: Any) -> str:
    """A score or a sum of scores as API.md rounds them (2 decimals, half-up)."""
    return str(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def _answer_key(questions: Any) -> list[Any] | None:
    if not isinstance(questions, list):
        return None
    return [q.get("answer_index") for q in questions if isinstance(q, dict)]


def check_assessment(snap: Snapshot) -> Report:
    """Assessment's projection against its owners, its kept grades against its submissions,
    every gradebook against a recomputation from the owners, and content's submission
    counts against assessment's submissions."""
    report = Report()
    cat = snap.tables["catalog"]
    con = snap.tables["content"]
    pro = snap.tables["progress"]
    ass = snap.tables["assessment"]
    live_courses = {r["id"]: r for r in cat["courses"]}
    live_modules = {r["id"]: r for r in cat["modules"]}
    live_posts = {r["id"]: r for r in con["posts"]}
    gone_courses = snap.deleted("catalog", "CourseDeleted") - live_courses.keys()
    gone_modules = snap.deleted("catalog", "ModuleDeleted") - live_modules.keys()
    gone_posts = snap.deleted("content", "PostDeleted") - live_posts.keys()
    links = {(r["course_id"], r["module_id"]): (r["position"],) for r in cat["course_modules"]}

    # assessment's projection <- catalog, content, progress
    expected: dict[Key, Any] = {
        c["id"]: (c["status"], c["visibility"], c["creator_id"], False)
        for c in live_courses.values()
    }
    expected |= {c: ("draft", "private", None, True) for c in gone_courses}
    report.compare(
        "assessment.courses <- catalog.courses",
        expected,
        _index(ass["courses"], "course_id", "status", "visibility", "creator_id", "deleted"),
    )
    report.compare(
        "assessment.course_modules <- catalog",
        links,
        _index(ass["course_modules"], ("course_id", "module_id"), "position"),
    )
    expected = {m["id"]: (m["creator_id"], False) for m in live_modules.values()}
    expected |= {m: (None, True) for m in gone_modules}
    report.compare(
        "assessment.modules <- catalog.modules",
        expected,
        _index(ass["modules"], "module_id", "creator_id", "deleted"),
    )
    expected = {
        p["id"]: (
            p["module_id"],
            p["kind"],
            p["status"],
            _max_points(p["max_points"]),
            _answer_key(p["questions"]) if p["kind"] == "quiz" else None,
            False,
        )
        for p in live_posts.values()
    }
    tomb_modules = {
        r["post_id"]: r["module_id"] for r in ass["posts"] if r["post_id"] in gone_posts
    }
    expected |= {p: (tomb_modules.get(p), "", "draft", None, None, True) for p in gone_posts}
    report.compare(
        "assessment.posts <- content.posts",
        expected,
        _index(
            ass["posts"],
            "post_id",
            "module_id",
            "kind",
            "status",
            "max_points",
            "answer_key",
            "deleted",
        ),
    )
    report.compare(
        "assessment.enrollments <- progress",
        _index(pro["enrollments"], "id", "user_id", "course_id", "status"),
        _index(ass["enrollments"], "enrollment_id", "user_id", "course_id", "status"),
    )

    # assessment.post_grades <- assessment.submissions (kept score = the highest graded one;
    # attempts used, status and lateness = the latest attempt's)
    by_pair: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for sub in ass["submissions"]:
        by_pair.setdefault((sub["user_id"], sub["post_id"]), []).append(sub)
    kept: dict[tuple[Any, Any], Decimal | None] = {}
    grades: dict[Key, Any] = {}
    for pair, subs in by_pair.items():
        latest = max(subs, key=lambda s: s["attempt"])
        scores = [s["score"] for s in subs if s["score"] is not None]
        kept[pair] = max(scores) if scores else None
        grades[pair] = (
            latest["attempt"],
            latest["status"],
            latest["late"],
            None if kept[pair] is None else _cents(kept[pair]),
        )
    actual: dict[Key, Any] = {
        (g["user_id"], g["post_id"]): (
            g["attempts_used"],
            g["status"],
            g["late"],
            None if g["kept_score"] is None else _cents(g["kept_score"]),
        )
        for g in ass["post_grades"]
    }
    report.compare("assessment.post_grades <- submissions", grades, actual)

    # every gradebook row (earned, possible per enrolled student) against a recomputation
    # from the owners: catalog's outlines, content's posts (max_points), progress's
    # enrollments and assessment's submissions (kept scores)
    def gradebooks(
        courses: Iterable[Any],
        modules_of: Mapping[Any, set[Any]],
        posts: Iterable[tuple[Any, Any, int]],  # (post_id, module_id, max_points)
        students_of: Mapping[Any, set[Any]],
        kept_of: Mapping[tuple[Any, Any], Any],
    ) -> dict[Key, Any]:
        per_module: dict[Any, list[tuple[Any, int]]] = {}
        for post_id, module_id, points in posts:
            per_module.setdefault(module_id, []).append((post_id, points))
        out: dict[Key, Any] = {}
        for course in courses:
            gradable = [p for m in modules_of.get(course, ()) for p in per_module.get(m, [])]
            possible = sum(points for _, points in gradable)
            for user in students_of.get(course, ()):
                earned = sum(
                    (Decimal(kept_of.get((user, post)) or 0) for post, _ in gradable), Decimal(0)
                )
                out[(course, user)] = (_cents(earned), possible)
        return out

    def students(rows: Iterable[dict[str, Any]]) -> dict[Any, set[Any]]:
        out: dict[Any, set[Any]] = {}
        for e in rows:
            if e["status"] in ENROLLED:
                out.setdefault(e["course_id"], set()).add(e["user_id"])
        return out

    owner_modules: dict[Any, set[Any]] = {}
    for course, module in links:
        owner_modules.setdefault(course, set()).add(module)
    expected = gradebooks(
        live_courses,
        owner_modules,
        [
            (p["id"], p["module_id"], _max_points(p["max_points"]) or 0)
            for p in live_posts.values()
            if p["status"] == "published" and p["kind"] in GRADABLE
        ],
        students(pro["enrollments"]),
        kept,
    )
    dead_modules = {m["module_id"] for m in ass["modules"] if m["deleted"]}
    own_modules: dict[Any, set[Any]] = {}
    for r in ass["course_modules"]:
        if r["module_id"] not in dead_modules:
            own_modules.setdefault(r["course_id"], set()).add(r["module_id"])
    actual = gradebooks(
        [c["course_id"] for c in ass["courses"] if not c["deleted"]],
        own_modules,
        [
            (p["post_id"], p["module_id"], p["max_points"] or 0)
            for p in ass["posts"]
            if p["status"] == "published" and not p["deleted"] and p["kind"] in GRADABLE
        ],
        students(ass["enrollments"]),
        {(g["user_id"], g["post_id"]): g["kept_score"] for g in ass["post_grades"]},
    )
    report.compare("assessment gradebooks <- owners", expected, actual)

    # content <- assessment: who submitted, and each post's distinct submitters
    report.compare(
        "content.submissions <- assessment",
        _index(ass["submissions"], "id", "post_id", "user_id"),
        _index(con["submissions"], "submission_id", "post_id", "user_id"),
    )
    submitters: dict[Any, set[Any]] = {}
    for sub in ass["submissions"]:
        submitters.setdefault(sub["post_id"], set()).add(sub["user_id"])
    report.compare(
        "content.posts.submission_count <- assessment",
        {p: (len(submitters.get(p, ())),) for p in live_posts},
        {p: (r["submission_count"],) for p, r in live_posts.items()},
    )
    return report


def satisfied(
    rule: str,
    min_score: Any,
    *,
    marked: bool,
    viewed: bool,
    submitted: bool,
    kept: Any,
) -> bool:
    """API.md's completion rules: whether a student's facts meet a post's rule."""
    if rule == "mark_done":
        return marked
    if rule == "view":
        return viewed
    if rule == "submit":
        return submitted
    if rule == "min_score":
        return kept is not None and min_score is not None and float(kept) >= float(min_score)
    return False


def check_completion_rules(snap: Snapshot) -> Report:
    """Rules, gating and facts in progress's projection against their owners, and every
    derived completion against a recomputation from the facts and the current rules.

    docs/progress.md ("Completion: facts, rules, locks"): ``completions.completed`` is the
    rule met by the facts (the student's marks, kept by progress; content's views;
    assessment's submissions and kept scores), whatever the locks: a completion belongs to
    (user, post), locks to (user, course), and apply when reading. So the recomputation
    needs no locks; content's ``completion_count`` must equal the number of students whose
    recomputed completion is true.
    """
    report = Report()
    cat = snap.tables["catalog"]
    con = snap.tables["content"]
    pro = snap.tables["progress"]
    ass = snap.tables["assessment"]
    live_posts = {r["id"]: r for r in con["posts"]}

    def gating(r: dict[str, Any]) -> tuple[Any, ...]:
        return (tuple(r["prerequisites"] or ()), r["unlock_at"])

    report.compare(
        "progress.course_modules gating <- catalog",
        {(r["course_id"], r["module_id"]): gating(r) for r in cat["course_modules"]},
        {(r["course_id"], r["module_id"]): gating(r) for r in pro["course_modules"]},
    )
    p_courses = {r["course_id"]: r for r in pro["courses"]}
    report.compare(
        "progress.courses.sequential <- catalog",
        {c["id"]: (c["sequential"],) for c in cat["courses"]},
        {
            c: (p_courses[c]["sequential"],)
            for c in (r["id"] for r in cat["courses"])
            if c in p_courses
        },
    )
    p_posts = {r["post_id"]: r for r in pro["posts"]}

    def rule(rule: str, min_score: Any) -> tuple[str, str | None]:
        return rule, None if min_score is None else _cents(str(min_score))

    report.compare(
        "progress.posts.rule <- content.posts",
        {p: rule(r["completion_rule"], r["completion_min_score"]) for p, r in live_posts.items()},
        {p: rule(p_posts[p]["rule"], p_posts[p]["min_score"]) for p in live_posts if p in p_posts},
    )
    # Facts kept by progress from their owners, for posts that still exist: content deletes
    # a post's views with it (a view racing the deletion can outlive it there), progress
    # keeps its facts.
    report.compare(
        "progress.post_views <- content.post_views",
        {(v["user_id"], v["post_id"]): () for v in con["views"] if v["post_id"] in live_posts},
        {(v["user_id"], v["post_id"]): () for v in pro["views"] if v["post_id"] in live_posts},
    )

    def submission(r: dict[str, Any]) -> tuple[Any, ...]:
        score = None if r["score"] is None else _cents(str(r["score"]))
        return (r["user_id"], r["post_id"], r["status"], score)

    report.compare(
        "progress.submissions <- assessment.submissions",
        {r["id"]: submission(r) for r in ass["submissions"]},
        {r["submission_id"]: submission(r) for r in pro["submissions"]},
    )

    # Derived completions: recomputed from the owners' facts and content's current rules.
    marked = {(r["user_id"], r["post_id"]) for r in pro["completions"] if r["marked"]}
    viewed = {(v["user_id"], v["post_id"]) for v in con["views"]}
    submitted: set[tuple[Any, Any]] = set()
    kept: dict[tuple[Any, Any], Any] = {}
    for sub in ass["submissions"]:
        pair = (sub["user_id"], sub["post_id"])
        submitted.add(pair)
        if sub["status"] == "graded" and sub["score"] is not None:
            kept[pair] = max(kept.get(pair, sub["score"]), sub["score"])
    rows = {(r["user_id"], r["post_id"]): r for r in pro["completions"]}
    expected: dict[Key, Any] = {}
    actual: dict[Key, Any] = {}
    for pair in rows.keys() | viewed | submitted:
        post = live_posts.get(pair[1])
        if post is None:
            continue
        expected[pair] = (
            satisfied(
                post["completion_rule"],
                post["completion_min_score"],
                marked=pair in marked,
                viewed=pair in viewed,
                submitted=pair in submitted,
                kept=kept.get(pair),
            ),
        )
        actual[pair] = (bool(rows[pair]["completed"]) if pair in rows else False,)
    report.compare("progress.completions <- facts and current rules", expected, actual)
    derived = Counter(post for (_, post), (done,) in expected.items() if done)
    report.compare(
        "content.posts.completion_count <- derived completions",
        {p: (derived.get(p, 0),) for p in live_posts},
        {p: (r["completion_count"],) for p, r in live_posts.items()},
    )
    return report


def _facts(snap: Snapshot) -> dict[str, Any]:
    """Per (user, post), the owners' facts: marked (progress), viewed (content), submitted,
    graded and the kept score (assessment)."""
    con = snap.tables["content"]
    pro = snap.tables["progress"]
    ass = snap.tables["assessment"]
    kept: dict[tuple[Any, Any], Any] = {}
    graded: set[tuple[Any, Any]] = set()
    for sub in ass["submissions"]:
        pair = (sub["user_id"], sub["post_id"])
        if sub["status"] == "graded" and sub["score"] is not None:
            graded.add(pair)
            kept[pair] = max(kept.get(pair, sub["score"]), sub["score"])
    groups_of: dict[Any, set[Any]] = {}
    for group, user in memberships(snap):
        groups_of.setdefault(user, set()).add(group)
    return {
        "groups_of": groups_of,
        "followed": follows(snap),
        "unlock_overrides": _index(
            snap.rows("catalog", "unlock_overrides"),
            ("course_id", "module_id", "kind", "target_id"),
            "unlock_at",
        ),
        "marked": {(r["user_id"], r["post_id"]) for r in pro["completions"] if r["marked"]},
        "viewed": {(v["user_id"], v["post_id"]) for v in con["views"]},
        "submitted": {(s["user_id"], s["post_id"]) for s in ass["submissions"]},
        "graded": graded,
        "kept": kept,
    }


def expected_document(
    snap: Snapshot, user_id: Any, course_id: Any, now: Any, facts: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One student's standing in one course recomputed from the owners, with API.md's locks:
    a module is locked while a prerequisite (a module of the course; one without counted
    posts is met) is not completed or before its ``unlock_at`` (the student's date by
    docs/dates.md's rule: their own override, else their followed groups' earliest, else
    the course's; catalog's overrides, identity's memberships); in a sequential course a
    post is locked until every counted post before it is completed; a post counts as
    completed when its rule is met by the facts and it is not locked (the least fixed
    point: locks lift only as completions grow). Returns the comparable shape of
    :func:`document_shape`."""
    cat = snap.tables["catalog"]
    con = snap.tables["content"]
    f = facts if facts is not None else _facts(snap)
    course = next(c for c in cat["courses"] if c["id"] == course_id)
    outline = sorted(
        (r for r in cat["course_modules"] if r["course_id"] == course_id),
        key=lambda r: r["position"],
    )
    posts_of: dict[Any, list[dict[str, Any]]] = {}
    for p in sorted(con["posts"], key=lambda p: (p["position"], p["id"])):
        if p["status"] == "published":
            posts_of.setdefault(p["module_id"], []).append(p)
    present = {r["module_id"] for r in outline}
    order = [(r["module_id"], p) for r in outline for p in posts_of.get(r["module_id"], [])]
    groups = f["groups_of"].get(user_id, set()) & f["followed"].get(course_id, set())
    overrides = f["unlock_overrides"]

    def unlock_at(module_id: Any, default: Any) -> Any:
        """docs/dates.md: the student's own override, else the earliest of their followed
        groups' overrides, else the course's date."""
        own = overrides.get((course_id, module_id, "user", user_id))
        if own is not None:
            return own[0]
        theirs = [
            overrides[key][0]
            for g in groups
            if (key := (course_id, module_id, "group", g)) in overrides
        ]
        return min(theirs) if theirs else default

    def done(post: dict[str, Any]) -> bool:
        pair = (user_id, post["id"])
        return satisfied(
            post["completion_rule"],
            post["completion_min_score"],
            marked=pair in f["marked"],
            viewed=pair in f["viewed"],
            submitted=pair in f["submitted"],
            kept=f["kept"].get(pair),
        )

    rule_met = {p["id"]: done(p) for _, p in order}
    completed: dict[Any, bool] = {p["id"]: False for _, p in order}
    while True:
        module_done = {
            m: all(completed[p["id"]] for p in posts_of.get(m, [])) for m in present
        }  # a module without counted posts counts as met
        locks_of: dict[Any, list[tuple[Any, ...]]] = {}
        for r in outline:
            mine = [
                ("prerequisite", str(m))
                for m in dict.fromkeys(r["prerequisites"] or ())
                if m in present and m != r["module_id"] and not module_done[m]
            ]
            when = unlock_at(r["module_id"], r["unlock_at"])
            if when is not None and now < when:
                mine.append(("unlock_at", _utc(when)))
            locks_of[r["module_id"]] = mine
        post_locks: dict[Any, list[tuple[Any, ...]]] = {}
        first_open = None
        for module_id, p in order:
            mine = list(locks_of[module_id])
            if course["sequential"] and first_open is not None:
                mine.append(("sequential", str(first_open)))
            post_locks[p["id"]] = mine
            if not completed[p["id"]] and first_open is None:
                first_open = p["id"]
        after = {pid: rule_met[pid] and not post_locks[pid] for pid in completed}
        if after == completed:
            break
        completed = after

    def status(post_id: Any) -> str:
        pair = (user_id, post_id)
        if completed[post_id]:
            return "completed"
        if pair in f["graded"]:
            return "graded"
        if pair in f["submitted"]:
            return "submitted"
        if pair in f["viewed"] or pair in f["marked"] or rule_met[post_id]:
            return "in_progress"
        return "not_started"

    modules = []
    next_post = None
    for r in outline:
        posts = posts_of.get(r["module_id"], [])
        for p in posts:
            if next_post is None and not completed[p["id"]] and not post_locks[p["id"]]:
                next_post = str(p["id"])
        locks = post_locks[posts[0]["id"]] if posts else locks_of[r["module_id"]]
        n_done = sum(completed[p["id"]] for p in posts)
        statuses = [status(p["id"]) for p in posts]
        if locks:
            state = "locked"
        elif posts and n_done == len(posts):
            state = "completed"
        elif any(st != "not_started" for st in statuses):
            state = "started"
        else:
            state = "unlocked"
        modules.append(
            (
                str(r["module_id"]),
                state,
                tuple(sorted(map(str, locks))),
                n_done,
                len(posts),
                tuple(
                    (str(p["id"]), completed[p["id"]], bool(post_locks[p["id"]]), st)
                    for p, st in zip(posts, statuses, strict=True)
                ),
            )
        )
    return {
        "completed_posts": sum(m[3] for m in modules),
        "total_posts": sum(m[4] for m in modules),
        "next_post_id": next_post,
        "modules": modules,
    }


def _utc(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat()


def document_shape(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A progress document (API.md) reduced to what :func:`expected_document` recomputes."""

    def lock(entry: Mapping[str, Any]) -> tuple[Any, ...]:
        reason = entry["reason"]
        if reason == "unlock_at":
            return (reason, _utc(dt.datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))))
        return (reason, entry.get("module_id") if reason == "prerequisite" else entry["post_id"])

    return {
        "completed_posts": doc["completed_posts"],
        "total_posts": doc["total_posts"],
        "next_post_id": doc["next_post_id"],
        "modules": [
            (
                m["module_id"],
                m["state"],
                tuple(sorted(str(lock(x)) for x in m["locks"])),
                m["completed_posts"],
                m["total_posts"],
                tuple((p["post_id"], p["completed"], p["locked"], p["status"]) for p in m["posts"]),
            )
            for m in doc["modules"]
        ],
    }


def check_documents(
    snap: Snapshot, documents: Mapping[tuple[Any, Any], Mapping[str, Any]], now: Any
) -> Report:
    """Progress documents read through the gateway ((user, course) -> document) against
    their recomputation from the owners' facts, rules and gating (:func:`expected_document`):
    locks, counted completions, states, statuses and ``next_post_id``."""
    report = Report()
    facts = _facts(snap)
    report.per_check.setdefault("progress documents (locks) <- owners", Counter())
    for (user, course), doc in documents.items():
        expected = expected_document(snap, user, course, now, facts)
        actual = document_shape(doc)
        for key, value in expected.items():
            if actual.get(key) == value:
                report.add("progress documents (locks) <- owners", "ok")
            else:
                report.add(
                    "progress documents (locks) <- owners",
                    "lost",
                    f"{user}/{course} {key}: document {actual.get(key)} != owners {value}",
                )
    return report


def check_history(model: Any, snap: Snapshot) -> Report:
    """Jepsen's view: acknowledged writes (``model``, see ``workload.Model``) against the data.

    Every acknowledged write must be in its owner and in each projection that carries it
    (``lost`` otherwise); anything in the owners under the workload's names that no
    operation attempted, or a value no operation wrote, is ``unexpected``; an entity whose
    creation was indeterminate (timeout, 5xx) but exists is ``recovered``.
    """
    r = Report()
    cat = snap.tables["catalog"]
    con = snap.tables["content"]
    pro = snap.tables["progress"]
    courses = {c["id"]: c for c in cat["courses"]}
    modules = {m["id"]: m for m in cat["modules"]}
    posts = {p["id"]: p for p in con["posts"]}
    links = {(c["course_id"], c["module_id"]) for c in cat["course_modules"]}
    p_courses = {c["course_id"]: c for c in pro["courses"]}
    p_modules = {m["module_id"]: m for m in pro["modules"]}
    p_posts = {p["post_id"]: p for p in pro["posts"]}
    p_links = {(c["course_id"], c["module_id"]) for c in pro["course_modules"]}
    c_courses = {c["course_id"]: c for c in con["courses"]}
    c_modules = {m["module_id"]: m for m in con["modules"]}
    c_links = {(c["course_id"], c["module_id"]) for c in con["course_modules"]}
    enrollments = {(e["user_id"], e["course_id"]): e for e in pro["enrollments"]}
    e_proj = {e["enrollment_id"]: e for e in cat["enrollment_projection"]}
    completions = {(c["user_id"], c["post_id"]): c for c in pro["completions"]}
    c_completions = {c["completion_id"]: c for c in con["completions"]}

    def expect(name: str, ok: bool, detail: str) -> None:
        r.add(name, "ok" if ok else "lost", None if ok else detail)

    # -- acknowledged writes are there, in the owner and in every projection of them
    for cid, state in model.courses.items():
        if cid in model.uncertain:
            continue
        owner = courses.get(cid)
        expect(
            "history: course in catalog",
            owner is not None
            and owner["title"] == state["title"]
            and owner["status"] == state["status"],
            f"course {cid} {state} vs {owner}",
        )
        pc = p_courses.get(cid)
        expect(
            "history: course in progress",
            pc is not None
            and not pc["deleted"]
            and pc["title"] == state["title"]
            and pc["status"] == state["status"],
            f"course {cid} {state} vs {pc}",
        )
        cc = c_courses.get(cid)
        expect(
            "history: course in content",
            cc is not None and not cc["deleted"] and cc["status"] == state["status"],
            f"course {cid} {state} vs {cc}",
        )
    for mid, state in model.modules.items():
        if mid in model.uncertain:
            continue
        owner = modules.get(mid)
        expect(
            "history: module in catalog",
            owner is not None and owner["title"] == state["title"],
            f"module {mid} {state} vs {owner}",
        )
        pm = p_modules.get(mid)
        expect(
            "history: module in progress",
            pm is not None and pm["title"] == state["title"],
            f"module {mid} {state} vs {pm}",
        )
        cm = c_modules.get(mid)
        expect(
            "history: module in content",
            cm is not None and cm["title"] == state["title"],
            f"module {mid} {state} vs {cm}",
        )
    for link in model.links:
        if link in model.uncertain:
            continue
        expect("history: attachment in catalog", link in links, f"link {link}")
        expect("history: attachment in progress", link in p_links, f"link {link}")
        expect("history: attachment in content", link in c_links, f"link {link}")
    for pid, state in model.posts.items():
        if pid in model.uncertain:
            continue
        owner = posts.get(pid)
        pp = p_posts.get(pid)
        if state["deleted"]:
            expect("history: post deleted in content", owner is None, f"post {pid} still there")
            expect(
                "history: post deleted in progress",
                pp is not None and pp["deleted"],
                f"post {pid} vs {pp}",
            )
            continue
        expect(
            "history: post in content",
            owner is not None
            and owner["title"] == state["title"]
            and owner["status"] == state["status"],
            f"post {pid} {state} vs {owner}",
        )
        expect(
            "history: post in progress",
            pp is not None
            and not pp["deleted"]
            and pp["title"] == state["title"]
            and pp["status"] == state["status"],
            f"post {pid} {state} vs {pp}",
        )
        if "rule" in state and owner is not None:
            rule, min_score = state["rule"]
            expect(
                "history: completion rule in content",
                owner["completion_rule"] == rule
                and _optional_cents(owner["completion_min_score"]) == _optional_cents(min_score),
                f"post {pid} rule {state['rule']} vs {owner['completion_rule']}"
                f" {owner['completion_min_score']}",
            )
    cat_links = {(c["course_id"], c["module_id"]): c for c in cat["course_modules"]}
    for (course, module), gating in getattr(model, "gating", {}).items():
        if ("gate", course, module) in model.uncertain:
            continue
        owner = cat_links.get((course, module))
        expect(
            "history: gating in catalog",
            owner is not None
            and set(owner["prerequisites"]) == gating["prerequisites"]
            and owner["unlock_at"] == gating["unlock_at"],
            f"gating {course}/{module} {gating} vs {owner}",
        )
    for cid, state in model.courses.items():
        if cid in model.uncertain or "sequential" not in state or cid not in courses:
            continue
        expect(
            "history: sequential in catalog",
            courses[cid]["sequential"] == state["sequential"],
            f"course {cid} sequential {state['sequential']} vs {courses[cid]['sequential']}",
        )
    c_views = {(v["user_id"], v["post_id"]) for v in con["views"]}
    p_views = {(v["user_id"], v["post_id"]) for v in pro["views"]}
    judged = getattr(model, "judged", lambda _user: True)
    for user, post in getattr(model, "views", set()):
        state = model.posts.get(post)
        if post in model.uncertain or state is None or state["deleted"] or not judged(user):
            continue
        pair = (uuid.UUID(user), post)
        expect("history: view in content", pair in c_views, f"view {user}/{post}")
        expect("history: view in progress", pair in p_views, f"view {user}/{post}")
    for (user, course), status in model.enrollments.items():
        if (user, course) in model.uncertain or not judged(user):
            continue
        e = enrollments.get((uuid.UUID(user), course))
        # The student's own source as they left it: "active" holds the enrollment;
        # "dropped" removed only that source (a group may still hold it: judged by the rule,
        # check_groups).
        expect(
            "history: enrollment in progress",
            e is not None
            and e.get("self_enrolled", status == "active") == (status == "active")
            and (status != "active" or e["status"] in ENROLLED),
            f"enrollment {user}/{course} {status} vs {e}",
        )
        proj = e_proj.get(e["id"]) if e else None
        expect(
            "history: enrollment in catalog",
            proj is not None and e is not None and proj["status"] == e["status"],
            f"enrollment {user}/{course} vs {proj}",
        )
    for (user, post), completed in model.completions.items():
        if (user, post) in model.uncertain or not judged(user):
            continue
        c = completions.get((uuid.UUID(user), post))
        # The student's mark is the fact they wrote; whether it completes the post depends
        # on the post's current rule (checked against a recomputation, projections).
        expect(
            "history: mark in progress",
            c is not None and c["marked"] == completed,
            f"mark {user}/{post} {completed} vs {c}",
        )
        proj = c_completions.get(c["id"]) if c else None
        expect(
            "history: completion in content",
            proj is not None and c is not None and proj["completed"] == c["completed"],
            f"completion {user}/{post} vs {proj}",
        )

    # -- nothing is there that nobody wrote (only the workload's own names are judged)
    def judge(name: str, entity: Any, title: str, known: Mapping[Any, Any]) -> None:
        if not title.startswith(model.prefix):
            return
        if entity in known:
            values = model.written.get(entity, set())
            if title in values:
                r.add(name, "ok")
            else:
                r.add(name, "unexpected", f"{entity} has {title!r}, written: {sorted(values)}")
        elif title in model.indeterminate_titles:
            r.add(name, "recovered")
        else:
            r.add(name, "unexpected", f"{entity} {title!r} was never written")

    for cid, c in courses.items():
        judge("history: catalog courses written", cid, c["title"], model.courses)
    for mid, m in modules.items():
        judge("history: catalog modules written", mid, m["title"], model.modules)
    for pid, p in posts.items():
        judge("history: content posts written", pid, p["title"], model.posts)
    users = {u for u in model.users if judged(u)}
    # A group may have enrolled a student: a membership and a follow somebody tried.
    tried_groups: dict[str, set[Any]] = {}
    for group, member in getattr(model, "member_attempts", set()):
        tried_groups.setdefault(member, set()).add(group)
    tried_follows: dict[Any, set[Any]] = {}
    for course, group in getattr(model, "follow_attempts", set()):
        tried_follows.setdefault(course, set()).add(group)
    for user, course in enrollments:
        if str(user) in users:
            attempted = (str(user), course) in model.attempted_pairs or bool(
                tried_groups.get(str(user), set()) & tried_follows.get(course, set())
            )
            r.add(
                "history: enrollments attempted",
                "ok" if attempted else "unexpected",
                None if attempted else f"enrollment {user}/{course} never attempted",
            )
    for user, post in c_views:
        if str(user) in users:
            attempted = (str(user), post) in model.attempted_pairs
            r.add(
                "history: views attempted",
                "ok" if attempted else "unexpected",
                None if attempted else f"view {user}/{post} never attempted",
            )
    for user, post in completions:
        if str(user) in users:
            # A mark, a view or a submission by the student (derived completions follow them).
            attempted = (str(user), post) in model.attempted_pairs
            r.add(
                "history: completions attempted",
                "ok" if attempted else "unexpected",
                None if attempted else f"completion {user}/{post} never attempted",
            )

    # -- submissions and grades: every acknowledged submission is in assessment (and in
    # content's record of who submitted) exactly once, with the score of its last
    # acknowledged grade (or, after an indeterminate grade, a score somebody gave it)
    submissions = {s["id"]: s for s in snap.tables["assessment"]["submissions"]}
    c_submitted = {s["submission_id"] for s in con["submissions"]}
    for sid, state in model.submissions.items():
        if not judged(state["user"]):
            continue
        sub = submissions.get(sid)
        expect(
            "history: submission in assessment",
            sub is not None
            and sub["post_id"] == state["post_id"]
            and str(sub["user_id"]) == state["user"],
            f"submission {sid} {state} vs {sub}",
        )
        expect("history: submission in content", sid in c_submitted, f"submission {sid}")
        if sub is None:
            continue
        found = _score_text(sub["score"])
        if ("grade", sid) in model.uncertain:
            given = model.scores_written.get(sid, set())
            r.add(
                "history: grades written",
                "ok" if found in given else "unexpected",
                None if found in given else f"submission {sid} has {found}, given: {given}",
            )
            continue
        last = _score_text(state["score"])
        expect(
            "history: last acknowledged grade",
            found == last and (state["score"] is None or sub["status"] == "graded"),
            f"submission {sid}: score {found} ({sub['status']}), last acknowledged {last}",
        )
    if hasattr(model, "groups"):
        r.merge(_check_groups_history(model, snap))
    # -- acknowledged account deletions: identity deleted the account (the services'
    # forgetting is checked with the projections, check_deleted_users)
    gone = {str(u) for u in deleted_users(snap)}
    for user in getattr(model, "deleted", set()):
        expect("history: deleted account deleted", user in gone, f"account {user} not deleted")
    submitted = Counter((str(s["user_id"]), s["post_id"]) for s in submissions.values())
    for pair, n in submitted.items():
        if pair[0] not in users:
            continue
        acked, unknown = model.submits_ok.get(pair, 0), model.submits_info.get(pair, 0)
        if n > acked + unknown:
            r.add(
                "history: submissions attempted",
                "unexpected",
                f"{pair}: {n} submissions, {acked} acknowledged, {unknown} indeterminate",
            )
            continue
        r.add("history: submissions attempted", "ok")
        for _ in range(max(0, n - acked)):
            r.add("history: submissions attempted", "recovered")
    return r


def _check_groups_history(model: Any, snap: Snapshot) -> Report:
    """The workload's acknowledged group writes (``workload.Model``) against their owners:
    groups and memberships in identity, follows in progress, unlock overrides in catalog,
    due overrides in content; the names of the workload's groups were all written; and no
    acknowledged completion or submission (with its grade) of a student whose enrollment an
    operation may have ended (a drop, a member removed, a group unfollowed or deleted) or
    that is dropped now is gone (RELIABILITY item 22)."""
    r = Report()

    def expect(name: str, ok: bool, detail: str) -> None:
        r.add(name, "ok" if ok else "lost", None if ok else detail)

    uncertain = model.uncertain
    judged = model.judged
    pro = snap.tables["progress"]
    live_courses = {c["id"] for c in snap.rows("catalog", "courses")}

    def group_unsettled(group: Any) -> bool:
        return ("group", group) in uncertain

    if IDENTITY in snap.tables:
        idn = snap.tables[IDENTITY]
        groups = {g["id"]: g for g in idn["groups"]}
        members = {(m["group_id"], str(m["user_id"])) for m in idn["memberships"] if m["active"]}
        for gid, state in model.groups.items():
            if group_unsettled(gid):
                continue
            found = groups.get(gid)
            if state["deleted"]:
                expect("history: group deleted in identity", found is None, f"group {gid}")
            else:
                expect(
                    "history: group in identity",
                    found is not None and found["name"] == state["name"],
                    f"group {gid} {state} vs {found}",
                )
        for (gid, user), member in model.memberships.items():
            if (
                ("member", gid, user) in uncertain
                or group_unsettled(gid)
                or not judged(user)
                or model.groups.get(gid, {}).get("deleted")
            ):
                continue
            expect(
                "history: membership in identity",
                ((gid, user) in members) == member,
                f"membership {gid}/{user}: {member} acknowledged",
            )
        for gid, g in groups.items():
            name = "history: identity groups written"
            if not g["name"].startswith(model.prefix):
                continue
            if gid in model.groups:
                r.add(name, "ok" if g["name"] == model.groups[gid]["name"] else "unexpected")
            elif g["name"] in model.indeterminate_titles:
                r.add(name, "recovered")
            else:
                r.add(name, "unexpected", f"group {gid} {g['name']!r} was never written")
    p_follows = {(f["course_id"], f["group_id"]): f["following"] for f in pro["course_groups"]}
    for (cid, gid), on in model.follows.items():
        if ("follow", cid, gid) in uncertain or group_unsettled(gid) or cid not in live_courses:
            continue
        on = on and not model.groups.get(gid, {}).get("deleted")
        expect(
            "history: follow in progress",
            p_follows.get((cid, gid), False) == on,
            f"follow {cid}/{gid}: {on} acknowledged, {p_follows.get((cid, gid))} in progress",
        )

    def target_unsettled(kind: str, target: Any) -> bool:
        if kind == "user":
            return not judged(str(target))
        # A deleted group's overrides are not judged (only a deleted account's go).
        return group_unsettled(target) or bool(model.groups.get(target, {}).get("deleted"))

    unlocks = _index(
        snap.rows("catalog", "unlock_overrides"),
        ("course_id", "module_id", "kind", "target_id"),
        "unlock_at",
    )
    for key, when in model.unlock_overrides.items():
        if ("unlock", *key) in uncertain or target_unsettled(key[2], key[3]):
            continue
        found = unlocks.get(key, (None,))[0]
        expect(
            "history: unlock override in catalog",
            found == when,
            f"unlock override {key}: {when} acknowledged, {found} in catalog",
        )
    dues = _index(snap.rows("content", "due_overrides"), ("post_id", "kind", "target_id"), "due_at")
    for key, when in model.due_overrides.items():
        post = model.posts.get(key[0])
        if (
            ("due", *key) in uncertain
            or key[0] in uncertain
            or post is None
            or target_unsettled(key[1], key[2])
        ):
            continue
        want = None if post["deleted"] else when  # a deleted post's overrides go with it
        found = dues.get(key, (None,))[0]
        expect(
            "history: due override in content",
            found == want,
            f"due override {key}: {want} expected, {found} in content",
        )

    # Facts across drops: every acknowledged fact of an enrollment that may have ended.
    courses_of: dict[Any, set[Any]] = {}
    for link in snap.rows("catalog", "course_modules"):
        courses_of.setdefault(link["module_id"], set()).add(link["course_id"])
    ended = set(model.drops) | {
        (str(e["user_id"]), e["course_id"]) for e in pro["enrollments"] if e["status"] == "dropped"
    }
    ended_of: dict[str, set[Any]] = {}
    for user, course in ended:
        ended_of.setdefault(user, set()).add(course)
    completions = {(str(c["user_id"]), c["post_id"]): c for c in pro["completions"]}
    name = "history: facts kept across drops (item 22)"
    r.per_check.setdefault(name, Counter())
    for (user, post_id), marked in model.completions.items():
        post = model.posts.get(post_id)
        if (user, post_id) in uncertain or not judged(user) or post is None or not marked:
            continue
        if courses_of.get(post["module_id"], set()) & ended_of.get(user, set()):
            c = completions.get((user, post_id))
            expect(name, c is not None and c["marked"], f"mark {user}/{post_id} vs {c}")
    submissions = {s["id"] for s in snap.rows("assessment", "submissions")}
    kept = {(str(g["user_id"]), g["post_id"]) for g in snap.rows("assessment", "post_grades")}
    for sid, sub in model.submissions.items():
        post = model.posts.get(sub["post_id"])
        if not judged(sub["user"]) or post is None:
            continue
        if courses_of.get(post["module_id"], set()) & ended_of.get(sub["user"], set()):
            expect(
                name,
                sid in submissions and (sub["user"], sub["post_id"]) in kept,
                f"submission {sid} of {sub['user']} (or its grade) gone",
            )
    return r


def _optional_cents(value: Any) -> str | None:
    return None if value is None else _cents(str(value))


def _score_text(score: Any) -> str:
    return "none" if score is None else _cents(str(score))


# ---------------------------------------------------------------- command line


def urls_from(server_url: str) -> dict[str, str]:
    """libpq URLs of each service's database on the server of ``server_url``."""
    if server_url.startswith("postgres://"):
        server_url = "postgresql://" + server_url.removeprefix("postgres://")
    url = make_url(server_url).set(drivername="postgresql")
    return {
        s: url.set(database=f"syllabus_{s}").render_as_string(hide_password=False)
        for s in (IDENTITY, *SERVICES)
    }


def server_from_data_dir(data_dir: Path) -> str:
    """The URL of the embedded PostgreSQL a `make run` stack started in ``data_dir``."""
    pid_file = data_dir / "postgres" / "pgdata" / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
    except OSError:
        raise SystemExit(
            f"no running PostgreSQL under {data_dir} ({pid_file} missing): start `make run`, "
            "or set DATABASE_URL (as for `make run`) or pass --database-url"
        ) from None
    return f"postgresql://postgres@127.0.0.1:{int(lines[3])}"


def run_check(urls: Mapping[str, str], wait: float, verbose: bool) -> Report:
    deadline = time.monotonic() + wait
    while True:
        snap = load(urls)
        report = check_projections(snap)
        pending = sum(snap.unpublished.values())
        if (report.ok and not pending) or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    if verbose:
        print(report.table())
        print(f"  unpublished outbox rows: {snap.unpublished}")
        for sample in report.samples:
            print(f"  {sample}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="checker.py", description="Compare every projection with its owners' data."
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL server holding syllabus_<service> DBs (default: $DATABASE_URL, as"
        " `make run`; else the embedded server of --data-dir)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".data"),
        help="a `make run` data dir (default .data), when neither --database-url nor"
        " DATABASE_URL is given",
    )
    for service in (IDENTITY, *SERVICES):
        parser.add_argument(f"--{service}-url", help=f"{service}'s own database (overrides)")
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        help="re-check for up to this many seconds until it converges",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    # The same server `make run` uses: DATABASE_URL when set, else the embedded one in .data.
    server = args.database_url or os.environ.get("DATABASE_URL") or None
    if server is None:
        server = server_from_data_dir(args.data_dir)
    urls = urls_from(server)
    for service in (IDENTITY, *SERVICES):
        if url := getattr(args, f"{service}_url"):
            urls[service] = url
    try:
        report = run_check(urls, args.wait, args.verbose)
    except psycopg.Error as exc:
        print(f"cannot read the databases: {exc}", file=sys.stderr)
        return 2
    print(report.line())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

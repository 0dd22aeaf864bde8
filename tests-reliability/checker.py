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
========================================  =============================================

``lost`` counts owner facts missing from, or different in, a projection; ``unexpected``
counts projection facts no owner has; ``checked`` counts the facts compared. A run is
valid when both are 0. With a workload history (see ``workload.Model``) it also checks the
Jepsen way: every acknowledged write is in its owner and in every projection of it, and
nothing was read that no one wrote.

CLI (``make check-consistency``)::

    python tests-reliability/checker.py                       # the `make run` stack in .data
    python tests-reliability/checker.py --database-url postgresql://postgres@127.0.0.1:5432/
    python tests-reliability/checker.py --wait 60 -v          # re-check until it converges

Exit status: 0 when lost=0 and unexpected=0, 1 otherwise, 2 when the databases cannot be read.
"""

from __future__ import annotations

import argparse
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
GRADABLE = ("assignment", "quiz")
ENROLLED = ("active", "completed")
Key = Hashable
CENT = Decimal("0.01")
Rows = list[dict[str, Any]]

QUERIES: dict[str, dict[str, str]] = {
    "catalog": {
        "courses": "SELECT id, title, status, visibility, creator_id, enrollment_count FROM courses",
        "modules": "SELECT id, title, creator_id FROM modules",
        "course_modules": "SELECT course_id, module_id, position FROM course_modules",
        "enrollment_projection": "SELECT enrollment_id, course_id, status FROM enrollment_projection",
        "deleted": "SELECT DISTINCT event_type, aggregate_id FROM outbox"
        " WHERE event_type IN ('syllabus.catalog.CourseDeleted.v1',"
        " 'syllabus.catalog.ModuleDeleted.v1')",
        "unpublished": "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL",
    },
    "content": {
        "posts": "SELECT id, module_id, title, position, status, kind,"
        " content->'max_points' AS max_points, content->'questions' AS questions,"
        " completion_count, submission_count FROM posts",
        "submissions": "SELECT submission_id, post_id, user_id FROM submissions",
        "modules": "SELECT module_id, creator_id, title, deleted FROM modules",
        "courses": "SELECT course_id, status, visibility, creator_id, deleted FROM courses",
        "course_modules": "SELECT course_id, module_id, position FROM course_modules",
        "completions": "SELECT completion_id, post_id, completed FROM completions",
        "deleted": "SELECT DISTINCT event_type, aggregate_id FROM outbox"
        " WHERE event_type = 'syllabus.content.PostDeleted.v1'",
        "unpublished": "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL",
    },
    "progress": {
        "courses": "SELECT course_id, title, status, visibility, creator_id, deleted FROM courses",
        "course_modules": "SELECT course_id, module_id, position FROM course_modules",
        "modules": "SELECT module_id, title, deleted FROM modules",
        "posts": "SELECT post_id, module_id, title, kind, status, position, max_points, deleted"
        " FROM posts",
        "module_posts": "SELECT module_id, post_id, position FROM module_posts",
        "enrollments": "SELECT id, user_id, course_id, status FROM enrollments",
        "completions": "SELECT id, user_id, post_id, completed FROM completions",
        "unpublished": "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL",
    },
    "assessment": {
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
    for service in SERVICES:
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
    report.compare(
        "content.completions <- progress.completions",
        _index(pro["completions"], "id", "post_id", "completed"),
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
    return report.merge(check_assessment(snap))


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
    for (user, course), status in model.enrollments.items():
        if (user, course) in model.uncertain:
            continue
        e = enrollments.get((uuid.UUID(user), course))
        want = ("active", "completed") if status == "active" else ("dropped",)
        expect(
            "history: enrollment in progress",
            e is not None and e["status"] in want,
            f"enrollment {user}/{course} {status} vs {e}",
        )
        proj = e_proj.get(e["id"]) if e else None
        expect(
            "history: enrollment in catalog",
            proj is not None and e is not None and proj["status"] == e["status"],
            f"enrollment {user}/{course} vs {proj}",
        )
    for (user, post), completed in model.completions.items():
        if (user, post) in model.uncertain:
            continue
        c = completions.get((uuid.UUID(user), post))
        expect(
            "history: completion in progress",
            c is not None and c["completed"] == completed,
            f"completion {user}/{post} {completed} vs {c}",
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
    users = set(model.users)
    for user, course in enrollments:
        if str(user) in users:
            attempted = (str(user), course) in model.attempted_pairs
            r.add(
                "history: enrollments attempted",
                "ok" if attempted else "unexpected",
                None if attempted else f"enrollment {user}/{course} never attempted",
            )
    for user, post in completions:
        if str(user) in users:
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


def _score_text(score: Any) -> str:
    return "none" if score is None else _cents(str(score))


# ---------------------------------------------------------------- command line


def urls_from(server_url: str) -> dict[str, str]:
    """libpq URLs of each service's database on the server of ``server_url``."""
    if server_url.startswith("postgres://"):
        server_url = "postgresql://" + server_url.removeprefix("postgres://")
    url = make_url(server_url).set(drivername="postgresql")
    return {
        s: url.set(database=f"syllabus_{s}").render_as_string(hide_password=False) for s in SERVICES
    }


def server_from_data_dir(data_dir: Path) -> str:
    """The URL of the embedded PostgreSQL a `make run` stack started in ``data_dir``."""
    pid_file = data_dir / "postgres" / "pgdata" / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
    except OSError:
        raise SystemExit(
            f"no running PostgreSQL under {data_dir} ({pid_file} missing): start `make run`, "
            "or pass --database-url"
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
    parser.add_argument("--database-url", help="PostgreSQL server holding syllabus_<service> DBs")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".data"),
        help="a `make run` data dir (default .data), when no URL is given",
    )
    for service in SERVICES:
        parser.add_argument(f"--{service}-url", help=f"{service}'s own database (overrides)")
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        help="re-check for up to this many seconds until it converges",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    server = args.database_url or server_from_data_dir(args.data_dir)
    urls = urls_from(server)
    for service in SERVICES:
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

"""Dates per group and per student, as the teaching pages show them (issue 26).

A module's unlock date in a course, and a gradable post's due date, can be given to one
group's members or to one student instead of the default (API.md, "Dates per group or per
student"). The pages list every such date on its own line, named by its group or student:
never one merged date, since which one applies depends on the student (their own date
first, else the most lenient of their groups', else the default).

The API lists overrides by ids. Groups are named from the groups the course follows (one
call, made anyway for the choices), a group no longer followed by its own record. Students
are named from the course's roster, read a page at a time until every student asked for is
found or ``ROSTER_PAGES`` pages were read (a student set a date must be enrolled, so the
roster has them); past that a student is "a student" (the API has no look-up of names by
id for staff: an ``id`` filter on ``GET /users/directory`` would name them in one call).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from syllabus_web.api import Api, ApiError
from syllabus_web.pages.grading import student_name

JSON = dict[str, Any]

ROSTER_PAGES = 10  # 1,000 students read, at most, to name the students given dates
KINDS = {"group": "groups", "user": "users"}  # an override's kind → its path's collection


async def student_names(api: Api, course_ids: Iterable[str], user_ids: set[str]) -> dict[str, str]:
    """user id → how the teaching pages name the student, from the courses' rosters."""
    names: dict[str, str] = {}
    if not user_ids:
        return names
    for course_id in course_ids:
        cursor: str | None = None
        for _ in range(ROSTER_PAGES):
            try:
                page = await api.roster(course_id, cursor, 100)
            except ApiError as error:
                if error.status in (403, 404):
                    break
                raise
            for row in page["items"]:
                uid = str(row["user_id"])
                if uid in user_ids and uid not in names:
                    names[uid] = student_name(row)
            if user_ids <= names.keys():
                return names
            cursor = page.get("next_cursor")
            if not cursor:
                break
    return names


async def group_names(api: Api, known: dict[str, str], group_ids: set[str]) -> dict[str, str]:
    """group id → name: ``known`` (the followed groups), the others asked one by one."""
    names = {g: known[g] for g in group_ids if g in known}
    missing = sorted(group_ids - names.keys())

    async def name_of(group_id: str) -> str:
        try:
            return str((await api.group(group_id))["name"])
        except ApiError as error:
            if error.status in (403, 404):
                return "a group that is gone"
            raise

    found = await asyncio.gather(*(name_of(g) for g in missing))
    return names | dict(zip(missing, found, strict=True))


async def name_overrides(
    api: Api, overrides: list[JSON], followed: dict[str, str], course_ids: list[str]
) -> list[JSON]:
    """Each override with ``who`` (its group's or student's name), ``kind_word`` and
    ``path`` (its collection and target, for the remove form): groups first, then
    students, each by name."""
    groups = {str(o["target_id"]) for o in overrides if o["kind"] == "group"}
    users = {str(o["target_id"]) for o in overrides if o["kind"] == "user"}
    by_group, by_user = await asyncio.gather(
        group_names(api, followed, groups), student_names(api, course_ids, users)
    )
    named = []
    for override in overrides:
        target = str(override["target_id"])
        group = override["kind"] == "group"
        who = by_group.get(target) if group else by_user.get(target)
        named.append(
            {
                **override,
                "who": who or ("a group" if group else "a student"),
                "kind_word": "group" if group else "student",
                "path": f"{KINDS[override['kind']]}/{target}",
            }
        )
    named.sort(key=lambda o: (o["kind"] != "group", str(o["who"]).casefold()))
    return named


async def followed_by(api: Api, course_ids: Iterable[str]) -> dict[str, str]:
    """group id → name of the groups these courses follow (courses the person may not
    run are skipped)."""

    calls = asyncio.Semaphore(8)  # a module in many courses: a few calls at a time

    async def of(course_id: str) -> list[JSON]:
        try:
            async with calls:
                return await api.course_groups(course_id, average=False)
        except ApiError as error:
            if error.status in (403, 404):
                return []
            raise

    found = await asyncio.gather(*(of(c) for c in course_ids))
    return {str(g["group_id"]): str(g["name"]) for groups in found for g in groups}

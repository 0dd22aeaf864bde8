"""Producer scenarios: each service's real API and service code emitting every event it
publishes, chained the way the running system chains them (identity's ``UserDeleted``
feeds catalog, content, progress and assessment, catalog's events feed
content, progress and assessment, content's feed progress and assessment, progress's feed
catalog, content and assessment, assessment's feed content).

The envelopes are read from each producer's outbox, byte for byte what its relay
would publish, and each consumer applies them through its real consumer runner.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from conftest import ADMIN, API, Service


@dataclass
class Captured:
    """What the producers emitted and what the consumers made of it."""

    payloads: dict[str, list[bytes]] = field(default_factory=dict)  # producer → envelopes
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)  # consumer svc, type, out
    errors: dict[str, str] = field(default_factory=dict)  # producer → why its scenario stopped

    def envelopes(self, producer: str | None = None) -> list[dict[str, Any]]:
        names = [producer] if producer else list(self.payloads)
        return [json.loads(p) for name in names for p in self.payloads[name]]

    def samples(self) -> dict[str, list[dict[str, Any]]]:
        """Event type → the ``data`` of every envelope of that type."""
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for envelope in self.envelopes():
            out[envelope["type"]].append(envelope["data"])
        return dict(out)


async def identity_scenario(identity: Service, world: World) -> None:
    """UserRegistered, UserProfileChanged (a new display name), UserRoleChanged,
    UserDeleted; GroupCreated, GroupUpdated, GroupMemberAdded (alone and in bulk),
    GroupMemberRemoved, GroupDeleted. Ends with ``world.group_id``, a group with one
    member, ``world.group_member`` (a registered student), for progress to follow."""
    name = f"c_{uuid.uuid4().hex[:10]}"
    r = await identity.client.post(
        f"{API}/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password": "pw-contract-1"},
    )
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    r = await identity.client.post(
        f"{API}/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]}
    )
    assert r.status_code == 200, r.text
    admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = await identity.client.patch(
        f"{API}/users/{user_id}", json={"display_name": "Contract Person"}, headers=admin
    )
    assert r.status_code == 200, r.text
    r = await identity.client.patch(
        f"{API}/users/{user_id}", json={"role": "instructor"}, headers=admin
    )
    assert r.status_code == 200, r.text
    r = await identity.client.delete(f"{API}/users/{user_id}", headers=admin)
    assert r.status_code == 204, r.text

    async def registered(prefix: str) -> str:
        username = f"{prefix}_{uuid.uuid4().hex[:10]}"
        r = await identity.client.post(
            f"{API}/auth/register",
            json={
                "username": username,
                "email": f"{username}@example.com",
                "password": "pw-contract-1",
            },
        )
        assert r.status_code == 201, r.text
        registered_id: str = r.json()["id"]
        return registered_id

    teacher_id = await registered("t")
    r = await identity.client.patch(
        f"{API}/users/{teacher_id}", json={"role": "instructor"}, headers=admin
    )
    assert r.status_code == 200, r.text
    r = await identity.client.post(
        f"{API}/auth/token", data={"username": r.json()["username"], "password": "pw-contract-1"}
    )
    assert r.status_code == 200, r.text
    teacher = {"Authorization": f"Bearer {r.json()['access_token']}"}
    member, other = await registered("m"), await registered("m")

    async def call(method: str, path: str, expect: int, **kw: Any) -> Any:
        r = await identity.client.request(method, f"{API}{path}", headers=teacher, **kw)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    group = await call("POST", "/groups", 201, json={"name": f"Contract {uuid.uuid4().hex[:8]}"})
    gid = group["id"]
    await call("PATCH", f"/groups/{gid}", 200, json={"description": "A contract cohort"})
    await call("PUT", f"/groups/{gid}/members/{member}", 201)
    added = await call(
        "POST", f"/groups/{gid}/members", 200, json={"user_ids": [other, str(uuid.uuid4())]}
    )
    assert added["added"] == [other], added
    await call("DELETE", f"/groups/{gid}/members/{other}", 204)
    doomed = await call("POST", "/groups", 201, json={"name": f"Gone {uuid.uuid4().hex[:8]}"})
    await call("PUT", f"/groups/{doomed['id']}/members/{other}", 201)
    await call("DELETE", f"/groups/{doomed['id']}", 204)
    world.group_id, world.group_member = gid, (uuid.UUID(member), "student")


@dataclass
class World:
    """Ids the chained scenarios share."""

    instructor: tuple[uuid.UUID, str] = field(default_factory=lambda: (uuid.uuid4(), "instructor"))
    course_id: str = ""
    module_id: str = ""
    post_ids: list[str] = field(default_factory=list)
    quiz_id: str = ""
    student: tuple[uuid.UUID, str] = field(default_factory=lambda: (uuid.uuid4(), "student"))
    # A group of identity's (identity's scenario) with one member, a registered student.
    group_id: str = ""
    group_member: tuple[uuid.UUID, str] = field(default_factory=lambda: (uuid.uuid4(), "student"))


async def catalog_scenario(catalog: Service, world: World) -> None:
    """Every catalog event; ends with one published course using one module."""
    me = world.instructor
    course = await catalog.call("POST", "/courses", me, 201, json={"title": "Contract course"})
    cid = course["id"]
    await catalog.call("PATCH", f"/courses/{cid}", me, 200, json={"title": "Contract course 2"})
    for status in ("published", "archived", "published"):
        await catalog.call("PATCH", f"/courses/{cid}", me, 200, json={"status": status})
    modules = [
        (await catalog.call("POST", "/modules", me, 201, json={"title": f"M{i}"}))["id"]
        for i in range(3)
    ]
    await catalog.call("PATCH", f"/modules/{modules[0]}", me, 200, json={"title": "M0 renamed"})
    for module_id in modules[:2]:
        await catalog.call(
            "POST", f"/courses/{cid}/modules", me, 201, json={"module_id": module_id}
        )
    await catalog.call(
        "PUT", f"/courses/{cid}/modules", me, 200, json={"module_ids": modules[1::-1]}
    )
    # Gating: M0 requires M1 (the detach below removes that again), unlocked in the past.
    await catalog.call(
        "PATCH",
        f"/courses/{cid}/modules/{modules[0]}",
        me,
        200,
        json={"prerequisites": [modules[1]], "unlock_at": "2020-01-01T00:00:00Z"},
    )
    await catalog.call("DELETE", f"/courses/{cid}/modules/{modules[1]}", me, 204)
    await catalog.call("DELETE", f"/modules/{modules[2]}", me, 204)
    doomed = await catalog.call("POST", "/courses", me, 201, json={"title": "Short-lived"})
    await catalog.call("DELETE", f"/courses/{doomed['id']}", me, 204)
    world.course_id, world.module_id = cid, modules[0]


async def content_scenario(content: Service, world: World) -> None:
    """Every content event; ends with two published posts (one quiz with points). The
    short-lived third post has a rule other than its kind's default (view), and
    ``world.student`` opens the first post (PostViewed)."""
    me, mid = world.instructor, world.module_id
    text = {"kind": "text", "body": "Hello"}
    quiz = {
        "kind": "quiz",
        "questions": [{"prompt": "1+1?", "choices": ["1", "2"], "answer_index": 1}],
        "max_points": 5,
    }
    first = await content.call(
        "POST", f"/modules/{mid}/posts", me, 201, json={"title": "P1", "content": text}
    )
    await content.call("PATCH", f"/posts/{first['id']}", me, 200, json={"title": "P1 renamed"})
    await content.call("PATCH", f"/posts/{first['id']}", me, 200, json={"status": "published"})
    second = await content.call(
        "POST",
        f"/modules/{mid}/posts",
        me,
        201,
        # mark_done (not the quiz's default, submit): progress's scenario marks it done
        # to finish the course before assessment's scenario submits it.
        json={
            "title": "Quiz",
            "content": quiz,
            "status": "published",
            "completion": {"rule": "mark_done"},
        },
    )
    third = await content.call(
        "POST",
        f"/modules/{mid}/posts",
        me,
        201,
        json={"title": "P3", "content": text, "completion": {"rule": "view"}},
    )
    await content.call("PATCH", f"/posts/{third['id']}", me, 200, json={"status": "published"})
    await content.call("PATCH", f"/posts/{third['id']}", me, 200, json={"status": "draft"})
    order = [third["id"], second["id"], first["id"]]
    await content.call("PUT", f"/modules/{mid}/posts", me, 200, json={"post_ids": order})
    await content.call("DELETE", f"/posts/{third['id']}", me, 204)
    await content.call("GET", f"/posts/{first['id']}", world.student, 200)  # a view
    world.post_ids = [first["id"], second["id"]]
    world.quiz_id = second["id"]


async def progress_scenario(progress: Service, world: World) -> None:
    """Every progress event: enroll, complete, uncomplete, finish the module and the
    course (both posts are mark_done), drop; the course follows identity's group (its
    member enrolled by the group), unfollows it (dropped) and follows it again; ends with
    ``world.student`` actively enrolled and ``world.group_member`` enrolled by the group."""
    cid = world.course_id
    finisher = (uuid.uuid4(), "student")
    await progress.call("POST", f"/courses/{cid}/enrollments", finisher, 201)
    first, second = world.post_ids
    await progress.call("PUT", f"/me/completions/{first}", finisher, 201)
    await progress.call("DELETE", f"/me/completions/{first}", finisher, 204)
    for post_id in (first, second):
        await progress.call("PUT", f"/me/completions/{post_id}", finisher, 201)
    quitter = (uuid.uuid4(), "student")
    await progress.call("POST", f"/courses/{cid}/enrollments", quitter, 201)
    await progress.call("DELETE", f"/courses/{cid}/enrollments/me", quitter, 204)
    await progress.call("POST", f"/courses/{cid}/enrollments", world.student, 201)
    # An admin follows (the course's owner did not create the group: only its creator,
    # an instructor whose course it follows, or an admin may make a course follow it).
    follow, admin = f"/courses/{cid}/groups/{world.group_id}", (uuid.uuid4(), "admin")
    await progress.call("PUT", follow, admin, 201)
    await progress.call("DELETE", follow, world.instructor, 204)
    await progress.call("PUT", follow, admin, 201)


async def assessment_scenario(assessment: Service, world: World) -> None:
    """Every assessment event: a student submits the quiz (graded at once,
    SubmissionCreated), its course's owner overrides the grade (SubmissionGraded)."""
    submission = await assessment.call(
        "POST", f"/posts/{world.quiz_id}/submissions", world.student, 201, json={"answers": [1]}
    )
    assert submission["status"] == "graded", submission
    await assessment.call(
        "PUT",
        f"/submissions/{submission['id']}/grade",
        world.instructor,
        200,
        json={"score": 4.5, "feedback": "Overridden"},
    )


async def overrides_scenario(service: Service, world: World) -> None:
    """Dates per student, after progress's scenario (an override needs its student
    enrolled, which catalog and content learn from progress): catalog's unlock and
    content's due overrides, each set, replaced, removed and set again
    (UnlockOverrideSet/Removed, DueOverrideSet/Removed); ``world.student`` ends with one
    of each."""
    me, student = world.instructor, world.student[0]
    if service.name == "catalog":
        path = f"/courses/{world.course_id}/modules/{world.module_id}/overrides/users/{student}"
        field = "unlock_at"
    else:
        path = f"/posts/{world.quiz_id}/overrides/users/{student}"
        field = "due_at"
    await service.call("PUT", path, me, 201, json={field: "2030-01-01T00:00:00Z"})
    await service.call("PUT", path, me, 200, json={field: "2030-02-01T00:00:00Z"})
    await service.call("DELETE", path, me, 204)
    await service.call("PUT", path, me, 201, json={field: "2020-01-01T00:00:00Z"})


async def run_all(services: dict[str, Service]) -> Captured:
    """Run every producer scenario, feeding each consumer what it subscribes to.

    A scenario that stops (a consumer upstream broke, an API changed) is recorded, and
    whatever its producer emitted until then is still verified against the pacts.
    """
    captured = Captured()
    world = World()
    scenarios = [
        ("identity", identity_scenario, ("catalog", "content", "progress", "assessment")),
        ("catalog", catalog_scenario, ("content", "progress", "assessment", "identity")),
        ("content", content_scenario, ("progress", "assessment")),
        # Progress and assessment read their own events back too (their notices).
        (
            "progress",
            progress_scenario,
            ("catalog", "content", "assessment", "progress", "identity"),
        ),
        ("assessment", assessment_scenario, ("content", "assessment")),
        # Overrides need an enrolled student: after progress's scenario.
        ("catalog", overrides_scenario, ("content", "progress", "assessment")),
        ("content", overrides_scenario, ("progress", "assessment")),
    ]
    fed: dict[str, int] = {}  # producer → how many of its envelopes consumers were fed
    for producer, scenario, consumers in scenarios:
        try:
            await scenario(services[producer], world)
        except Exception as exc:
            captured.errors[producer] = f"{type(exc).__name__}: {exc}"
        payloads = await services[producer].outbox()
        captured.payloads[producer] = payloads
        # A producer's second scenario feeds only what it emitted since its first.
        fresh, fed[producer] = payloads[fed.get(producer, 0) :], len(payloads)
        for name in consumers:
            for event_type, outcome in await services[name].feed(fresh):
                captured.outcomes.append((name, event_type, outcome))
    # What consumers wrote meanwhile (notices told while applying events) counts as well.
    for producer, _, _ in scenarios:
        captured.payloads[producer] = await services[producer].outbox()
    return captured

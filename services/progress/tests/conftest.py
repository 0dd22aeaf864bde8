from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nats
import pytest_asyncio
from nats.aio.client import Client
from sqlalchemy import select
from syllabus_devkit.testing.asserts import eventually
from syllabus_devkit.testing.plugin import Databases, serve_app
from syllabus_devkit.testing.tokens import TokenFactory
from syllabus_progress.main import create_app
from syllabus_progress.models import PROJECTION
from syllabus_progress.settings import Settings
from syllabus_shared.contracts import Envelope, Event
from syllabus_shared.contracts import assessment as ae
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import content as pe
from syllabus_shared.contracts import identity as ie
from syllabus_shared.db import new_metadata, utcnow
from syllabus_shared.ids import new_id
from syllabus_shared.messaging.consumer import EventConsumer
from syllabus_shared.messaging.nats_link import ensure_stream
from syllabus_shared.messaging.outbox import Outbox, stream_name, subject_for
from syllabus_shared.messaging.tables import kernel_tables
from syllabus_shared.runtime import Runtime

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
API = "/api/v1"
# The production default: read-your-writes is tested against the real bound (negative
# paths that wait for it run concurrently in the tests to stay quick).
CONSISTENCY_WAIT = 2.0

T = TypeVar("T")


# ---------------------------------------------------------------- catalog + content, played


@dataclass
class World:
    """Plays catalog and content: emits their events, with the sequences those services
    would give them, into this test's namespaced CATALOG and CONTENT streams.

    ``hold=True`` on a builder returns the envelopes instead of publishing them, so a test
    can deliver them in any order (``deliver``), twice, or not at all.
    """

    nc: Client
    namespace: str
    outboxes: dict[str, Outbox] = field(default_factory=dict)
    sequences: dict[tuple[str, uuid.UUID], int] = field(default_factory=dict)
    # The highest sequence delivered per aggregate (what the projection must reach).
    delivered: dict[tuple[str, uuid.UUID], int] = field(default_factory=dict)
    courses: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    outlines: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    modules: dict[uuid.UUID, str] = field(default_factory=dict)
    posts: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    module_posts: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    held: list[tuple[type[Event], Envelope]] = field(default_factory=list)
    # Per (course, module): its gating in that course (prerequisites, unlock_at).
    gating: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]] = field(default_factory=dict)
    submissions: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)

    async def setup(self) -> None:
        tables = kernel_tables(new_metadata())
        js = self.nc.jetstream()
        for source, stream in (
            ("catalog", "CATALOG"),
            ("content", "CONTENT"),
            ("assessment", "ASSESSMENT"),
            ("identity", "IDENTITY"),
        ):
            self.outboxes[source] = Outbox(tables, source=source, namespace=self.namespace)
            await ensure_stream(
                js, stream_name(self.namespace, stream), [f"{self.namespace}.{source}.>"]
            )

    # ------------------------------------------------------------ delivery

    async def emit(self, event: Event, *, hold: bool = False) -> Envelope:
        key = (event.aggregate, event.subject_id())
        self.sequences[key] = self.sequences.get(key, 0) + 1
        envelope = self.outboxes[event.source].envelope(event, self.sequences[key])
        if hold:
            self.held.append((type(event), envelope))
        else:
            await self.deliver([(type(event), envelope)])
        return envelope

    async def deliver(
        self, items: Sequence[tuple[type[Event], Envelope]], *, again: bool = False
    ) -> None:
        """Publish envelopes as given; ``again`` publishes past the stream's duplicate
        window (a new Nats-Msg-Id), as a relay re-drive after the window would."""
        js = self.nc.jetstream()
        for cls, envelope in items:
            key = (envelope.aggregatetype, uuid.UUID(envelope.subject))
            self.delivered[key] = max(self.delivered.get(key, 0), envelope.sequence)
            msg_id = str(uuid.uuid4()) if again else str(envelope.id)
            await js.publish(
                subject_for(self.namespace, cls),
                envelope.model_dump_json().encode(),
                headers={"Nats-Msg-Id": msg_id},
            )

    def take_held(self) -> list[tuple[type[Event], Envelope]]:
        held, self.held = self.held, []
        return held

    # ------------------------------------------------------------ catalog

    def _course_event(self, course_id: uuid.UUID, cls: type[ce.CourseState]) -> ce.CourseState:
        return cls(course_id=course_id, **self.courses[course_id])

    async def course(
        self,
        owner: uuid.UUID | None = None,
        *,
        status: str = "published",
        visibility: str = "public",
        title: str | None = None,
        sequential: bool = False,
        hold: bool = False,
    ) -> uuid.UUID:
        course_id = new_id()
        title = title or f"Course {course_id.hex[-6:]}"
        self.courses[course_id] = {
            "slug": title.lower().replace(" ", "-"),
            "title": title,
            "status": "draft",
            "visibility": visibility,
            "creator_id": owner or uuid.uuid4(),
            "sequential": sequential,
        }
        self.outlines[course_id] = []
        await self.emit(self._course_event(course_id, ce.CourseCreated), hold=hold)
        if status != "draft":
            await self.update_course(course_id, status="published", hold=hold)
        if status == "archived":
            await self.update_course(course_id, status="archived", hold=hold)
        return course_id

    async def update_course(
        self, course_id: uuid.UUID, *, hold: bool = False, **changes: Any
    ) -> None:
        state = self.courses[course_id]
        cls: type[ce.CourseState] = ce.CourseUpdated
        if changes.get("status", state["status"]) != state["status"]:
            cls = ce.CoursePublished if changes["status"] == "published" else ce.CourseArchived
        state.update(changes)
        await self.emit(self._course_event(course_id, cls), hold=hold)

    async def delete_course(self, course_id: uuid.UUID, *, hold: bool = False) -> None:
        await self.emit(ce.CourseDeleted(course_id=course_id), hold=hold)

    async def module(self, title: str | None = None, *, hold: bool = False) -> uuid.UUID:
        module_id = new_id()
        self.modules[module_id] = title or f"Module {module_id.hex[-6:]}"
        self.module_posts[module_id] = []
        await self.emit(
            ce.ModuleCreated(
                module_id=module_id, title=self.modules[module_id], creator_id=uuid.uuid4()
            ),
            hold=hold,
        )
        return module_id

    async def rename_module(self, module_id: uuid.UUID, title: str, *, hold: bool = False) -> None:
        self.modules[module_id] = title
        await self.emit(
            ce.ModuleUpdated(module_id=module_id, title=title, creator_id=uuid.uuid4()), hold=hold
        )

    async def delete_module(self, module_id: uuid.UUID, *, hold: bool = False) -> None:
        await self.emit(ce.ModuleDeleted(module_id=module_id), hold=hold)

    def _placements(self, course_id: uuid.UUID) -> list[ce.ModulePlacement]:
        return [
            ce.ModulePlacement(module_id=m, position=i + 1, **self.gating.get((course_id, m), {}))
            for i, m in enumerate(self.outlines[course_id])
        ]

    async def gate(
        self,
        course_id: uuid.UUID,
        module_id: uuid.UUID,
        *,
        prerequisites: Sequence[uuid.UUID] = (),
        unlock_at: Any = None,
        hold: bool = False,
    ) -> None:
        """Set a module's prerequisites and unlock time in a course (ModuleGatingChanged)."""
        self.gating[(course_id, module_id)] = {
            "prerequisites": list(prerequisites),
            "unlock_at": unlock_at,
        }
        await self.emit(
            ce.ModuleGatingChanged(
                course_id=course_id, modules=self._placements(course_id), module_id=module_id
            ),
            hold=hold,
        )

    async def attach(
        self,
        course_id: uuid.UUID,
        module_id: uuid.UUID,
        position: int | None = None,
        *,
        hold: bool = False,
    ) -> None:
        order = self.outlines[course_id]
        order.insert((position or len(order) + 1) - 1, module_id)
        await self.emit(
            ce.ModuleAttached(
                course_id=course_id,
                modules=self._placements(course_id),
                module_id=module_id,
                position=order.index(module_id) + 1,
            ),
            hold=hold,
        )

    async def detach(
        self, course_id: uuid.UUID, module_id: uuid.UUID, *, hold: bool = False
    ) -> None:
        self.outlines[course_id].remove(module_id)
        await self.emit(
            ce.ModuleDetached(
                course_id=course_id, modules=self._placements(course_id), module_id=module_id
            ),
            hold=hold,
        )

    async def reorder_modules(
        self, course_id: uuid.UUID, order: list[uuid.UUID], *, hold: bool = False
    ) -> None:
        self.outlines[course_id] = list(order)
        await self.emit(
            ce.CourseModulesReordered(course_id=course_id, modules=self._placements(course_id)),
            hold=hold,
        )

    # ------------------------------------------------------------ content

    def _post_event(self, post_id: uuid.UUID, cls: type[pe.PostState]) -> pe.PostState:
        state = self.posts[post_id]
        position = self.module_posts[state["module_id"]].index(post_id) + 1
        return cls(post_id=post_id, position=position, **state)

    async def post(
        self,
        module_id: uuid.UUID,
        title: str | None = None,
        *,
        kind: str = "text",
        status: str = "published",
        position: int | None = None,
        completion: dict[str, Any] | None = None,
        hold: bool = False,
    ) -> uuid.UUID:
        post_id = new_id()
        self.posts[post_id] = {
            "module_id": module_id,
            "title": title or f"Post {post_id.hex[-6:]}",
            "kind": kind,
            "status": status,
            "max_points": 10 if kind in ("assignment", "quiz") else None,
            "creator_id": uuid.uuid4(),
            "completion": pe.CompletionRule(**completion) if completion else None,
        }
        order = self.module_posts[module_id]
        order.insert((position or len(order) + 1) - 1, post_id)
        await self.emit(self._post_event(post_id, pe.PostCreated), hold=hold)
        return post_id

    async def update_post(self, post_id: uuid.UUID, *, hold: bool = False, **changes: Any) -> None:
        state = self.posts[post_id]
        if isinstance(changes.get("completion"), dict):
            changes["completion"] = pe.CompletionRule(**changes["completion"])
        cls: type[pe.PostState] = pe.PostUpdated
        if changes.get("status", state["status"]) != state["status"]:
            cls = pe.PostPublished if changes["status"] == "published" else pe.PostUnpublished
        state.update(changes)
        await self.emit(self._post_event(post_id, cls), hold=hold)

    async def delete_post(self, post_id: uuid.UUID, *, hold: bool = False) -> None:
        module_id = self.posts[post_id]["module_id"]
        self.module_posts[module_id].remove(post_id)
        await self.emit(pe.PostDeleted(post_id=post_id, module_id=module_id), hold=hold)

    async def reorder_posts(
        self, module_id: uuid.UUID, order: list[uuid.UUID], *, hold: bool = False
    ) -> None:
        self.module_posts[module_id] = list(order)
        await self.emit(
            pe.ModulePostsReordered(
                module_id=module_id,
                posts=[pe.PostPlacement(post_id=p, position=i + 1) for i, p in enumerate(order)],
            ),
            hold=hold,
        )

    async def view(
        self, post_id: uuid.UUID, user_id: uuid.UUID, *, hold: bool = False
    ) -> uuid.UUID:
        """A student opens a post for the first time (content's PostViewed)."""
        view_id = new_id()
        await self.emit(
            pe.PostViewed(view_id=view_id, post_id=post_id, user_id=user_id, viewed_at=utcnow()),
            hold=hold,
        )
        return view_id

    async def submit(
        self,
        post_id: uuid.UUID,
        user_id: uuid.UUID,
        *,
        score: float | None = None,
        hold: bool = False,
    ) -> uuid.UUID:
        """A submission (assessment's SubmissionCreated); with ``score``, graded at once
        (a quiz)."""
        submission_id = new_id()
        attempt = 1 + sum(
            1
            for s in self.submissions.values()
            if (s["post_id"], s["user_id"]) == (post_id, user_id)
        )
        self.submissions[submission_id] = {
            "post_id": post_id,
            "user_id": user_id,
            "attempt": attempt,
            "status": "submitted" if score is None else "graded",
            "score": score,
            "max_points": 10,
            "late": False,
            "submitted_at": utcnow(),
            "graded_at": None if score is None else utcnow(),
        }
        await self.emit(
            ae.SubmissionCreated(submission_id=submission_id, **self._kept(submission_id)),
            hold=hold,
        )
        return submission_id

    async def grade(self, submission_id: uuid.UUID, score: float, *, hold: bool = False) -> None:
        self.submissions[submission_id].update(status="graded", score=score, graded_at=utcnow())
        await self.emit(
            ae.SubmissionGraded(submission_id=submission_id, **self._kept(submission_id)), hold=hold
        )

    def _kept(self, submission_id: uuid.UUID) -> dict[str, Any]:
        state = self.submissions[submission_id]
        scores = [
            s["score"]
            for s in self.submissions.values()
            if (s["post_id"], s["user_id"]) == (state["post_id"], state["user_id"])
            and s["score"] is not None
        ]
        return {**state, "kept_score": max(scores) if scores else None}

    async def delete_user(self, user_id: uuid.UUID, *, hold: bool = False) -> Envelope:
        """Identity deleted the account (UserDeleted)."""
        return await self.emit(ie.UserDeleted(user_id=user_id, deleted_at=utcnow()), hold=hold)

    async def register_user(
        self,
        user_id: uuid.UUID,
        username: str,
        display_name: str | None = None,
        *,
        hold: bool = False,
    ) -> Envelope:
        """Identity registered the account (UserRegistered, a student)."""
        return await self.emit(
            ie.UserRegistered(
                user_id=user_id,
                username=username,
                display_name=display_name or username,
                role="student",
            ),
            hold=hold,
        )

    async def rename_user(
        self, user_id: uuid.UUID, username: str, display_name: str, *, hold: bool = False
    ) -> Envelope:
        """The user changed their display name (UserProfileChanged)."""
        return await self.emit(
            ie.UserProfileChanged(
                user_id=user_id, username=username, display_name=display_name, role="student"
            ),
            hold=hold,
        )

    # ------------------------------------------------------------ identity's groups

    async def group(
        self,
        members: Sequence[uuid.UUID] = (),
        name: str | None = None,
        *,
        creator: uuid.UUID | None = None,
        hold: bool = False,
    ) -> uuid.UUID:
        """Identity created a group (GroupCreated) and added ``members`` (GroupMemberAdded)."""
        group_id = new_id()
        await self.emit(
            ie.GroupCreated(
                group_id=group_id,
                group_name=name or f"G {group_id.hex[-6:]}",
                creator_id=creator,
            ),
            hold=hold,
        )
        for user_id in members:
            await self.add_member(group_id, user_id, hold=hold)
        return group_id

    async def add_member(
        self, group_id: uuid.UUID, user_id: uuid.UUID, *, hold: bool = False
    ) -> Envelope:
        return await self.emit(
            ie.GroupMemberAdded(
                membership_id=ie.membership_id(group_id, user_id),
                group_id=group_id,
                user_id=user_id,
                added_at=utcnow(),
            ),
            hold=hold,
        )

    async def remove_member(
        self, group_id: uuid.UUID, user_id: uuid.UUID, *, hold: bool = False
    ) -> Envelope:
        return await self.emit(
            ie.GroupMemberRemoved(
                membership_id=ie.membership_id(group_id, user_id),
                group_id=group_id,
                user_id=user_id,
                removed_at=utcnow(),
            ),
            hold=hold,
        )

    async def delete_group(self, group_id: uuid.UUID, *, hold: bool = False) -> Envelope:
        return await self.emit(ie.GroupDeleted(group_id=group_id, deleted_at=utcnow()), hold=hold)

    async def unlock_override(
        self,
        course_id: uuid.UUID,
        module_id: uuid.UUID,
        kind: str,
        target_id: uuid.UUID,
        unlock_at: dt.datetime | None,
        *,
        hold: bool = False,
    ) -> Envelope:
        """Catalog set (or, with None, removed) a module's unlock date for a group/user."""
        common: dict[str, Any] = {
            "override_id": ce.override_id(course_id, module_id, kind, target_id),  # type: ignore[arg-type]
            "course_id": course_id,
            "module_id": module_id,
            "kind": kind,
            "target_id": target_id,
        }
        if unlock_at is None:
            return await self.emit(ce.UnlockOverrideRemoved(**common), hold=hold)
        return await self.emit(ce.UnlockOverrideSet(**common, unlock_at=unlock_at), hold=hold)

    async def course_with(
        self, modules: int, posts: int, owner: uuid.UUID | None = None, **course: Any
    ) -> tuple[uuid.UUID, list[uuid.UUID], list[list[uuid.UUID]]]:
        """A published course of ``modules`` x ``posts`` published posts."""
        course_id = await self.course(owner, **course)
        module_ids, post_ids = [], []
        for i in range(modules):
            module_id = await self.module(f"M{i + 1}")
            await self.attach(course_id, module_id)
            module_ids.append(module_id)
            post_ids.append([await self.post(module_id, f"P{i + 1}.{j + 1}") for j in range(posts)])
        return course_id, module_ids, post_ids


# ---------------------------------------------------------------- the service


@dataclass
class Progress:
    client: httpx.AsyncClient
    runtime: Runtime
    tokens: TokenFactory
    settings: Settings
    world: World

    def as_(self, role: str | None, user_id: uuid.UUID | None = None) -> dict[str, str]:
        if role is None:
            return {}
        return self.tokens.headers(user_id or uuid.uuid4(), role)

    def student(self) -> tuple[uuid.UUID, dict[str, str]]:
        user_id = uuid.uuid4()
        return user_id, self.tokens.headers(user_id, "student")

    async def synced(self, timeout: float = 10.0) -> None:
        """Wait (bounded) until the projection applied every event the world delivered."""
        av = self.runtime.tables.aggregate_versions

        async def missing() -> list[tuple[str, uuid.UUID, int]]:
            async with self.runtime.db.transaction() as session:
                rows = await session.execute(
                    select(av.c.aggregate, av.c.aggregate_id, av.c.version)
                )
                have = {(r.aggregate, r.aggregate_id): r.version for r in rows}
            return [
                (agg, aid, seq)
                for (agg, aid), seq in self.world.delivered.items()
                if have.get((agg, aid), 0) < seq
            ]

        left = await eventually(missing, lambda m: not m, timeout=timeout)
        assert not left, f"projection did not catch up: {left[:5]}"

    def consumer(self, source: str) -> EventConsumer:
        """This app's consumer of ``source``'s events (to pause and resume it)."""
        return next(c for c in self.runtime.consumers if c.subscription.source == source)

    async def events(self, *names: str) -> list[dict[str, Any]]:
        """The envelopes in progress's outbox, oldest first (of the named types only).
        Notices (for the live stream, told as events are applied) only when named."""
        out = []
        for row in await self.outbox():
            envelope: dict[str, Any] = json.loads(row.payload)
            name = envelope["type"].split(".")[2]
            if name in names or (not names and name != "Notice"):
                out.append(envelope)
        return out

    async def enrollment(self, course_id: uuid.UUID, headers: dict[str, str]) -> dict[str, Any]:
        r = await self.client.get(f"{API}/me/enrollments?limit=100", headers=headers)
        found: dict[str, Any] = next(
            e for e in r.json()["items"] if e["course_id"] == str(course_id)
        )
        return found

    async def enroll(self, course_id: uuid.UUID, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post(f"{API}/courses/{course_id}/enrollments", headers=headers)

    async def complete(self, post_id: uuid.UUID, headers: dict[str, str]) -> httpx.Response:
        return await self.client.put(f"{API}/me/completions/{post_id}", headers=headers)

    async def doc(self, course_id: uuid.UUID, headers: dict[str, str]) -> dict[str, Any]:
        r = await self.client.get(f"{API}/me/courses/{course_id}/progress", headers=headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def doc_until(
        self,
        course_id: uuid.UUID,
        headers: dict[str, str],
        done: Callable[[dict[str, Any]], bool],
        timeout: float = 2.0,
    ) -> dict[str, Any]:
        """The progress document once ``done`` holds (asserts it does within ``timeout``)."""
        doc = await eventually(lambda: self.doc(course_id, headers), done, timeout=timeout)
        assert done(doc), doc
        return doc

    async def outbox(self) -> list[Any]:
        ob = self.runtime.tables.outbox
        async with self.runtime.db.transaction() as session:
            return list(
                (await session.execute(select(ob).order_by(ob.c.created_at, ob.c.id))).all()
            )

    async def projection(self, runtime: Runtime | None = None) -> dict[str, list[tuple[Any, ...]]]:
        """Every projection row, sorted, table by table (for comparisons)."""
        rt = runtime or self.runtime
        out: dict[str, list[tuple[Any, ...]]] = {}
        async with rt.db.transaction() as session:
            for model in PROJECTION:
                table = model.__table__
                rows = (await session.execute(select(table))).all()
                out[table.name] = sorted((tuple(r) for r in rows), key=repr)
        return out


def module_ids(doc: dict[str, Any]) -> list[str]:
    return [m["module_id"] for m in doc["modules"]]


def post_ids(doc: dict[str, Any]) -> list[list[str]]:
    return [[p["post_id"] for p in m["posts"]] for m in doc["modules"]]


def ids(values: Sequence[uuid.UUID]) -> list[str]:
    return [str(v) for v in values]


def progress_settings(
    database_url: str, nats_url: str, namespace: str, tokens: TokenFactory, **overrides: Any
) -> Settings:
    return Settings(
        database_url=database_url,
        nats_url=nats_url,
        event_namespace=namespace,
        auth_jwks_json=tokens.jwks_json,
        service_env="test",
        log_json=False,
        consistency_wait_seconds=CONSISTENCY_WAIT,
        **overrides,
    )


@contextlib.asynccontextmanager
async def running_progress(
    databases: Databases, nats_url: str, namespace: str, tokens: TokenFactory
) -> AsyncIterator[Progress]:
    settings = progress_settings(await databases.create(MIGRATIONS), nats_url, namespace, tokens)
    nc = await nats.connect(nats_url)
    try:
        world = World(nc, namespace)
        await world.setup()
        app = create_app(settings)
        async with serve_app(app, "http://progress") as client:
            runtime: Runtime = app.state.runtime
            # Consumers bound, so nothing a test publishes is missed or slow to arrive.
            for consumer in runtime.consumers:
                await asyncio.wait_for(consumer.ready.wait(), 10)
            yield Progress(client, runtime, tokens, settings, world)
    finally:
        await nc.close()


@pytest_asyncio.fixture
async def progress(
    databases: Databases, nats_url: str, namespace: str, tokens: TokenFactory
) -> AsyncIterator[Progress]:
    async with running_progress(databases, nats_url, namespace, tokens) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def shared_progress(
    databases: Databases, nats_url: str, tokens: TokenFactory
) -> AsyncIterator[Progress]:
    """One app for a whole test module (each test builds its own courses in it)."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    async with running_progress(databases, nats_url, namespace, tokens) as running:
        yield running

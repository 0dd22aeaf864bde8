from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest_asyncio
from nats.aio.client import Client
from sqlalchemy import select
from syllabus_assessment.main import create_app
from syllabus_assessment.models import PROJECTION
from syllabus_assessment.settings import Settings
from syllabus_devkit.testing.asserts import eventually
from syllabus_devkit.testing.plugin import Databases, serve_app
from syllabus_devkit.testing.tokens import TokenFactory
from syllabus_shared.contracts import Envelope, Event
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import content as pe
from syllabus_shared.contracts import identity as ie
from syllabus_shared.contracts import progress as pr
from syllabus_shared.db import new_metadata
from syllabus_shared.ids import new_id
from syllabus_shared.messaging.nats_link import ensure_stream
from syllabus_shared.messaging.outbox import Outbox, stream_name, subject_for
from syllabus_shared.messaging.tables import kernel_tables
from syllabus_shared.runtime import Runtime

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
API = "/api/v1"
# The production default: read-your-writes is tested against the real bound.
CONSISTENCY_WAIT = 2.0

QUIZ_KEY = [1, 0, 2]  # three questions, three choices each


# ---------------------------------------------------------------- catalog, content, progress


@dataclass
class World:
    """Plays catalog, content and progress: emits their events, with the sequences those
    services would give them, into this test's namespaced CATALOG, CONTENT and PROGRESS
    streams.

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
    modules: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    posts: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    module_posts: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    enrollments: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    held: list[tuple[type[Event], Envelope]] = field(default_factory=list)

    async def setup(self) -> None:
        tables = kernel_tables(new_metadata())
        js = self.nc.jetstream()
        for source, stream in (
            ("catalog", "CATALOG"),
            ("content", "CONTENT"),
            ("progress", "PROGRESS"),
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
        hold: bool = False,
    ) -> uuid.UUID:
        course_id = new_id()
        title = f"Course {course_id.hex[-6:]}"
        self.courses[course_id] = {
            "slug": title.lower().replace(" ", "-"),
            "title": title,
            "status": "draft",
            "visibility": visibility,
            "creator_id": owner or uuid.uuid4(),
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

    async def module(self, owner: uuid.UUID | None = None, *, hold: bool = False) -> uuid.UUID:
        module_id = new_id()
        self.modules[module_id] = {
            "title": f"Module {module_id.hex[-6:]}",
            "creator_id": owner or uuid.uuid4(),
        }
        self.module_posts[module_id] = []
        await self.emit(ce.ModuleCreated(module_id=module_id, **self.modules[module_id]), hold=hold)
        return module_id

    async def delete_module(self, module_id: uuid.UUID, *, hold: bool = False) -> None:
        await self.emit(ce.ModuleDeleted(module_id=module_id), hold=hold)

    def _placements(self, course_id: uuid.UUID) -> list[ce.ModulePlacement]:
        return [
            ce.ModulePlacement(module_id=m, position=i + 1)
            for i, m in enumerate(self.outlines[course_id])
        ]

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
        kind: str = "quiz",
        *,
        status: str = "published",
        max_points: int | None = 10,
        key: list[int] | None = None,
        due_at: dt.datetime | None = None,
        attempts: int | None = None,
        title: str | None = None,
        hold: bool = False,
    ) -> uuid.UUID:
        post_id = new_id()
        gradable = kind in ("assignment", "quiz")
        answer_key = (key or QUIZ_KEY) if kind == "quiz" else None
        self.posts[post_id] = {
            "module_id": module_id,
            "title": title or f"{kind.title()} {post_id.hex[-6:]}",
            "kind": kind,
            "status": status,
            "max_points": max_points if gradable else None,
            "creator_id": self.modules.get(module_id, {}).get("creator_id", uuid.uuid4()),
            "due_at": due_at,
            "attempts": attempts,
            "answer_key": answer_key,
            "question_count": len(answer_key) if answer_key else None,
            "choice_counts": [3] * len(answer_key) if answer_key else None,
        }
        self.module_posts[module_id].append(post_id)
        await self.emit(self._post_event(post_id, pe.PostCreated), hold=hold)
        return post_id

    async def update_post(self, post_id: uuid.UUID, *, hold: bool = False, **changes: Any) -> None:
        state = self.posts[post_id]
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

    # ------------------------------------------------------------ progress

    async def enroll(
        self, user_id: uuid.UUID, course_id: uuid.UUID, *, hold: bool = False
    ) -> uuid.UUID:
        enrollment_id = new_id()
        self.enrollments[enrollment_id] = {"user_id": user_id, "course_id": course_id}
        await self.emit(
            pr.EnrollmentCreated(
                enrollment_id=enrollment_id,
                user_id=user_id,
                course_id=course_id,
                status="active",
                enrolled_at=dt.datetime.now(dt.UTC),
            ),
            hold=hold,
        )
        return enrollment_id

    async def reenroll(self, enrollment_id: uuid.UUID, *, hold: bool = False) -> None:
        """A dropped enrollment reactivated (the same enrollment, a new sequence)."""
        await self.emit(
            pr.EnrollmentCreated(
                enrollment_id=enrollment_id,
                status="active",
                enrolled_at=dt.datetime.now(dt.UTC),
                **self.enrollments[enrollment_id],
            ),
            hold=hold,
        )

    async def drop(self, enrollment_id: uuid.UUID, *, hold: bool = False) -> None:
        await self.emit(
            pr.EnrollmentDropped(
                enrollment_id=enrollment_id, status="dropped", **self.enrollments[enrollment_id]
            ),
            hold=hold,
        )

    async def delete_user(self, user_id: uuid.UUID, *, hold: bool = False) -> Envelope:
        """Identity deleted the account (UserDeleted)."""
        return await self.emit(
            ie.UserDeleted(user_id=user_id, deleted_at=dt.datetime.now(dt.UTC)), hold=hold
        )

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

    async def complete_course(self, enrollment_id: uuid.UUID, *, hold: bool = False) -> None:
        await self.emit(
            pr.CourseCompleted(
                enrollment_id=enrollment_id,
                status="completed",
                completed_at=dt.datetime.now(dt.UTC),
                **self.enrollments[enrollment_id],
            ),
            hold=hold,
        )


# ---------------------------------------------------------------- a ready-made course


@dataclass
class Setup:
    """A published course (owned by ``owner``) with one module (owned by ``module_owner``)
    holding a quiz (3 questions, key ``QUIZ_KEY``, 10 points) and an assignment (20 points),
    and a student enrolled in it."""

    course_id: uuid.UUID
    module_id: uuid.UUID
    quiz: uuid.UUID
    assignment: uuid.UUID
    owner: uuid.UUID
    module_owner: uuid.UUID
    student: uuid.UUID
    enrollment: uuid.UUID


# ---------------------------------------------------------------- the service


@dataclass
class Assessment:
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

    async def setup(self, *, quiz: dict[str, Any] | None = None, **assignment: Any) -> Setup:
        owner, module_owner, student = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        course_id = await self.world.course(owner)
        module_id = await self.world.module(module_owner)
        await self.world.attach(course_id, module_id)
        quiz_id = await self.world.post(module_id, "quiz", **(quiz or {}))
        assignment_id = await self.world.post(
            module_id, "assignment", **{"max_points": 20, **assignment}
        )
        enrollment = await self.world.enroll(student, course_id)
        await self.synced()
        return Setup(
            course_id, module_id, quiz_id, assignment_id, owner, module_owner, student, enrollment
        )

    async def submit(
        self, post_id: uuid.UUID, user_id: uuid.UUID, body: dict[str, Any], **headers: str
    ) -> httpx.Response:
        return await self.client.post(
            f"{API}/posts/{post_id}/submissions",
            json=body,
            headers={**self.as_("student", user_id), **headers},
        )

    async def submitted(
        self, post_id: uuid.UUID, user_id: uuid.UUID, body: dict[str, Any]
    ) -> dict[str, Any]:
        r = await self.submit(post_id, user_id, body)
        assert r.status_code == 201, r.text
        doc: dict[str, Any] = r.json()
        return doc

    async def grade(
        self,
        submission_id: str,
        score: float,
        grader: dict[str, str],
        feedback: str | None = None,
        **headers: str,
    ) -> httpx.Response:
        body: dict[str, Any] = {"score": score}
        if feedback is not None:
            body["feedback"] = feedback
        return await self.client.put(
            f"{API}/submissions/{submission_id}/grade", json=body, headers={**grader, **headers}
        )

    async def outbox(self) -> list[Any]:
        ob = self.runtime.tables.outbox
        async with self.runtime.db.transaction() as session:
            return list(
                (await session.execute(select(ob).order_by(ob.c.created_at, ob.c.id))).all()
            )

    async def projection(self, runtime: Runtime | None = None) -> dict[str, list[tuple[Any, ...]]]:
        """Every projection row, sorted, table by table (for comparisons)."""
        out: dict[str, list[tuple[Any, ...]]] = {}
        async with (runtime or self.runtime).db.transaction() as session:
            for model in PROJECTION:
                table = model.__table__  # type: ignore[attr-defined]
                rows = (await session.execute(select(table))).all()
                out[table.name] = sorted((tuple(r) for r in rows), key=repr)
        return out


def assessment_settings(
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
async def running_assessment(
    databases: Databases, nats_url: str, namespace: str, tokens: TokenFactory, **overrides: Any
) -> AsyncIterator[Assessment]:
    settings = assessment_settings(
        await databases.create(MIGRATIONS), nats_url, namespace, tokens, **overrides
    )
    nc = await nats.connect(nats_url)
    try:
        world = World(nc, namespace)
        await world.setup()
        app = create_app(settings)
        async with serve_app(app, "http://assessment") as client:
            runtime: Runtime = app.state.runtime
            # Consumers bound, so nothing a test publishes is missed or slow to arrive.
            for consumer in runtime.consumers:
                await asyncio.wait_for(consumer.ready.wait(), 10)
            yield Assessment(client, runtime, tokens, settings, world)
    finally:
        await nc.close()


@pytest_asyncio.fixture
async def assessment(
    databases: Databases, nats_url: str, namespace: str, tokens: TokenFactory
) -> AsyncIterator[Assessment]:
    async with running_assessment(databases, nats_url, namespace, tokens) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def shared_assessment(
    databases: Databases, nats_url: str, tokens: TokenFactory
) -> AsyncIterator[Assessment]:
    """One app for a whole test module (each test builds its own courses in it). No relay:
    its tests read the outbox, not the ASSESSMENT stream."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    async with running_assessment(
        databases, nats_url, namespace, tokens, run_relay=False
    ) as running:
        yield running

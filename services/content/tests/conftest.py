from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nats
import pytest_asyncio
from nats.aio.client import Client
from nats.js.errors import NotFoundError
from sqlalchemy import func, select
from syllabus_content.main import create_app
from syllabus_content.models import CourseModule, KnownCourse, KnownModule, Post
from syllabus_content.settings import Settings
from syllabus_devkit.testing.asserts import eventually
from syllabus_devkit.testing.plugin import Databases, serve_app
from syllabus_devkit.testing.tokens import TokenFactory
from syllabus_shared.contracts import Envelope, Event
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.ids import new_id
from syllabus_shared.messaging.outbox import Outbox, stream_name, subject_for
from syllabus_shared.runtime import Runtime

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
API = "/api/v1"

T = TypeVar("T")

TEXT = {"kind": "text", "body": "Hello **world**"}
QUIZ = {
    "kind": "quiz",
    "questions": [
        {"prompt": "2 + 2?", "choices": ["3", "4", "5"], "answer_index": 1},
        {"prompt": "Capital of France?", "choices": ["Paris", "Rome"], "answer_index": 0},
    ],
    "max_points": 10,
}
CONTENT_OF_EACH_KIND: dict[str, dict[str, Any]] = {
    "text": TEXT,
    "video": {"kind": "video", "url": "https://videos.example.com/v/1", "duration_seconds": 300},
    "link": {"kind": "link", "url": "http://example.com/read?this=1"},
    "assignment": {
        "kind": "assignment",
        "instructions": "Write a parser.",
        "max_points": 50,
        "due_at": "2030-01-31T23:59:00+01:00",
    },
    "quiz": QUIZ,
}


@dataclass
class Content:
    """A running content service, plus stand-ins for catalog, progress and assessment
    (their events)."""

    client: httpx.AsyncClient
    runtime: Runtime
    tokens: TokenFactory
    settings: Settings
    nc: Client
    catalog: Outbox = field(init=False)
    progress: Outbox = field(init=False)
    assessment: Outbox = field(init=False)
    identity: Outbox = field(init=False)

    def __post_init__(self) -> None:
        ns = self.settings.event_namespace
        self.catalog = Outbox(self.runtime.tables, source="catalog", namespace=ns)
        self.progress = Outbox(self.runtime.tables, source="progress", namespace=ns)
        self.assessment = Outbox(self.runtime.tables, source="assessment", namespace=ns)
        self.identity = Outbox(self.runtime.tables, source="identity", namespace=ns)

    @property
    def namespace(self) -> str:
        return self.settings.event_namespace

    def as_(self, role: str | None, user_id: uuid.UUID | None = None) -> dict[str, str]:
        """Headers for a caller with ``role`` (None: a guest)."""
        if role is None:
            return {}
        return self.tokens.headers(user_id or uuid.uuid4(), role)

    # ------------------------------------------------------------ other services' events

    def envelope(self, event: Event, sequence: int) -> Envelope:
        producers = {
            "catalog": self.catalog,
            "assessment": self.assessment,
            "identity": self.identity,
        }
        return producers.get(event.source, self.progress).envelope(event, sequence)

    async def publish(
        self, event: Event, sequence: int, *, envelope: Envelope | None = None
    ) -> Envelope:
        """Publish ``event`` as its producer's relay would (a fresh Nats-Msg-Id each time,
        so publishing the same envelope again is a redelivery the stream does not drop)."""
        envelope = envelope or self.envelope(event, sequence)
        await self.nc.jetstream().publish(
            subject_for(self.namespace, type(event)),
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": str(uuid.uuid4())},
        )
        return envelope

    async def module(self, owner: uuid.UUID, title: str = "Module") -> uuid.UUID:
        """A module catalog created, once content knows it."""
        module_id = new_id()
        await self.publish(ce.ModuleCreated(module_id=module_id, title=title, creator_id=owner), 1)
        known = await eventually(lambda: self.known_module(module_id), lambda m: m is not None)
        assert known is not None
        return module_id

    async def course(
        self,
        owner: uuid.UUID,
        modules: Iterable[uuid.UUID] = (),
        *,
        status: str = "published",
        visibility: str = "public",
    ) -> uuid.UUID:
        """A course in ``status`` using ``modules``, once content knows it."""
        course_id = new_id()
        modules = list(modules)
        await self.publish(self.course_state(course_id, owner, status, visibility), 1)
        if modules:
            placements = [
                ce.ModulePlacement(module_id=m, position=i + 1) for i, m in enumerate(modules)
            ]
            await self.publish(
                ce.CourseModulesReordered(course_id=course_id, modules=placements), 1
            )

        async def probe() -> tuple[str | None, list[uuid.UUID]]:
            course = await self.known_course(course_id)
            return (course.status if course else None), await self.course_modules(course_id)

        result = await eventually(probe, lambda r: r == (status, modules))
        assert result == (status, modules), result
        return course_id

    @staticmethod
    def course_state(
        course_id: uuid.UUID, owner: uuid.UUID, status: str, visibility: str = "public"
    ) -> ce.CourseState:
        cls = {
            "draft": ce.CourseCreated,
            "published": ce.CoursePublished,
            "archived": ce.CourseArchived,
        }[status]
        return cls(
            course_id=course_id,
            slug=f"c-{course_id.hex[:8]}",
            title="Course",
            status=status,
            visibility=visibility,
            creator_id=owner,
        )

    # ------------------------------------------------------------ the API

    async def post(
        self,
        module_id: uuid.UUID,
        owner: uuid.UUID,
        content: dict[str, Any] | None = None,
        *,
        title: str | None = None,
        role: str = "instructor",
        **fields: Any,
    ) -> dict[str, Any]:
        body = {"title": title or f"Post {uuid.uuid4().hex[:6]}", "content": content or TEXT}
        r = await self.client.post(
            f"{API}/modules/{module_id}/posts",
            json={**body, **fields},
            headers=self.as_(role, owner),
        )
        assert r.status_code == 201, r.text
        post: dict[str, Any] = r.json()
        return post

    async def order(self, module_id: uuid.UUID, owner: uuid.UUID) -> list[str]:
        """The module's post ids in order, read by its owner (checks positions are 1..n)."""
        r = await self.client.get(
            f"{API}/modules/{module_id}/posts?limit=100", headers=self.as_("instructor", owner)
        )
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert [p["position"] for p in items] == list(range(1, len(items) + 1))
        return [p["id"] for p in items]

    # ------------------------------------------------------------ the database

    async def known_module(self, module_id: uuid.UUID) -> KnownModule | None:
        async with self.runtime.db.transaction() as session:
            return await session.get(KnownModule, module_id)

    async def known_course(self, course_id: uuid.UUID) -> KnownCourse | None:
        async with self.runtime.db.transaction() as session:
            return await session.get(KnownCourse, course_id)

    async def course_modules(self, course_id: uuid.UUID) -> list[uuid.UUID]:
        async with self.runtime.db.transaction() as session:
            rows = await session.scalars(
                select(CourseModule.module_id)
                .where(CourseModule.course_id == course_id)
                .order_by(CourseModule.position)
            )
            return list(rows.all())

    async def db_positions(self, module_id: uuid.UUID) -> list[tuple[str, int]]:
        async with self.runtime.db.transaction() as session:
            rows = await session.execute(
                select(Post.id, Post.position)
                .where(Post.module_id == module_id)
                .order_by(Post.position)
            )
            return [(str(r.id), r.position) for r in rows]

    async def outbox(self) -> list[Envelope]:
        ob = self.runtime.tables.outbox
        async with self.runtime.db.transaction() as session:
            rows = (
                await session.execute(select(ob.c.payload).order_by(ob.c.created_at, ob.c.id))
            ).all()
        return [Envelope.model_validate_json(r.payload) for r in rows]

    async def unpublished(self) -> int:
        ob = self.runtime.tables.outbox
        async with self.runtime.db.transaction() as session:
            count = await session.scalar(
                select(func.count()).select_from(ob).where(ob.c.published_at.is_(None))
            )
        return int(count or 0)

    async def published(self, about: Callable[[Envelope], bool] = lambda e: True) -> list[Envelope]:
        """Publish the outbox, then read every envelope in this namespace's CONTENT stream."""
        await self.runtime.relay.drain()
        # The app's own relay may hold rows that drain() skipped (SKIP LOCKED): wait for it.
        assert await eventually(self.unpublished, lambda n: n == 0) == 0
        js = self.nc.jetstream()
        info = await js.stream_info(self.runtime.stream)
        found = []
        if info.state.messages:
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                msg = await js.get_msg(self.runtime.stream, seq)
                assert msg.data is not None
                envelope = Envelope.model_validate_json(msg.data)
                if about(envelope):
                    found.append(envelope)
        return found


def about_module(module_id: uuid.UUID | str) -> Callable[[Envelope], bool]:
    """Events of the module's posts and of its order."""
    return lambda e: e.data.get("module_id") == str(module_id)


async def _stream_exists(js: Any, name: str) -> bool:
    try:
        await js.stream_info(name)
    except NotFoundError:
        return False
    return True


@contextlib.asynccontextmanager
async def running_content(
    databases: Databases, nats_url: str, namespace: str, tokens: TokenFactory, **overrides: Any
) -> AsyncIterator[Content]:
    settings = Settings(
        database_url=await databases.create(MIGRATIONS),
        nats_url=nats_url,
        event_namespace=namespace,
        auth_jwks_json=tokens.jwks_json,
        service_env="test",
        log_json=False,
        **overrides,
    )
    app = create_app(settings)
    nc = await nats.connect(nats_url)
    try:
        async with serve_app(app, "http://content") as client:
            rt: Runtime = app.state.runtime
            for consumer in rt.consumers:
                # Test speed only: a shorter idle fetch lets the app stop sooner.
                consumer.options.fetch_timeout = 0.25
                await asyncio.wait_for(consumer.ready.wait(), 10)
            js = nc.jetstream()
            assert await eventually(lambda: _stream_exists(js, rt.stream), bool)
            assert rt.stream == stream_name(namespace, "CONTENT")
            yield Content(client, rt, tokens, settings, nc)
    finally:
        await nc.close()


@pytest_asyncio.fixture(scope="module")
async def content(
    databases: Databases, nats_url: str, tokens: TokenFactory
) -> AsyncIterator[Content]:
    """One app for a whole test module (each test builds its own modules and posts in it)."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    async with running_content(databases, nats_url, namespace, tokens) as running:
        yield running

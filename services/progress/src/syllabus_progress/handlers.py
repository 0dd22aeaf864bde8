"""Events progress consumes: catalog's and content's, into the course-structure projection.

The consumer runner (kernel) dedupes by event id and applies only events newer than
anything applied for their aggregate, so each handler just writes the state its event
carries. Rows never wait for a parent: a post can land before its module, an outline
before the modules it names. Two rules keep the result independent of interleaving:

- a deleting event writes a tombstone whose columns are reset, so a row depends on its
  aggregate's newest event alone;
- outline events for a deleted course are ignored and CourseDeleted drops the course's
  outline; both take the same per-course lock, so replicas cannot interleave them.

``rebuild`` drops the projection and replays both streams through the same runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, cast

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from syllabus_shared.contracts import Envelope
from syllabus_shared.contracts import catalog as ce
from syllabus_shared.contracts import content as pe
from syllabus_shared.messaging.consumer import EventConsumer, Subscription
from syllabus_shared.messaging.nats_link import ensure_stream
from syllabus_shared.runtime import Runtime, build_runtime
from syllabus_shared.settings import ServiceSettings

from syllabus_progress.models import (
    PROJECTED_AGGREGATES,
    PROJECTION,
    TABLES,
    Base,
    Course,
    CourseModule,
    Module,
    ModulePost,
    Post,
)


async def _upsert(session: AsyncSession, model: type[Base], values: dict[str, Any]) -> None:
    """Insert the row or overwrite every non-key column with ``values``."""
    table = cast(Table, model.__table__)
    keys = [c.name for c in table.primary_key.columns]
    stmt = pg_insert(table).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=keys,
            set_={name: stmt.excluded[name] for name in values if name not in keys},
        )
    )


def _unique(items: Iterable[tuple[uuid.UUID, int]]) -> list[tuple[uuid.UUID, int]]:
    """Drop repeated ids (first wins): a malformed order must not fail on the primary key."""
    seen: set[uuid.UUID] = set()
    out = []
    for item_id, position in items:
        if item_id not in seen:
            seen.add(item_id)
            out.append((item_id, position))
    return out


async def _lock_course(session: AsyncSession, course_id: uuid.UUID) -> None:
    """Serialize a course's CourseDeleted with its outline events (they are two aggregates)."""
    key = func.hashtextextended(f"progress:course:{course_id}", 0)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


# ---------------------------------------------------------------- catalog


async def on_course(session: AsyncSession, event: ce._CourseState, envelope: Envelope) -> None:
    await _upsert(
        session,
        Course,
        {
            "course_id": event.course_id,
            "title": event.title,
            "status": event.status,
            "visibility": event.visibility,
            "creator_id": event.creator_id,
            "deleted": False,
        },
    )


async def on_course_deleted(
    session: AsyncSession, event: ce.CourseDeleted, envelope: Envelope
) -> None:
    await _lock_course(session, event.course_id)
    await _upsert(
        session,
        Course,
        {
            "course_id": event.course_id,
            "title": "",
            "status": "draft",
            "visibility": "private",
            "creator_id": None,
            "deleted": True,
        },
    )
    await session.execute(delete(CourseModule).where(CourseModule.course_id == event.course_id))


async def on_outline(session: AsyncSession, event: ce._OutlineEvent, envelope: Envelope) -> None:
    """Replace the course's module order with the one the event carries."""
    await _lock_course(session, event.course_id)
    deleted = await session.scalar(
        select(Course.deleted).where(Course.course_id == event.course_id)
    )
    if deleted:
        return
    await session.execute(delete(CourseModule).where(CourseModule.course_id == event.course_id))
    rows = [
        {"course_id": event.course_id, "module_id": module_id, "position": position}
        for module_id, position in _unique((m.module_id, m.position) for m in event.modules)
    ]
    if rows:
        await session.execute(insert(CourseModule), rows)


async def on_module(session: AsyncSession, event: ce._ModuleState, envelope: Envelope) -> None:
    await _upsert(
        session, Module, {"module_id": event.module_id, "title": event.title, "deleted": False}
    )


async def on_module_deleted(
    session: AsyncSession, event: ce.ModuleDeleted, envelope: Envelope
) -> None:
    await _upsert(session, Module, {"module_id": event.module_id, "title": "", "deleted": True})


# ---------------------------------------------------------------- content


async def on_post(session: AsyncSession, event: pe._PostState, envelope: Envelope) -> None:
    await _upsert(
        session,
        Post,
        {
            "post_id": event.post_id,
            "module_id": event.module_id,
            "title": event.title,
            "kind": event.kind,
            "status": event.status,
            "position": event.position,
            "max_points": event.max_points,
            "deleted": False,
        },
    )


async def on_post_deleted(session: AsyncSession, event: pe.PostDeleted, envelope: Envelope) -> None:
    await _upsert(
        session,
        Post,
        {
            "post_id": event.post_id,
            "module_id": event.module_id,
            "title": "",
            "kind": "",
            "status": "draft",
            "position": 0,
            "max_points": None,
            "deleted": True,
        },
    )


async def on_posts_reordered(
    session: AsyncSession, event: pe.ModulePostsReordered, envelope: Envelope
) -> None:
    await session.execute(delete(ModulePost).where(ModulePost.module_id == event.module_id))
    rows = [
        {"module_id": event.module_id, "post_id": post_id, "position": position}
        for post_id, position in _unique((p.post_id, p.position) for p in event.posts)
    ]
    if rows:
        await session.execute(insert(ModulePost), rows)


SUBSCRIPTIONS = [
    Subscription(
        name="progress-from-catalog",
        source="catalog",
        handlers={
            ce.CourseCreated: on_course,
            ce.CourseUpdated: on_course,
            ce.CoursePublished: on_course,
            ce.CourseArchived: on_course,
            ce.CourseDeleted: on_course_deleted,
            ce.ModuleAttached: on_outline,
            ce.ModuleDetached: on_outline,
            ce.CourseModulesReordered: on_outline,
            ce.ModuleCreated: on_module,
            ce.ModuleUpdated: on_module,
            ce.ModuleDeleted: on_module_deleted,
        },
    ),
    Subscription(
        name="progress-from-content",
        source="content",
        handlers={
            pe.PostCreated: on_post,
            pe.PostUpdated: on_post,
            pe.PostPublished: on_post,
            pe.PostUnpublished: on_post,
            pe.PostDeleted: on_post_deleted,
            pe.ModulePostsReordered: on_posts_reordered,
        },
    ),
]

# ---------------------------------------------------------------- rebuild

Progress = Callable[[int, int], None]


async def reset_projection(rt: Runtime) -> None:
    """Empty the projection and forget what its consumers applied, in one transaction.

    Enrollments and completions are progress's own data and stay.
    """
    names = [c.subscription.name for c in rt.consumers]
    tables = ", ".join(model.__tablename__ for model in PROJECTION)
    async with rt.db.transaction() as session:
        await session.execute(text(f"TRUNCATE {tables}"))
        await session.execute(delete(TABLES.inbox).where(TABLES.inbox.c.consumer.in_(names)))
        await session.execute(
            delete(TABLES.aggregate_versions).where(
                TABLES.aggregate_versions.c.aggregate.in_(PROJECTED_AGGREGATES)
            )
        )


async def rebuild(rt: Runtime, progress: Progress | None = None) -> dict[str, int]:
    """Drop the projection and replay the catalog and content streams from their start.

    Each message goes through the consumer runner's ``apply`` (inbox, sequence check,
    handler), exactly as live. Reads with ephemeral pull consumers (no acks, in stream
    order) filtered to the events the service handles. Returns outcome counts.
    ``rt.nats`` must be started.
    """
    nc = await rt.nats.wait_connected()
    js = nc.jetstream(timeout=10.0)
    await reset_projection(rt)
    readers: list[tuple[EventConsumer, Any, int]] = []
    ephemeral: list[tuple[str, str]] = []  # (stream, consumer name), deleted at the end
    try:
        for consumer in rt.consumers:
            source = consumer.subscription.source
            prefix = f"{rt.settings.event_namespace}." if rt.settings.event_namespace else ""
            await ensure_stream(js, consumer.stream, [f"{prefix}{source}.>"])
            psub = await js.pull_subscribe(
                consumer.subjects[0],
                stream=consumer.stream,
                config=ConsumerConfig(
                    deliver_policy=DeliverPolicy.ALL,
                    ack_policy=AckPolicy.NONE,
                    filter_subjects=consumer.subjects,
                    inactive_threshold=60.0,
                    mem_storage=True,
                ),
            )
            info = await psub.consumer_info()
            ephemeral.append((consumer.stream, info.name))
            readers.append((consumer, psub, info.num_pending or 0))
        total = sum(pending for _, _, pending in readers)
        counts: Counter[str] = Counter()
        done = 0
        if progress:
            progress(done, total)
        for consumer, psub, pending in readers:
            left = pending
            while left > 0:
                try:
                    messages = await psub.fetch(256, timeout=5.0)
                except TimeoutError:
                    break  # the stream dropped messages (limits) since we counted
                # One transaction per fetched batch: a replay is otherwise bound by commits.
                # A malformed message (dead-lettered when it arrived live) is "malformed".
                outcomes = await consumer.apply_batch([msg.data for msg in messages])
                for msg, outcome in zip(messages, outcomes, strict=True):
                    counts[outcome] += 1
                    counts[consumer.subscription.source] += 1
                    done += 1
                    left = msg.metadata.num_pending
                    if progress:
                        progress(done, max(total, done))
    finally:
        for _, psub, _ in readers:
            with contextlib.suppress(Exception):
                await psub.unsubscribe()
        for stream, name in ephemeral:
            with contextlib.suppress(Exception):
                await js.delete_consumer(stream, name)
    return dict(counts)


def progress_bar(width: int = 30) -> Progress:
    """``\\r[####      ] n/N`` on stderr."""

    def show(done: int, total: int) -> None:
        filled = width if total == 0 else width * done // total
        sys.stderr.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total}")
        sys.stderr.flush()

    return show


def rebuild_command(settings: ServiceSettings) -> int:
    """drop the course-structure projection and replay the catalog and content streams"""

    async def run() -> dict[str, int]:
        rt = build_runtime(settings, TABLES, SUBSCRIPTIONS)
        rt.nats.start()
        try:
            counts = await rebuild(rt, progress_bar())
            sys.stderr.write("\n")
            return counts
        finally:
            await rt.nats.close()
            await rt.db.dispose()

    counts = asyncio.run(run())
    summary = " ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "no events"
    print(f"progress: projection rebuilt ({summary})")
    return 0

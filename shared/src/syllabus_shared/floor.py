"""Bench-only endpoints: the floors ``make bench`` measures the hot endpoints against.

Served only with ``BENCH_ENDPOINTS=true``, which production refuses (settings.py), under
``/api/v1`` of the service itself: the same uvicorn server, middleware (overload bound,
request context, consistency), psycopg driver, SQLAlchemy pool and unit of work as its real
routes, with nothing else:

- ``GET /api/v1/_floor/read/{key}``: ONE ``SELECT`` by primary key on an autocommit
  connection (``Database.read()``, as the progress document reads), the row as JSON (404
  when there is none). The read floor.
- ``POST /api/v1/_floor/write``: through the unit of work, ONE ``INSERT`` (a row in the
  kernel's ``idempotency_keys``, scope ``_floor``) plus one event in the outbox (sealed
  with its position, as every write's events are), and ``COMMIT``; 201 with the key. The
  write floor. Its ``FloorWritten`` event is published to the service's stream like any
  other (no consumer subscribes to it).

No token is verified: a floor is what the stack costs without the endpoint's own work.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import bindparam, insert, select

from syllabus_shared.contracts.base import Event
from syllabus_shared.messaging.tables import KernelTables
from syllabus_shared.problems import Problem
from syllabus_shared.runtime import RuntimeDep

SCOPE = "_floor"


class FloorWritten(Event):
    """The write floor's event (never in the contracts: nothing consumes it)."""

    aggregate: ClassVar[str] = "_floor"
    name: ClassVar[str] = "FloorWritten"
    key: uuid.UUID

    def subject_id(self) -> uuid.UUID:
        return self.key


def floor_router(tables: KernelTables) -> APIRouter:
    """The two floor endpoints for a service whose kernel tables are ``tables``."""
    router = APIRouter(prefix="/_floor", include_in_schema=False)
    keys = tables.idempotency_keys
    by_key = select(keys.c.scope, keys.c.key, keys.c.request_hash, keys.c.created_at).where(
        keys.c.scope == SCOPE, keys.c.key == bindparam("key")
    )
    add = insert(keys)
    events: dict[str, type[FloorWritten]] = {}

    def event_type(source: str) -> type[FloorWritten]:
        if source not in events:  # one class per publishing service (its own source)
            events[source] = type(
                "FloorWritten",
                (FloorWritten,),
                {"__annotations__": {"source": ClassVar[str]}, "source": source},
            )
        return events[source]

    @router.get("/read/{key}")
    async def floor_read(key: str, rt: RuntimeDep) -> JSONResponse:
        async with rt.db.read() as conn:
            row = (await conn.execute(by_key, {"key": key})).first()
        if row is None:
            raise Problem(404, "no such floor row", kind="not-found")
        return JSONResponse(
            {
                "scope": row.scope,
                "key": row.key,
                "request_hash": row.request_hash,
                "created_at": row.created_at.isoformat(),
            }
        )

    @router.post("/write", status_code=201)
    async def floor_write(rt: RuntimeDep) -> dict[str, Any]:
        key = uuid.uuid4()
        async with rt.unit_of_work() as uow:
            await uow.session.execute(add, {"scope": SCOPE, "key": str(key), "request_hash": ""})
            cls = event_type(rt.settings.service_name)
            await uow.publish(cls(key=key), sequence=1)
        return {"key": str(key)}

    return router

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import nats
import pytest_asyncio
from nats.aio.client import Client
from sqlalchemy import Column, MetaData, Table, Text, Uuid
from syllabus_devkit.testing.plugin import Databases
from syllabus_shared.db import Database, new_metadata
from syllabus_shared.messaging.nats_link import NatsLink, ensure_stream
from syllabus_shared.messaging.outbox import Outbox, stream_name
from syllabus_shared.messaging.relay import OutboxRelay
from syllabus_shared.messaging.tables import KernelTables, kernel_tables


@dataclass
class Kernel:
    """The kernel's messaging parts wired to a real database and NATS, as a service would."""

    db: Database
    metadata: MetaData
    tables: KernelTables
    widgets: Table
    nats: NatsLink
    nc: Client
    outbox: Outbox
    namespace: str

    @property
    def stream(self) -> str:
        return stream_name(self.namespace, "CATALOG")

    def relay(self, **kwargs: object) -> OutboxRelay:
        return OutboxRelay(self.db, self.tables, self.nats, **kwargs)  # type: ignore[arg-type]

    async def stream_messages(self) -> list[nats.aio.msg.Msg]:
        js = self.nc.jetstream()
        info = await js.stream_info(self.stream)
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            if info.state.messages == 0:
                break
            out.append(await js.get_msg(self.stream, seq))
        return out  # type: ignore[return-value]


@pytest_asyncio.fixture
async def kernel(databases: Databases, nats_url: str, namespace: str) -> AsyncIterator[Kernel]:
    metadata = new_metadata()
    tables = kernel_tables(metadata)
    widgets = Table("widgets", metadata, Column("id", Uuid, primary_key=True), Column("name", Text))
    db = Database(await databases.create_empty())
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    link = NatsLink(nats_url, name="kernel-test")
    link.start()
    await link.wait_connected()
    nc = await nats.connect(nats_url)
    k = Kernel(
        db,
        metadata,
        tables,
        widgets,
        link,
        nc,
        Outbox(tables, source="catalog", namespace=namespace),
        namespace,
    )
    await ensure_stream(nc.jetstream(), k.stream, [f"{namespace}.catalog.>"])
    try:
        yield k
    finally:
        await nc.close()
        await link.close()
        await db.dispose()


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()

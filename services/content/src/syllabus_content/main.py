"""Content service: typed, ordered posts inside modules, fed by catalog's events."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from syllabus_shared.messaging.outbox import Outbox
from syllabus_shared.runtime import Runtime, create_service_app

from syllabus_content import routes, service
from syllabus_content.handlers import subscriptions
from syllabus_content.models import TABLES
from syllabus_content.settings import Settings

__all__ = ["TABLES", "Settings", "create_app"]


def _outbox(settings: Settings) -> Outbox:
    return Outbox(TABLES, source=settings.service_name, namespace=settings.event_namespace)


async def _module_lookup(rt: Runtime) -> None:
    rt.extras["module_lookup"] = service.ModuleLookup(rt.db)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings=settings,
        tables=TABLES,
        title="Syllabus content",
        description="Typed, ordered posts inside modules.",
        routers=[routes.router],
        subscriptions=subscriptions(_outbox(settings)),
        on_startup=[_module_lookup],
    )


def __getattr__(name: str) -> Any:
    # ``SUBSCRIPTIONS`` (for the CLI's dead-letter replay) depends on the environment's
    # event namespace: built when asked for, never at import time.
    if name == "SUBSCRIPTIONS":
        return subscriptions(_outbox(Settings()))
    raise AttributeError(name)

"""Content service: typed, ordered posts inside modules, fed by catalog's events."""

from __future__ import annotations

from pathlib import Path

from syllabus_shared.declaration import ServiceDeclaration
from syllabus_shared.runtime import Runtime

from syllabus_content import routes
from syllabus_content.handlers import SUBSCRIPTIONS
from syllabus_content.models import METADATA, TABLES
from syllabus_content.service import ModuleLookup
from syllabus_content.settings import Settings


async def module_lookup(rt: Runtime, settings: Settings) -> ModuleLookup:
    """Read-your-writes checks for modules catalog created a moment ago (batched)."""
    return ModuleLookup(rt.db)


SERVICE = ServiceDeclaration(
    name="content",
    title="Syllabus content",
    description="Typed, ordered posts inside modules.",
    settings=Settings,
    metadata=METADATA,
    tables=TABLES,
    migrations=Path(__file__).resolve().parents[2] / "migrations",
    routers=[routes.router],
    subscriptions=SUBSCRIPTIONS,
    parts=[module_lookup],
)

# The ASGI app factory (``uvicorn --factory syllabus_content.main:create_app``).
create_app = SERVICE.create_app

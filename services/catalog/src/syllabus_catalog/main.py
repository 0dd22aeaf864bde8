"""Catalog service: courses, modules, and each course's order of modules."""

from __future__ import annotations

from pathlib import Path

from syllabus_shared.declaration import ServiceDeclaration

from syllabus_catalog import routes
from syllabus_catalog.handlers import SUBSCRIPTIONS
from syllabus_catalog.models import METADATA, TABLES
from syllabus_catalog.settings import Settings

SERVICE = ServiceDeclaration(
    name="catalog",
    title="Syllabus catalog",
    description="Courses, reusable modules, and each course's order of modules.",
    settings=Settings,
    metadata=METADATA,
    tables=TABLES,
    migrations=Path(__file__).resolve().parents[2] / "migrations",
    routers=[routes.router],
    subscriptions=SUBSCRIPTIONS,
)

# The ASGI app factory (``uvicorn --factory syllabus_catalog.main:create_app``).
create_app = SERVICE.create_app

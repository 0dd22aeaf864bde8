"""Catalog service: courses, modules, and each course's order of modules."""

from __future__ import annotations

from fastapi import FastAPI
from syllabus_shared.runtime import create_service_app

from syllabus_catalog import routes
from syllabus_catalog.handlers import SUBSCRIPTIONS
from syllabus_catalog.models import TABLES
from syllabus_catalog.settings import Settings

__all__ = ["SUBSCRIPTIONS", "TABLES", "Settings", "create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or Settings(),
        tables=TABLES,
        title="Syllabus catalog",
        description="Courses, reusable modules, and each course's order of modules.",
        routers=[routes.router],
        subscriptions=SUBSCRIPTIONS,
    )

"""Progress service: enrollments, completions and each student's progress through a course."""

from __future__ import annotations

from fastapi import FastAPI
from syllabus_shared.runtime import create_service_app

from syllabus_progress import routes
from syllabus_progress.handlers import SUBSCRIPTIONS
from syllabus_progress.models import TABLES
from syllabus_progress.settings import Settings

__all__ = ["SUBSCRIPTIONS", "TABLES", "Settings", "create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or Settings(),
        tables=TABLES,
        title="Syllabus progress",
        description="Enrollments, completions, and how far each student is in each course.",
        routers=[routes.router],
        subscriptions=SUBSCRIPTIONS,
    )

"""Progress service: enrollments, completions and each student's progress through a course."""

from __future__ import annotations

from pathlib import Path

from syllabus_shared.declaration import ServiceDeclaration
from syllabus_shared.messaging.replay import Projection

from syllabus_progress import decisions, notices, routes
from syllabus_progress.handlers import SUBSCRIPTIONS
from syllabus_progress.models import METADATA, PROJECTED_AGGREGATES, PROJECTION_TABLES, TABLES
from syllabus_progress.settings import Settings

SERVICE = ServiceDeclaration(
    name="progress",
    title="Syllabus progress",
    description="Enrollments, completions, and how far each student is in each course.",
    settings=Settings,
    metadata=METADATA,
    tables=TABLES,
    migrations=Path(__file__).resolve().parents[2] / "migrations",
    routers=[routes.router],
    subscriptions=SUBSCRIPTIONS,
    # Decides module and course completion once the structure consumers caught up: in the
    # request when this process's consumers are (``parts``), else queued for the decider
    # that runs beside the consumers (``background``: the ``consume`` process).
    parts=[decisions.start],
    background=[decisions.run, notices.run_unlock_clock],
    # The course-structure projection (catalog's and content's events) and users' names
    # (identity's): ``python -m syllabus_progress replay`` empties them and replays the
    # streams. Enrollments, completions, and the facts kept from views and submissions
    # stay (models.py).
    projection=Projection(tables=PROJECTION_TABLES, aggregates=PROJECTED_AGGREGATES),
)

# The ASGI app factory (``uvicorn --factory syllabus_progress.main:create_app``).
create_app = SERVICE.create_app

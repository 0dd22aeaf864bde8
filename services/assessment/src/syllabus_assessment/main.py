"""Assessment service: submissions, auto-graded quizzes, instructor grading, gradebooks."""

from __future__ import annotations

from pathlib import Path

from syllabus_shared.declaration import ServiceDeclaration
from syllabus_shared.messaging.replay import Projection

from syllabus_assessment import routes
from syllabus_assessment.handlers import SUBSCRIPTIONS
from syllabus_assessment.models import METADATA, PROJECTED_AGGREGATES, PROJECTION_TABLES, TABLES
from syllabus_assessment.settings import Settings

SERVICE = ServiceDeclaration(
    name="assessment",
    title="Syllabus assessment",
    description="Submissions, quizzes graded at once, instructor grading, kept scores "
    "and gradebooks.",
    settings=Settings,
    metadata=METADATA,
    tables=TABLES,
    migrations=Path(__file__).resolve().parents[2] / "migrations",
    routers=[routes.router],
    subscriptions=SUBSCRIPTIONS,
    # The projection of course structure and enrollments (catalog's, content's and
    # progress's events) and of users' names (identity's): ``python -m syllabus_assessment
    # replay`` empties it and replays those streams. Submissions and kept grades are
    # assessment's own data and stay.
    projection=Projection(tables=PROJECTION_TABLES, aggregates=PROJECTED_AGGREGATES),
)

# The ASGI app factory (``uvicorn --factory syllabus_assessment.main:create_app``).
create_app = SERVICE.create_app

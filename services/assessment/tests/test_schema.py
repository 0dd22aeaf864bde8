"""No schema drift: a freshly migrated database is exactly what the models declare."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from syllabus_assessment.models import METADATA
from syllabus_shared.migrations import schema_differences

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


async def test_migrated_database_matches_the_models(databases: Any) -> None:
    url = await databases.create(MIGRATIONS)
    # The kernel tables and the service's own tables share one MetaData per service.
    differences = await asyncio.to_thread(schema_differences, url, METADATA)
    assert not differences, (
        "the migrations and the models differ (a model change needs a new migration):\n  "
        + "\n  ".join(differences)
    )

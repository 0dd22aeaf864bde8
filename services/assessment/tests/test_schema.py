"""No schema drift: a freshly migrated database is exactly what the models declare."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syllabus_assessment.models import METADATA
from syllabus_devkit.testing.asserts import assert_migrations_match_models

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


async def test_migrated_database_matches_the_models(databases: Any) -> None:
    await assert_migrations_match_models(databases, MIGRATIONS, METADATA)

from pathlib import Path

from syllabus_shared.cli import run_cli

from syllabus_content.settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

if __name__ == "__main__":
    raise SystemExit(
        run_cli(
            service="content",
            app_factory="syllabus_content.main:create_app",
            migrations_dir=MIGRATIONS,
            settings_factory=Settings,
        )
    )

from pathlib import Path

from syllabus_shared.cli import run_cli

from syllabus_progress.handlers import rebuild_command
from syllabus_progress.settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

if __name__ == "__main__":
    raise SystemExit(
        run_cli(
            service="progress",
            app_factory="syllabus_progress.main:create_app",
            migrations_dir=MIGRATIONS,
            settings_factory=Settings,
            extra_commands={"rebuild": rebuild_command},
        )
    )

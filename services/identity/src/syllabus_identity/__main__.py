from pathlib import Path

from syllabus_shared.cli import run_cli

from syllabus_identity.keys import rotate_keys_command
from syllabus_identity.settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

if __name__ == "__main__":
    raise SystemExit(
        run_cli(
            service="identity",
            app_factory="syllabus_identity.main:create_app",
            migrations_dir=MIGRATIONS,
            settings_factory=Settings,
            extra_commands={"rotate-keys": rotate_keys_command},
        )
    )

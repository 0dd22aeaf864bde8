"""deleted users: accounts deleted, whose tokens are refused and data not kept (issue 17)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 03:10:00
"""

from collections.abc import Sequence

from alembic import op
from syllabus_shared.migrations import drop_kernel_tables_v3, kernel_tables_v3

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    kernel_tables_v3(op)


def downgrade() -> None:
    drop_kernel_tables_v3(op)

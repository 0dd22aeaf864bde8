"""relay index: unpublished outbox rows in the relay's whole order (issue 16)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 07:30:00
"""

from collections.abc import Sequence

from alembic import op
from syllabus_shared.migrations import drop_kernel_tables_v4, kernel_tables_v4

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    kernel_tables_v4(op)


def downgrade() -> None:
    drop_kernel_tables_v4(op)

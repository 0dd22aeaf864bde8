"""consistency positions: outbox positions per event type, consumer watermarks (issue 15)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 03:00:00
"""

from collections.abc import Sequence

from alembic import op
from syllabus_shared.migrations import drop_kernel_tables_v2, kernel_tables_v2

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    kernel_tables_v2(op)


def downgrade() -> None:
    drop_kernel_tables_v2(op)

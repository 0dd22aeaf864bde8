"""gating: prerequisites and unlock_at per course-module, sequential courses

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "courses",
        sa.Column("sequential", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "course_modules",
        sa.Column(
            "prerequisites",
            postgresql.ARRAY(sa.Uuid()),
            server_default=sa.text("'{}'::uuid[]"),
            nullable=False,
        ),
    )
    op.add_column(
        "course_modules",
        sa.Column("unlock_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("course_modules", "unlock_at")
    op.drop_column("course_modules", "prerequisites")
    op.drop_column("courses", "sequential")

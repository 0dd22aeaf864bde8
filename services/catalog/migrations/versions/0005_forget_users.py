"""forget deleted users: creators may be null, enrollments know their student (issue 17)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 04:00:00

A deleted account's courses and modules stay with ``creator_id`` null; its enrollments
leave ``enrollment_projection``, which now keeps each enrollment's student. Rows
projected before this revision have no ``user_id`` until their enrollment's next event.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("courses", "creator_id", existing_type=sa.Uuid(), nullable=True)
    op.alter_column("modules", "creator_id", existing_type=sa.Uuid(), nullable=True)
    op.add_column("enrollment_projection", sa.Column("user_id", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_enrollment_projection_user_id"), "enrollment_projection", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_enrollment_projection_user_id"), table_name="enrollment_projection")
    op.drop_column("enrollment_projection", "user_id")
    # Creators of deleted accounts cannot come back: such rows block the downgrade.
    op.alter_column("modules", "creator_id", existing_type=sa.Uuid(), nullable=False)
    op.alter_column("courses", "creator_id", existing_type=sa.Uuid(), nullable=False)

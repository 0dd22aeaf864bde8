"""users: each user's names from identity's events, for rosters and gradebooks (issue 25)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00

The table starts empty: the durable consumer of identity's events reads the new event types
only from now on, so names of users registered before fill in with a ``replay`` (its
projection includes ``users``; docs/operations.md) or with their next profile change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
    )


def downgrade() -> None:
    op.drop_table("users")

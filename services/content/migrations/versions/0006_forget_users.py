"""forget deleted users: post creators may be null, completions know their student (issue 17)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 04:00:00

A deleted account's posts stay with ``creator_id`` null; its completions, submissions and
views leave the counts. ``completions`` now keeps each completion's student (rows
projected before this revision have none until their completion's next event), and the
per-user tables are indexed by user for the deletion.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("posts", "creator_id", existing_type=sa.Uuid(), nullable=True)
    op.add_column("completions", sa.Column("user_id", sa.Uuid(), nullable=True))
    op.create_index("ix_completions_user_id", "completions", ["user_id"])
    op.create_index("ix_submissions_user_id", "submissions", ["user_id"])
    op.create_index("ix_post_views_user_id", "post_views", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_post_views_user_id", table_name="post_views")
    op.drop_index("ix_submissions_user_id", table_name="submissions")
    op.drop_index("ix_completions_user_id", table_name="completions")
    op.drop_column("completions", "user_id")
    # Creators of deleted accounts cannot come back: such rows block the downgrade.
    op.alter_column("posts", "creator_id", existing_type=sa.Uuid(), nullable=False)

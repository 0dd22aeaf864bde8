"""submission counts: posts.submission_count and the submissions it counts

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Assessment's submissions (one row each), counted per post as distinct users.
    op.create_table(
        "submissions",
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("pk_submissions")),
    )
    op.create_index(
        "ix_submissions_post_id_user_id", "submissions", ["post_id", "user_id"], unique=False
    )
    # A constant default: PostgreSQL adds the column without rewriting the table.
    op.add_column(
        "posts",
        sa.Column("submission_count", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("posts", "submission_count")
    op.drop_index("ix_submissions_post_id_user_id", table_name="submissions")
    op.drop_table("submissions")

"""completion rules, facts, gating and deferred decisions (issue 14)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 00:10:00
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
    # The projection: the course's mode, each attachment's gating, each post's rule.
    op.add_column(
        "courses",
        sa.Column("sequential", sa.Boolean(), server_default=sa.text("false"), nullable=False),
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
        "course_modules", sa.Column("unlock_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "posts",
        sa.Column("rule", sa.String(length=16), server_default="mark_done", nullable=False),
    )
    op.add_column("posts", sa.Column("min_score", sa.Float(), nullable=True))
    # Gradable posts seen before rules existed: their kind's default.
    op.execute("UPDATE posts SET rule = 'submit' WHERE kind IN ('assignment', 'quiz')")

    # Marks become a fact beside the derived completion (every mark so far was mark_done).
    op.add_column(
        "completions",
        sa.Column("marked", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("completions", sa.Column("marked_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE completions SET marked = completed, marked_at = completed_at")

    op.create_table(
        "post_views",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("view_id", sa.Uuid(), nullable=False),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "post_id", name=op.f("pk_post_views")),
    )
    op.create_index(op.f("ix_post_views_post_id"), "post_views", ["post_id"], unique=False)
    op.create_table(
        "submissions",
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("pk_submissions")),
    )
    op.create_index(op.f("ix_submissions_post_id"), "submissions", ["post_id"], unique=False)
    op.create_index("ix_submissions_user_post", "submissions", ["user_id", "post_id"], unique=False)
    op.create_table(
        "module_completions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("module_id", sa.Uuid(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_module_completions")),
        sa.UniqueConstraint("enrollment_id", "module_id", name="uq_module_completions_pair"),
    )
    op.create_table(
        "pending_decisions",
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column(
            "since", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("enrollment_id", name=op.f("pk_pending_decisions")),
    )


def downgrade() -> None:
    op.drop_table("pending_decisions")
    op.drop_table("module_completions")
    op.drop_index("ix_submissions_user_post", table_name="submissions")
    op.drop_index(op.f("ix_submissions_post_id"), table_name="submissions")
    op.drop_table("submissions")
    op.drop_index(op.f("ix_post_views_post_id"), table_name="post_views")
    op.drop_table("post_views")
    op.drop_column("completions", "marked_at")
    op.drop_column("completions", "marked")
    op.drop_column("posts", "min_score")
    op.drop_column("posts", "rule")
    op.drop_column("course_modules", "unlock_at")
    op.drop_column("course_modules", "prerequisites")
    op.drop_column("courses", "sequential")

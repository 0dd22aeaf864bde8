"""completion rules on posts, and students' first views of posts

Revision ID: 0003
Revises: 0002
Create Date: 2027-01-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every post gets its kind's default rule. A constant server default adds the column
    # without rewriting the table; only the gradable posts are then rewritten (to
    # "submit"), and the default goes: the application always writes the rule.
    op.add_column(
        "posts",
        sa.Column(
            "completion_rule", sa.String(length=16), server_default="mark_done", nullable=False
        ),
    )
    op.add_column("posts", sa.Column("completion_min_score", sa.Float(), nullable=True))
    op.execute("UPDATE posts SET completion_rule = 'submit' WHERE kind IN ('assignment', 'quiz')")
    op.alter_column("posts", "completion_rule", server_default=None)
    op.create_check_constraint(
        op.f("ck_posts_completion_rule"),
        "posts",
        "completion_rule IN ('mark_done', 'view', 'submit', 'min_score')",
    )
    op.create_check_constraint(
        op.f("ck_posts_completion_rule_gradable"),
        "posts",
        "completion_rule IN ('mark_done', 'view') OR kind IN ('assignment', 'quiz')",
    )
    op.create_check_constraint(
        op.f("ck_posts_completion_min_score"),
        "posts",
        "(completion_rule = 'min_score') = (completion_min_score IS NOT NULL)"
        " AND (completion_min_score IS NULL OR completion_min_score > 0)",
    )
    # A student's first view of a post (one row per post and user; deleted with the post).
    op.create_table(
        "post_views",
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("view_id", sa.Uuid(), nullable=False),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("post_id", "user_id", name=op.f("pk_post_views")),
    )


def downgrade() -> None:
    op.drop_table("post_views")
    op.drop_constraint(op.f("ck_posts_completion_min_score"), "posts", type_="check")
    op.drop_constraint(op.f("ck_posts_completion_rule_gradable"), "posts", type_="check")
    op.drop_constraint(op.f("ck_posts_completion_rule"), "posts", type_="check")
    op.drop_column("posts", "completion_min_score")
    op.drop_column("posts", "completion_rule")

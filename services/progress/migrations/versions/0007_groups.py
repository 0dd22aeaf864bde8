"""groups: enrollment sources, the groups a course follows, identity's memberships, and
unlock dates per group and per student (issue 26)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 11:30:00

Every enrollment active or completed before this revision was the student's own, so it
gets the ``self`` source; a dropped one has none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "enrollments",
        sa.Column("self_enrolled", sa.Boolean(), server_default="true", nullable=False),
    )
    op.execute("UPDATE enrollments SET self_enrolled = false WHERE status = 'dropped'")
    op.create_table(
        "course_groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("following", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("followed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unfollowed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_groups")),
        sa.UniqueConstraint("course_id", "group_id", name="uq_course_groups_course_group"),
    )
    op.create_index("ix_course_groups_group_id", "course_groups", ["group_id"])
    op.create_table(
        "known_groups",
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_known_groups")),
    )
    op.create_table(
        "group_members",
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_group_members")),
    )
    op.create_index("ix_group_members_user_id", "group_members", ["user_id"])
    op.create_table(
        "unlock_overrides",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("module_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("unlock_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "course_id", "module_id", "kind", "target_id", name=op.f("pk_unlock_overrides")
        ),
    )


def downgrade() -> None:
    op.drop_table("unlock_overrides")
    op.drop_index("ix_group_members_user_id", table_name="group_members")
    op.drop_table("group_members")
    op.drop_table("known_groups")
    op.drop_index("ix_course_groups_group_id", table_name="course_groups")
    op.drop_table("course_groups")
    op.drop_column("enrollments", "self_enrolled")

"""due overrides per group and per student; the enrollments and follows that judge them
(issue 26)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "due_overrides",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("kind IN ('group', 'user')", name=op.f("ck_due_overrides_kind")),
        sa.CheckConstraint(
            "active = (due_at IS NOT NULL)", name=op.f("ck_due_overrides_active_has_due_at")
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_due_overrides_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_due_overrides")),
    )
    op.create_index(op.f("ix_due_overrides_post_id"), "due_overrides", ["post_id"], unique=False)
    # Progress's enrollments (who may get a student's override).
    op.create_table(
        "enrollments",
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("enrollment_id", name=op.f("pk_enrollments")),
    )
    op.create_index("ix_enrollments_user_id", "enrollments", ["user_id"], unique=False)
    op.create_index("ix_enrollments_course_id", "enrollments", ["course_id"], unique=False)
    # The kernel's group tables (syllabus_shared.groups.group_tables): content fills only
    # course_groups, from progress's follow events.
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
    op.create_index("ix_group_members_user_id", "group_members", ["user_id"], unique=False)
    op.create_table(
        "course_groups",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("course_id", "group_id", name=op.f("pk_course_groups")),
    )
    op.create_index("ix_course_groups_group_id", "course_groups", ["group_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_course_groups_group_id", table_name="course_groups")
    op.drop_table("course_groups")
    op.drop_index("ix_group_members_user_id", table_name="group_members")
    op.drop_table("group_members")
    op.drop_table("known_groups")
    op.drop_index("ix_enrollments_course_id", table_name="enrollments")
    op.drop_index("ix_enrollments_user_id", table_name="enrollments")
    op.drop_table("enrollments")
    op.drop_index(op.f("ix_due_overrides_post_id"), table_name="due_overrides")
    op.drop_table("due_overrides")

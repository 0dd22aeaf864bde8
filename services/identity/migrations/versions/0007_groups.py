"""groups and their memberships; course owners and the groups courses follow (who may see
which group) (issue 26)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("creator_id", sa.Uuid(), nullable=True),
        sa.Column("member_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_groups_creator_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
    )
    op.create_index("uq_groups_name_lower", "groups", [sa.text("lower(name)")], unique=True)
    op.create_index("ix_groups_creator_id", "groups", ["creator_id"], unique=False)
    op.create_table(
        "group_memberships",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_memberships_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_group_memberships_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_memberships")),
        sa.UniqueConstraint("group_id", "user_id", name="uq_group_memberships_group_id_user_id"),
    )
    op.create_index(
        "ix_group_memberships_user_id", "group_memberships", ["user_id", "group_id"], unique=False
    )
    op.create_table(
        "course_owners",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("course_id", name=op.f("pk_course_owners")),
    )
    op.create_index("ix_course_owners_owner_id", "course_owners", ["owner_id"], unique=False)
    op.create_table(
        "course_groups",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_course_groups_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("course_id", "group_id", name=op.f("pk_course_groups")),
    )
    op.create_index("ix_course_groups_group_id", "course_groups", ["group_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_course_groups_group_id", table_name="course_groups")
    op.drop_table("course_groups")
    op.drop_index("ix_course_owners_owner_id", table_name="course_owners")
    op.drop_table("course_owners")
    op.drop_index("ix_group_memberships_user_id", table_name="group_memberships")
    op.drop_table("group_memberships")
    op.drop_index("ix_groups_creator_id", table_name="groups")
    op.drop_index("uq_groups_name_lower", table_name="groups")
    op.drop_table("groups")

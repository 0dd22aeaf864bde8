"""groups and due overrides: identity's groups and memberships, the groups each course
follows, due dates per group and per student, and the due date a submission was judged
against (issue 26)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 11:40:00

The new tables start empty: groups, follows and overrides are new with this release, so
no earlier event names them (a ``replay`` would fill them too: it skips what is applied
already and does not empty them). Submissions made before keep a null ``due_at``: their
``late`` was judged against the post's date of the time, which is not known any more.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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
        "course_groups",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("course_id", "group_id", name=op.f("pk_course_groups")),
    )
    op.create_index("ix_course_groups_group_id", "course_groups", ["group_id"])
    op.create_table(
        "due_overrides",
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('group', 'user')", name=op.f("ck_due_overrides_kind")),
        sa.PrimaryKeyConstraint("post_id", "kind", "target_id", name=op.f("pk_due_overrides")),
    )
    op.create_index("ix_due_overrides_target_id", "due_overrides", ["target_id"])
    op.add_column("submissions", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("submissions", "due_at")
    op.drop_index("ix_due_overrides_target_id", table_name="due_overrides")
    op.drop_table("due_overrides")
    op.drop_index("ix_course_groups_group_id", table_name="course_groups")
    op.drop_table("course_groups")
    op.drop_index("ix_group_members_user_id", table_name="group_members")
    op.drop_table("group_members")
    op.drop_table("known_groups")

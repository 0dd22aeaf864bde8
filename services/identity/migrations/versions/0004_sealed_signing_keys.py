"""sealed signing keys: private keys encrypted with a key-encryption key (issue 17)

The private half of a signing key moves from clear PEM (``private_key_pem``, now
nullable) to ``private_key_sealed`` (AES-256-GCM under IDENTITY_KEY_ENCRYPTION_KEY, whose
id is ``sealed_with``). The migration changes the schema only; it does not need the key:
identity seals keys still in clear at its next start-up (``keys.ensure_signing_key``),
under the signing-keys advisory lock: the migration stays schema-only, and sealing an
upgraded database and re-sealing after a KEK rotation are the same code (docs/decisions.md
17).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("signing_keys", sa.Column("private_key_sealed", sa.LargeBinary(), nullable=True))
    op.add_column("signing_keys", sa.Column("sealed_with", sa.String(length=64), nullable=True))
    op.alter_column("signing_keys", "private_key_pem", existing_type=sa.Text(), nullable=True)
    op.create_check_constraint(
        op.f("ck_signing_keys_one_private_key"),
        "signing_keys",
        "(private_key_pem IS NULL) <> (private_key_sealed IS NULL)",
    )
    op.create_check_constraint(
        op.f("ck_signing_keys_sealed_with_a_key"),
        "signing_keys",
        "(private_key_sealed IS NULL) = (sealed_with IS NULL)",
    )


def downgrade() -> None:
    # Only possible while every key is still in clear (a sealed key cannot be unsealed here:
    # the migration has no key-encryption key); NOT NULL fails otherwise, on purpose.
    op.drop_constraint(op.f("ck_signing_keys_sealed_with_a_key"), "signing_keys", type_="check")
    op.drop_constraint(op.f("ck_signing_keys_one_private_key"), "signing_keys", type_="check")
    op.alter_column("signing_keys", "private_key_pem", existing_type=sa.Text(), nullable=False)
    op.drop_column("signing_keys", "sealed_with")
    op.drop_column("signing_keys", "private_key_sealed")

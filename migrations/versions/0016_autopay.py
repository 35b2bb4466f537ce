"""Auto-pay of saved accounts with a monthly cap.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "autopay_settings",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("saved_account_id", BIGINT, nullable=False),
        sa.Column("user_id", BIGINT, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("monthly_cap_fen", BIGINT, nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("monthly_cap_fen > 0", name=op.f("ck_autopay_settings_cap_positive")),
        sa.ForeignKeyConstraint(
            ["saved_account_id"],
            ["saved_accounts.id"],
            name=op.f("fk_autopay_settings_saved_account_id_saved_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_autopay_settings_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_autopay_settings")),
        sa.UniqueConstraint("saved_account_id", name=op.f("uq_autopay_settings_saved_account_id")),
    )
    with op.batch_alter_table("autopay_settings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_autopay_settings_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("autopay_settings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_autopay_settings_user_id"))
    op.drop_table("autopay_settings")

"""Finance reports: settlements, the payment channel, the agency's acknowledged amount, day indexes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 14:21:11.367318
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settlements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agency_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("business_day", sa.Date(), nullable=False),
        sa.Column("collected_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("refunded_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payout_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payments_count", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("refunds_count", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("transfer_reference", sa.String(length=32), nullable=True),
        sa.Column("settled_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_settlements_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(["settled_by"], ["users.id"], name=op.f("fk_settlements_settled_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlements")),
        sa.UniqueConstraint("agency_id", "business_day", name="uq_settlements_agency_day"),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entries_account_created", ["account_id", "created_at"], unique=False)

    with op.batch_alter_table("payment_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "agency_amount_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "channel",
                sa.Enum("web", "autopay", name="payment_channel", native_enum=False, length=16),
                server_default="web",
                nullable=False,
            )
        )
        batch_op.create_index(batch_op.f("ix_payments_paid_at"), ["paid_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_payments_transfer_reference"), ["transfer_reference"], unique=False
        )

    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_receipts_transfer_reference"), ["transfer_reference"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipts_transfer_reference"))

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_transfer_reference"))
        batch_op.drop_index(batch_op.f("ix_payments_paid_at"))
        batch_op.drop_column("channel")

    with op.batch_alter_table("payment_items", schema=None) as batch_op:
        batch_op.drop_column("agency_amount_fen")

    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_account_created")

    op.drop_table("settlements")

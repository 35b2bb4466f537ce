"""Disputes on bills not paid through the portal.

disputes.payment_id and payment_item_id become nullable: a resident may dispute a bill of one of their
saved accounts that they have not paid here (its amount is wrong, or they paid it elsewhere). Such a
dispute keeps the bill as the agency showed it (bill_id, account_reference, bill_amount_fen); every
dispute names a bill one way or the other.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bill_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("account_reference", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("bill_amount_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.alter_column(
            "payment_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        )
        batch_op.alter_column(
            "payment_item_id",
            existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        )
        batch_op.create_check_constraint(
            op.f("ck_disputes_names_a_bill"), "payment_item_id IS NOT NULL OR bill_id IS NOT NULL"
        )


def downgrade() -> None:
    unpaid = op.get_bind().scalar(sa.text("SELECT count(*) FROM disputes WHERE payment_item_id IS NULL"))
    if unpaid:
        raise RuntimeError(f"{unpaid} disputes are on bills not paid here: keep revision 0025")
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_disputes_names_a_bill"), type_="check")
        batch_op.alter_column(
            "payment_item_id",
            existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        )
        batch_op.alter_column(
            "payment_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        )
        batch_op.drop_column("bill_amount_fen")
        batch_op.drop_column("account_reference")
        batch_op.drop_column("bill_id")

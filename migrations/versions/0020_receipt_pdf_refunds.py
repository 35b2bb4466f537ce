"""What a stored receipt PDF says of refunds.

receipts.pdf_refunded_fen: the amount refunded of the payment when its stored PDF was rendered (NULL for
a PDF rendered before this column, read as nothing refunded). A payment receipt is rendered again after
each refund, and a download serves the stored PDF only while this still matches the refunds, so a new
download after a refund says so.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pdf_refunded_fen", BIGINT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_column("pdf_refunded_fen")

"""The checked rows of a previewed bill batch, kept on PostgreSQL so that the commit applies them in SQL.

bill_batch_rows holds each valid row of a batch as its preview read it (filled by COPY); the commit
compares them with the stored bills again and loads them with INSERT ... SELECT and UPDATE ... FROM, then
removes them. No foreign key to bill_batches: a check per row would slow the COPY, and the rows are
removed by the batch's own steps (commit, withdrawal, expiry).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bill_batch_rows",
        sa.Column("batch_id", BIGINT, nullable=False),
        sa.Column("line", BIGINT, nullable=False),
        sa.Column("bill_no", sa.String(length=40), nullable=False),
        sa.Column("account_reference", sa.String(length=40), nullable=False),
        sa.Column("payer_name", sa.String(length=50), nullable=False),
        sa.Column("amount_fen", BIGINT, nullable=False),
        sa.Column("late_fee_fen", BIGINT, nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "line", name=op.f("pk_bill_batch_rows")),
    )


def downgrade() -> None:
    op.drop_table("bill_batch_rows")

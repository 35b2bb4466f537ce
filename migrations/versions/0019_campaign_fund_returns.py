"""What an ended campaign gave back to the promotion fund.

campaigns.returned_to_fund_fen: the budget left when a campaign stopped, moved back to
`bank:promotion-fund` by `budget_return` transfers, so a campaign's money is not stranded in its account.
What is left is then budget - spent - returned_to_fund. On PostgreSQL a CHECK keeps the two within the
budget (SQLite relies on the service, which works under the campaign row's lock).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-27 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CHECK = "returned_to_fund_fen >= 0 AND spent_fen + returned_to_fund_fen <= budget_fen"


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("returned_to_fund_fen", BIGINT, server_default="0", nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        op.create_check_constraint(op.f("ck_campaigns_within_budget"), "campaigns", CHECK)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_campaigns_within_budget"), "campaigns", type_="check")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("returned_to_fund_fen")

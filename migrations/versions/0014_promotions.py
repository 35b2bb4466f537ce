"""Promotion campaigns: budgets, uses and discounts on payments.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# SQLite cannot add a CHECK constraint to an existing table without rebuilding it (and the tables
# below are referenced by others): there the services' checks under their locks stand alone.
PG_CHECKS = (
    ("ledger_accounts", "budget_not_negative", "kind != 'promotion_budget' OR balance_fen >= 0"),
    ("payments", "discount_below_total", "discount_fen >= 0 AND discount_fen < total_fen"),
)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name_zh", sa.String(length=60), nullable=False),
        sa.Column("name_en", sa.String(length=60), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agency_codes", sa.Text(), nullable=False),
        sa.Column("categories", sa.String(length=100), nullable=False),
        sa.Column(
            "rule",
            sa.Enum(
                "fixed_off",
                "percent_off",
                "spend_over",
                "first_payment",
                name="campaign_rule",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("amount_off_fen", BIGINT, nullable=False),
        sa.Column("percent_bp", BIGINT, nullable=False),
        sa.Column("cap_fen", BIGINT, nullable=False),
        sa.Column("threshold_fen", BIGINT, nullable=False),
        sa.Column("per_resident_uses", BIGINT, nullable=False),
        sa.Column("budget_fen", BIGINT, nullable=False),
        sa.Column("spent_fen", BIGINT, nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending", "active", "rejected", "ended", name="campaign_state", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("created_by_id", BIGINT, nullable=False),
        sa.Column("decided_by_id", BIGINT, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("budget_fen > 0", name=op.f("ck_campaigns_budget_positive")),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_campaigns_period_forward")),
        sa.CheckConstraint(
            "spent_fen >= 0 AND spent_fen <= budget_fen", name=op.f("ck_campaigns_spent_within_budget")
        ),
        sa.CheckConstraint("per_resident_uses > 0", name=op.f("ck_campaigns_uses_positive")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_campaigns_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_campaigns_decided_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("code", name=op.f("uq_campaigns_code")),
    )
    op.create_table(
        "campaign_uses",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("campaign_id", BIGINT, nullable=False),
        sa.Column("user_id", BIGINT, nullable=False),
        sa.Column("payment_id", BIGINT, nullable=False),
        sa.Column("discount_fen", BIGINT, nullable=False),
        sa.Column("returned_fen", BIGINT, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("discount_fen > 0", name=op.f("ck_campaign_uses_discount_positive")),
        sa.CheckConstraint(
            "returned_fen >= 0 AND returned_fen <= discount_fen",
            name=op.f("ck_campaign_uses_returned_within"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_uses_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_campaign_uses_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_campaign_uses_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_uses")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_campaign_uses_payment_id")),
    )
    with op.batch_alter_table("campaign_uses", schema=None) as batch_op:
        batch_op.create_index("ix_campaign_uses_campaign_user", ["campaign_id", "user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_uses_created_at"), ["created_at"], unique=False)

    for table in ("payments", "payment_items", "refunds"):
        column = "campaign_fen" if table == "refunds" else "discount_fen"
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, BIGINT, server_default="0", nullable=False))

    if op.get_bind().dialect.name == "postgresql":
        for table, name, condition in PG_CHECKS:
            op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, condition)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, name, _condition in PG_CHECKS:
            op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    for table in ("refunds", "payment_items", "payments"):
        column = "campaign_fen" if table == "refunds" else "discount_fen"
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
    op.drop_table("campaign_uses")
    op.drop_table("campaigns")

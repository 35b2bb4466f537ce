"""The analytics module's daily roll-ups (portal/analytics/models.py).

New tables only, so it runs online on a live PostgreSQL (CREATE TABLE takes no lock on existing tables
but a brief one on agencies for the foreign keys). They hold derived figures: the worker fills them on
its next scans (the oldest days first, a month per scan), or `flask --app portal analytics rollup
--from D --to D` does at once. Downgrading drops them; nothing is lost that a roll-up cannot rebuild.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_adoption_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("registrations", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("verified", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("wallets_funded", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("top_ups", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("top_up_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("top_up_residents", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payments", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payment_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payers", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("first_payers", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_analytics_adoption_daily")),
    )
    op.create_table(
        "analytics_channel_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "web", "autopay", "guest", "counter", name="payment_channel", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("payments", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lines", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("multi_bill", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("refunded_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("residents", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("refund_residents", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "multi_bill_residents", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.PrimaryKeyConstraint("day", "channel", name=op.f("pk_analytics_channel_daily")),
    )
    op.create_table(
        "analytics_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("stale_marks", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_analytics_days")),
    )
    op.create_table(
        "analytics_hour_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payments", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("residents", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("day", "hour", name=op.f("pk_analytics_hour_daily")),
    )
    op.create_table(
        "analytics_period_payers",
        sa.Column("grain", sa.String(length=5), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("payers", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("grain", "start", name=op.f("pk_analytics_period_payers")),
    )
    op.create_table(
        "analytics_agency_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("agency_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lines", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("late_lines", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("residents", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("waited_residents", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("late_residents", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_analytics_agency_daily_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("day", "agency_id", name=op.f("pk_analytics_agency_daily")),
    )
    op.create_table(
        "analytics_delay_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("agency_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("delay_days", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lines", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_analytics_delay_daily_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("day", "agency_id", "delay_days", name=op.f("pk_analytics_delay_daily")),
    )
    op.create_table(
        "analytics_cohorts",
        sa.Column("cohort_month", sa.Date(), nullable=False),
        sa.Column("active_month", sa.Date(), nullable=False),
        sa.Column("payers", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("cohort_month", "active_month", name=op.f("pk_analytics_cohorts")),
    )
    op.create_table(
        "analytics_campaigns",
        sa.Column("campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("days", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payments_during", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payers_during", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount_during_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payments_before", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payers_before", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount_before_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uses", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("users", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cost_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("new_payers", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kept_month_1", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kept_month_2", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kept_month_3", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_analytics_campaigns_campaign_id_campaigns")
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_analytics_campaigns")),
    )


def downgrade() -> None:
    op.drop_table("analytics_campaigns")
    op.drop_table("analytics_cohorts")
    op.drop_table("analytics_delay_daily")
    op.drop_table("analytics_agency_daily")
    op.drop_table("analytics_period_payers")
    op.drop_table("analytics_hour_daily")
    op.drop_table("analytics_days")
    op.drop_table("analytics_channel_daily")
    op.drop_table("analytics_adoption_daily")

"""Residents' saved accounts (household account, plate or taxpayer number) at each agency.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 11:24:46.776760
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_accounts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agency_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("nickname", sa.String(length=40), nullable=False),
        sa.Column("query_json", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_saved_accounts_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_saved_accounts_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_accounts")),
        sa.UniqueConstraint("user_id", "agency_id", "query_json", name="uq_saved_accounts_query"),
    )
    with op.batch_alter_table("saved_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_accounts_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("saved_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_accounts_user_id"))

    op.drop_table("saved_accounts")

"""Payments without a portal account.

guest_attempts: one try at paying a bill without signing in: the bill chosen, the payer's wallet (when
one matched), the one-time code as an HMAC, the wrong tries, the state and the payment it made.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guest_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("selection", sa.Text(), nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.Column("bill_id", sa.String(length=40), nullable=False),
        sa.Column("amount_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("code_hmac", sa.String(length=64), nullable=False),
        sa.Column("tries", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "state",
            sa.Enum("waiting", "paid", "ended", name="guest_attempt_state", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.CheckConstraint("tries >= 0", name=op.f("ck_guest_attempts_tries_not_negative")),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_guest_attempts_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_guest_attempts_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guest_attempts")),
        sa.UniqueConstraint("token", name=op.f("uq_guest_attempts_token")),
    )
    with op.batch_alter_table("guest_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guest_attempts_bill_id"), ["bill_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_guest_attempts_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("guest_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guest_attempts_user_id"))
        batch_op.drop_index(batch_op.f("ix_guest_attempts_bill_id"))

    op.drop_table("guest_attempts")

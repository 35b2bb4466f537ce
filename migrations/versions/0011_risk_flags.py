"""Risk flags raised by the anti-money-laundering rules, officers' notes, and unfreeze requests.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 15:19:05.126734
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_flags",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("operation", sa.String(length=20), nullable=False),
        sa.Column("amount_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "assigned",
                "cleared",
                "escalated",
                name="risk_flag_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("assigned_to", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["assigned_to"], ["users.id"], name=op.f("fk_risk_flags_assigned_to_users")),
        sa.ForeignKeyConstraint(["closed_by"], ["users.id"], name=op.f("fk_risk_flags_closed_by_users")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_risk_flags_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_flags")),
    )
    with op.batch_alter_table("risk_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_flags_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_flags_user_id"), ["user_id"], unique=False)

    op.create_table(
        "unfreeze_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("requested_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["users.id"], name=op.f("fk_unfreeze_requests_approved_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_unfreeze_requests_requested_by_users")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_unfreeze_requests_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unfreeze_requests")),
    )
    with op.batch_alter_table("unfreeze_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unfreeze_requests_user_id"), ["user_id"], unique=False)

    op.create_table(
        "risk_notes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("flag_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("author_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_risk_notes_author_id_users")),
        sa.ForeignKeyConstraint(
            ["flag_id"], ["risk_flags.id"], name=op.f("fk_risk_notes_flag_id_risk_flags")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_notes")),
    )
    with op.batch_alter_table("risk_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_notes_flag_id"), ["flag_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("risk_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_notes_flag_id"))

    op.drop_table("risk_notes")
    with op.batch_alter_table("unfreeze_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unfreeze_requests_user_id"))

    op.drop_table("unfreeze_requests")
    with op.batch_alter_table("risk_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_flags_user_id"))
        batch_op.drop_index(batch_op.f("ix_risk_flags_status"))

    op.drop_table("risk_flags")

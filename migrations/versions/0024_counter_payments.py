"""Counter payments at service halls.

service_halls and service_hall_agencies: the halls and the agencies each serves; hall_cashiers: each
counter cashier's one hall; counter_shifts: a cashier's shift, its till and its cash-up;
counter_payments: how a counter payment was taken and by which shift. payments.user_id becomes
nullable (a counter payment has no resident) and such payments' keys are unique on their own.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_halls",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_halls")),
        sa.UniqueConstraint("code", name=op.f("uq_service_halls_code")),
    )
    op.create_table(
        "service_hall_agencies",
        sa.Column("hall_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agency_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_service_hall_agencies_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["hall_id"], ["service_halls.id"], name=op.f("fk_service_hall_agencies_hall_id_service_halls")
        ),
        sa.PrimaryKeyConstraint("hall_id", "agency_id", name=op.f("pk_service_hall_agencies")),
    )
    op.create_table(
        "counter_shifts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reference", sa.String(length=24), nullable=False),
        sa.Column("hall_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cashier_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "state",
            sa.Enum("open", "closed", name="counter_shift_state", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expected_cash_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("counted_cash_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("handover_transfer", sa.String(length=32), nullable=True),
        sa.Column("difference_transfer", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "counted_cash_fen IS NULL OR counted_cash_fen >= 0",
            name=op.f("ck_counter_shifts_counted_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["cashier_id"], ["users.id"], name=op.f("fk_counter_shifts_cashier_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["hall_id"], ["service_halls.id"], name=op.f("fk_counter_shifts_hall_id_service_halls")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counter_shifts")),
        sa.UniqueConstraint("reference", name=op.f("uq_counter_shifts_reference")),
    )
    with op.batch_alter_table("counter_shifts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_counter_shifts_cashier_id"), ["cashier_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_counter_shifts_hall_id"), ["hall_id"], unique=False)
        batch_op.create_index(
            "uq_counter_shifts_open_cashier",
            ["cashier_id"],
            unique=True,
            postgresql_where=sa.text("state = 'open'"),
            sqlite_where=sa.text("state = 'open'"),
        )

    op.create_table(
        "hall_cashiers",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hall_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["hall_id"], ["service_halls.id"], name=op.f("fk_hall_cashiers_hall_id_service_halls")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_hall_cashiers_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_hall_cashiers")),
    )
    with op.batch_alter_table("hall_cashiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hall_cashiers_hall_id"), ["hall_id"], unique=False)

    op.create_table(
        "counter_payments",
        sa.Column("payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shift_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tender",
            sa.Enum("cash", "card", name="counter_tender", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("tendered_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("change_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("card_masked", sa.String(length=32), nullable=False),
        sa.Column("card_bank", sa.String(length=64), nullable=False),
        sa.CheckConstraint("change_fen >= 0", name=op.f("ck_counter_payments_change_not_negative")),
        sa.CheckConstraint(
            "tendered_fen IS NULL OR tendered_fen >= 0",
            name=op.f("ck_counter_payments_tendered_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_counter_payments_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["counter_shifts.id"], name=op.f("fk_counter_payments_shift_id_counter_shifts")
        ),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_counter_payments")),
    )
    with op.batch_alter_table("counter_payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_counter_payments_shift_id"), ["shift_id"], unique=False)

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.alter_column(
            "user_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        )
        batch_op.create_index(
            "uq_payments_counter_key",
            ["idempotency_key"],
            unique=True,
            postgresql_where=sa.text("user_id IS NULL"),
            sqlite_where=sa.text("user_id IS NULL"),
        )


def downgrade() -> None:
    counter_payments = op.get_bind().scalar(sa.text("SELECT count(*) FROM payments WHERE user_id IS NULL"))
    if counter_payments:
        raise RuntimeError(f"{counter_payments} counter payments have no resident: keep revision 0024")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_payments_counter_key",
            postgresql_where=sa.text("user_id IS NULL"),
            sqlite_where=sa.text("user_id IS NULL"),
        )
        batch_op.alter_column(
            "user_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        )

    with op.batch_alter_table("counter_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_counter_payments_shift_id"))

    op.drop_table("counter_payments")
    with op.batch_alter_table("hall_cashiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hall_cashiers_hall_id"))

    op.drop_table("hall_cashiers")
    with op.batch_alter_table("counter_shifts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_counter_shifts_open_cashier",
            postgresql_where=sa.text("state = 'open'"),
            sqlite_where=sa.text("state = 'open'"),
        )
        batch_op.drop_index(batch_op.f("ix_counter_shifts_hall_id"))
        batch_op.drop_index(batch_op.f("ix_counter_shifts_cashier_id"))

    op.drop_table("counter_shifts")
    op.drop_table("service_hall_agencies")
    op.drop_table("service_halls")

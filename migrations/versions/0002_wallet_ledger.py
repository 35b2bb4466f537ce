"""Wallet ledger: accounts, immutable transfers and entries, holds, idempotency, bank cards.

On PostgreSQL a deferred constraint trigger proves at commit that every transfer has entries and that
they sum to zero;
on both backends triggers refuse UPDATE and DELETE of transfers and entries (corrections are new
transfers).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 09:46:26.003733
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "resident_wallet",
                "agency_settlement",
                "funding_clearing",
                "promotion_budget",
                "suspense",
                name="account_kind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("owner_ref", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("held_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("spent_day", sa.String(length=10), nullable=False),
        sa.Column("spent_day_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("is_frozen", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "held_fen >= 0 AND held_fen <= balance_fen OR kind != 'resident_wallet'",
            name=op.f("ck_ledger_accounts_holds_covered"),
        ),
        sa.CheckConstraint(
            "kind != 'resident_wallet' OR balance_fen >= 0",
            name=op.f("ck_ledger_accounts_wallet_not_negative"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("kind", "owner_ref", name="uq_ledger_accounts_kind_owner"),
    )
    op.create_table(
        "ledger_idempotency",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("result_json", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_idempotency")),
        sa.UniqueConstraint("client", "key", name="uq_ledger_idempotency_client_key"),
    )
    with op.batch_alter_table("ledger_idempotency", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_idempotency_created_at"), ["created_at"], unique=False)

    op.create_table(
        "ledger_transfers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "top_up",
                "withdrawal",
                "payment",
                "refund",
                "settlement",
                "adjustment",
                name="transfer_kind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("amount_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("related_transfer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_ledger_transfers_amount_positive")),
        sa.ForeignKeyConstraint(
            ["related_transfer_id"],
            ["ledger_transfers.id"],
            name=op.f("fk_ledger_transfers_related_transfer_id_ledger_transfers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transfers")),
        sa.UniqueConstraint("reference", name=op.f("uq_ledger_transfers_reference")),
    )
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_transfers_created_at"), ["created_at"], unique=False)
        # Only refunds and corrections have a related transfer: payments stay out of this index.
        batch_op.create_index(
            "ix_ledger_transfers_related_transfer_id",
            ["related_transfer_id"],
            unique=False,
            postgresql_where=sa.text("related_transfer_id IS NOT NULL"),
            sqlite_where=sa.text("related_transfer_id IS NOT NULL"),
        )

    op.create_table(
        "wallet_api_seen",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("nonce", sa.String(length=130), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_api_seen")),
        sa.UniqueConstraint("nonce", name=op.f("uq_wallet_api_seen_nonce")),
    )
    with op.batch_alter_table("wallet_api_seen", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wallet_api_seen_created_at"), ["created_at"], unique=False)

    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("transfer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("balance_after_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_fen != 0", name=op.f("ck_ledger_entries_amount_not_zero")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name=op.f("fk_ledger_entries_account_id_ledger_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["ledger_transfers.id"],
            name=op.f("fk_ledger_entries_transfer_id_ledger_transfers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entries_account_id_id", ["account_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_entries_transfer_id"), ["transfer_id"], unique=False)

    op.create_table(
        "ledger_holds",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active", "captured", "released", "expired", name="hold_status", native_enum=False, length=24
            ),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capture_transfer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_ledger_holds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name=op.f("fk_ledger_holds_account_id_ledger_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["capture_transfer_id"],
            ["ledger_transfers.id"],
            name=op.f("fk_ledger_holds_capture_transfer_id_ledger_transfers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_holds")),
        sa.UniqueConstraint("reference", name=op.f("uq_ledger_holds_reference")),
    )
    with op.batch_alter_table("ledger_holds", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_holds_account_id_status", ["account_id", "status"], unique=False)

    op.create_table(
        "wallet_bank_cards",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("gateway", sa.String(length=32), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("masked_number", sa.String(length=32), nullable=False),
        sa.Column("bank_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_wallet_bank_cards_account_id_ledger_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_bank_cards")),
        sa.UniqueConstraint("account_id", "token", name="uq_wallet_bank_cards_account_token"),
    )
    with op.batch_alter_table("wallet_bank_cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wallet_bank_cards_account_id"), ["account_id"], unique=False)

    _create_triggers()


POSTGRES_TRIGGERS = [
    # One check per transfer, at commit: its entries exist (two or more) and sum to zero.
    """
    CREATE FUNCTION ledger_transfer_balanced() RETURNS trigger AS $$
    DECLARE
        total bigint;
        legs bigint;
    BEGIN
        SELECT COALESCE(SUM(amount_fen), 0), count(*) INTO total, legs
          FROM ledger_entries WHERE transfer_id = NEW.id;
        IF total <> 0 OR legs < 2 THEN
            RAISE EXCEPTION 'ledger transfer % does not balance (% fen over % entries)', NEW.id, total, legs
                USING ERRCODE = '23514';
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE CONSTRAINT TRIGGER ledger_transfers_balanced AFTER INSERT ON ledger_transfers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_transfer_balanced()
    """,
    """
    CREATE FUNCTION ledger_immutable() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '% rows are immutable: post a correcting transfer', TG_TABLE_NAME USING ERRCODE = '23514';
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable()
    """,
    """
    CREATE TRIGGER ledger_transfers_immutable BEFORE UPDATE OR DELETE ON ledger_transfers
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable()
    """,
]

SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table}
    BEGIN SELECT RAISE(ABORT, '{table} rows are immutable: post a correcting transfer'); END
    """
    for table in ("ledger_entries", "ledger_transfers")
    for action in ("UPDATE", "DELETE")
]


def _create_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # Account rows are updated on every transfer (agency accounts thousands of times a day): room on
        # each page keeps those updates HOT (no index writes, dead versions pruned in place).
        op.execute("ALTER TABLE ledger_accounts SET (fillfactor = 50)")
    statements = (
        POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS if dialect == "sqlite" else []
    )
    for statement in statements:
        op.execute(statement)


def _drop_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_balanced ON ledger_transfers")
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_immutable ON ledger_entries")
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_immutable ON ledger_transfers")
        op.execute("DROP FUNCTION IF EXISTS ledger_transfer_balanced()")
        op.execute("DROP FUNCTION IF EXISTS ledger_immutable()")
    elif dialect == "sqlite":
        for table in ("ledger_entries", "ledger_transfers"):
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def downgrade() -> None:
    _drop_triggers()
    with op.batch_alter_table("wallet_bank_cards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_bank_cards_account_id"))

    op.drop_table("wallet_bank_cards")
    with op.batch_alter_table("ledger_holds", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_holds_account_id_status")

    op.drop_table("ledger_holds")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_transfer_id"))
        batch_op.drop_index("ix_ledger_entries_account_id_id")

    op.drop_table("ledger_entries")
    with op.batch_alter_table("wallet_api_seen", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_api_seen_created_at"))

    op.drop_table("wallet_api_seen")
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_transfers_related_transfer_id")
        batch_op.drop_index(batch_op.f("ix_ledger_transfers_created_at"))

    op.drop_table("ledger_transfers")
    with op.batch_alter_table("ledger_idempotency", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_idempotency_created_at"))

    op.drop_table("ledger_idempotency")
    op.drop_table("ledger_accounts")

"""Payment idempotency keys on the transfer: the one-statement payment writes one row fewer.

Nullable columns (set only by that payment) and a unique index on (client, key) where a key is set.
Adding columns is DDL, so the triggers that keep transfers immutable stay as they are. On PostgreSQL a
function lets the payment's one statement take its key's lock (waiting for other calls in flight with
the key), then look for their records with a fresh snapshot (portal/wallet/idempotency.py).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 09:12:40.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# VOLATILE: in READ COMMITTED each statement inside gets a fresh snapshot, taken after the lock.
KEY_FREE_FUNCTION = """
CREATE FUNCTION ledger_key_free_of_records(lock_id bigint, p_client text, p_key text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_id);
    RETURN NOT EXISTS (SELECT 1 FROM ledger_idempotency WHERE client = p_client AND key = p_key);
END $$
"""

# The downgrade moves the keys back into records, so payments made before it still replay after it.
KEYS_TO_RECORDS = """
INSERT INTO ledger_idempotency (client, key, operation, request_hash, result_json, created_at)
SELECT t.idempotency_client, t.idempotency_key, 'pay', t.request_hash,
       json_build_object(
           'reference', t.reference, 'kind', t.kind, 'amount_fen', t.amount_fen,
           'wallet_balance_fen', e.balance_after_fen, 'created_at', t.created_at, 'replayed', false
       )::text,
       t.created_at
  FROM ledger_transfers AS t JOIN ledger_entries AS e ON e.transfer_id = t.id AND e.amount_fen < 0
 WHERE t.idempotency_key IS NOT NULL
"""


def upgrade() -> None:
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_client", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("request_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "uq_ledger_transfers_idempotency_key",
            ["idempotency_client", "idempotency_key"],
            unique=True,
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
            sqlite_where=sa.text("idempotency_key IS NOT NULL"),
        )
    if op.get_bind().dialect.name == "postgresql":  # only PostgreSQL pays in one statement
        op.execute(KEY_FREE_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # only PostgreSQL's payment sets the columns
        op.execute(KEYS_TO_RECORDS)
        op.execute("DROP FUNCTION ledger_key_free_of_records(bigint, text, text)")
    # recreate="never": copying the table on SQLite would drop its immutability triggers.
    with op.batch_alter_table("ledger_transfers", schema=None, recreate="never") as batch_op:
        batch_op.drop_index("uq_ledger_transfers_idempotency_key")
        batch_op.drop_column("request_hash")
        batch_op.drop_column("idempotency_key")
        batch_op.drop_column("idempotency_client")

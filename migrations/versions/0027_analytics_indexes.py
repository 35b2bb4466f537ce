"""Indexes the analytics module reads by: payments (user_id, paid_at), a resident's first payment in one
index step (first-time payers, cohorts; without it every payment of each resident is read);
payment_items (confirmed_at), the live page's last hour of confirmations; users (created_at), a day's
registrations. On PostgreSQL it is built CONCURRENTLY, outside the migration's
transaction, so a live payments table takes writes while it builds (no exclusive lock; a build that fails
leaves an INVALID index, which the next run drops and builds again). SQLite builds it as usual.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_payments_user_id_paid_at", "payments", ["user_id", "paid_at"]),
    ("ix_payment_items_confirmed_at", "payment_items", ["confirmed_at"]),
    ("ix_users_created_at", "users", ["created_at"]),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for name, table, columns in INDEXES:
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")  # an INVALID one from a failed build
                op.create_index(name, table, columns, postgresql_concurrently=True)
    else:
        for name, table, columns in INDEXES:
            op.create_index(name, table, columns)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for name, table, _columns in INDEXES:
                op.drop_index(name, table_name=table, postgresql_concurrently=True)
    else:
        for name, table, _columns in INDEXES:
            op.drop_index(name, table_name=table)

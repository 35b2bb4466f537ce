"""The audit log as a hash chain: each entry's place, the hash of the one before it and its own hash,
and the chain's end in a row of its own. Entries already written are chained in id order.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 15:25:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from portal.audit.chain import entry_hash  # the chain's hash format never changes: every chain holds it

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", BIGINT, nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    last_seq, last_hash = _chain_existing_entries()
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=BIGINT, nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_seq"), ["seq"])
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("last_seq", BIGINT, nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.bulk_insert(head, [{"id": 1, "last_seq": last_seq, "last_hash": last_hash}])


def _chain_existing_entries() -> tuple[int, str]:
    events = sa.table(
        "audit_events",
        sa.column("id"),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor"),
        sa.column("action"),
        sa.column("subject"),
        sa.column("details_json"),
        sa.column("seq"),
        sa.column("prev_hash"),
        sa.column("hash"),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(events).order_by(events.c.id)).all()
    seq, previous = 0, GENESIS_HASH
    for row in rows:
        seq += 1
        digest = entry_hash(seq, _utc(row.at), row.actor, row.action, row.subject, row.details_json, previous)
        connection.execute(
            events.update().where(events.c.id == row.id).values(seq=seq, prev_hash=previous, hash=digest)
        )
        previous = digest
    return seq, previous


def _utc(moment: datetime) -> datetime:
    """As portal.db.UTCDateTime reads it back: SQLite keeps no offset."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_events_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")

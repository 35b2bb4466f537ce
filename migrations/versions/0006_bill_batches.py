"""Clerks' bill batches, and the batch that last loaded each bill.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 13:11:40.907261
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bill_batches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("upload_id", sa.String(length=24), nullable=False),
        sa.Column("agency_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uploaded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("file_kind", sa.String(length=10), nullable=False),
        sa.Column("encoding", sa.String(length=20), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "checking",
                "previewed",
                "loading",
                "failed",
                "committed",
                "withdrawn",
                "discarded",
                name="batch_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("rows_new", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rows_changed", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rows_unchanged", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rows_invalid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rows_estimate", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("progress_rows", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job_error", sa.String(length=500), nullable=False),
        sa.Column("error_report", sa.Text(), nullable=True),
        sa.Column("changes_json", sa.Text(), nullable=True),
        sa.Column("samples_json", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("committed_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_bill_batches_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["committed_by"], ["users.id"], name=op.f("fk_bill_batches_committed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["users.id"], name=op.f("fk_bill_batches_uploaded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["withdrawn_by"], ["users.id"], name=op.f("fk_bill_batches_withdrawn_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_batches")),
        sa.UniqueConstraint("upload_id", name=op.f("uq_bill_batches_upload_id")),
    )
    with op.batch_alter_table("bill_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bill_batches_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index("ix_bill_batches_agency_sha", ["agency_id", "content_sha256"], unique=False)

    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_bills_batch_id"), ["batch_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_bills_batch_id_bill_batches"), "bill_batches", ["batch_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_bills_batch_id_bill_batches"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_bills_batch_id"))
        batch_op.drop_column("batch_id")

    with op.batch_alter_table("bill_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_bill_batches_agency_sha")
        batch_op.drop_index(batch_op.f("ix_bill_batches_agency_id"))

    op.drop_table("bill_batches")

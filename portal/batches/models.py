"""Uploaded bill batches: the file as received (until committed), what its preview found, and who did what."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from portal.agencies.models import Agency
from portal.db import Base, string_enum, utcnow


class BatchStatus(enum.StrEnum):
    CHECKING = "checking"  # a large file, being checked by the worker
    PREVIEWED = "previewed"  # checked; nothing changed yet
    LOADING = "loading"  # a large file, being loaded by the worker
    FAILED = "failed"  # the worker could not check it (the message says why)
    COMMITTED = "committed"
    WITHDRAWN = "withdrawn"  # committed, then its unpaid bills were cancelled
    DISCARDED = "discarded"  # the clerk did not commit it


STATUS_LABELS = {
    BatchStatus.CHECKING: _l("Being checked"),
    BatchStatus.PREVIEWED: _l("Checked, not loaded"),
    BatchStatus.LOADING: _l("Being loaded"),
    BatchStatus.FAILED: _l("Could not be checked"),
    BatchStatus.COMMITTED: _l("Loaded"),
    BatchStatus.WITHDRAWN: _l("Withdrawn"),
    BatchStatus.DISCARDED: _l("Discarded"),
}


class Batch(Base):
    __tablename__ = "bill_batches"
    __table_args__ = (Index("ix_bill_batches_agency_sha", "agency_id", "content_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[str] = mapped_column(String(24), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    file_name: Mapped[str] = mapped_column(String(200))  # shown only, never used as a path
    content_sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    file_kind: Mapped[str] = mapped_column(String(10))
    encoding: Mapped[str] = mapped_column(String(20))
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))  # dropped once committed
    status: Mapped[BatchStatus] = mapped_column(string_enum(BatchStatus, "batch_status"))
    rows_new: Mapped[int] = mapped_column(default=0)
    rows_changed: Mapped[int] = mapped_column(default=0)
    rows_unchanged: Mapped[int] = mapped_column(default=0)
    rows_invalid: Mapped[int] = mapped_column(default=0)
    rows_estimate: Mapped[int | None]  # lines in a CSV, for the progress bar
    progress_rows: Mapped[int] = mapped_column(default=0)  # rows the worker has done so far
    job_error: Mapped[str] = mapped_column(String(500), default="")
    error_report: Mapped[str] = deferred(mapped_column(Text, default=""))  # every row error, as CSV
    changes_json: Mapped[str] = deferred(mapped_column(Text, default="[]"))  # the first changed bills
    samples_json: Mapped[str] = deferred(mapped_column(Text, default="[]"))  # the first new bills, as read
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    committed_at: Mapped[datetime | None]
    committed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    agency: Mapped[Agency] = relationship()


class BatchRow(Base):
    """A valid row of a previewed batch, as the preview read it (PostgreSQL only, filled by COPY): the
    commit compares these with the stored bills again and applies them in SQL. Removed when the batch is
    committed, withdrawn or left uncommitted too long; a batch without them is read from its file again.
    No foreign key to the batch: a check per row would slow the COPY."""

    __tablename__ = "bill_batch_rows"

    batch_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    line: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # in the file
    bill_no: Mapped[str] = mapped_column(String(40))
    account_reference: Mapped[str] = mapped_column(String(40))
    payer_name: Mapped[str] = mapped_column(String(50))
    amount_fen: Mapped[int]
    late_fee_fen: Mapped[int]
    due_date: Mapped[date | None]
    period: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(200))

"""The batch steps as the clerk pages and the worker take them: upload, commit, withdraw, history."""

from __future__ import annotations

import csv
import hashlib
import io
import json

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from portal import outbox
from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.audit.services import record
from portal.batches import staging
from portal.batches.applying import commit_now
from portal.batches.checked import Checked
from portal.batches.checking import check_rows, open_file
from portal.batches.models import Batch, BatchRow, BatchStatus
from portal.bills.models import Bill, StoredBillStatus
from portal.db import utcnow
from portal.errors import NotFound, ValidationFailed
from portal.numbering import random_code

CHECK_TOPIC = "batch.check"
COMMIT_TOPIC = "batch.commit"


def upload(session: Session, user: User, agency: Agency, file_name: str, content: bytes) -> Batch:
    """Keep an uploaded file as a batch and check its rows: now, or for a large file in the worker (the
    batch page follows its progress). No bill changes."""
    read, positions = open_file(content)
    background = len(content) > current_app.config["BATCH_BACKGROUND_BYTES"]
    batch = Batch(
        upload_id="U" + random_code(15),
        agency_id=agency.id,
        uploaded_by=user.id,
        file_name=_display_name(file_name),
        content_sha256=hashlib.sha256(content).hexdigest(),
        size_bytes=len(content),
        file_kind=read.kind,
        encoding=read.encoding,
        content=content,
        status=BatchStatus.CHECKING if background else BatchStatus.PREVIEWED,
        rows_estimate=content.count(b"\n") if read.kind == "csv" else None,
    )
    if staging.stages(session):
        staging.expire_staged(session)
    if background:
        session.add(batch)
        session.flush()  # the background job names the batch by id
        outbox.enqueue(session, CHECK_TOPIC, f"batch-check:{batch.id}", {"batch": batch.id})
    else:
        with session.begin_nested():  # a file refused while being checked leaves no batch or rows
            session.add(batch)
            session.flush()  # its checked rows name the batch by id
            store_check(batch, check_rows(session, agency, read, positions, stage_for=batch))
    record(session, f"user:{user.id}", "batch.uploaded", f"batch:{batch.upload_id}", file=batch.file_name)
    return batch


def store_check(batch: Batch, checked: Checked) -> None:
    batch.rows_new, batch.rows_changed = checked.new, checked.changed
    batch.rows_unchanged, batch.rows_invalid = checked.unchanged, checked.invalid
    batch.error_report = checked.report.getvalue()
    batch.changes_json = json.dumps(checked.changes, ensure_ascii=False)
    batch.samples_json = json.dumps(checked.samples, ensure_ascii=False)


def _display_name(name: str) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in base if ch.isprintable())[:200] or "upload"


def earlier_commit(session: Session, batch: Batch) -> Batch | None:
    """The same file, committed before for this agency."""
    return session.scalar(
        select(Batch)
        .where(
            Batch.agency_id == batch.agency_id,
            Batch.content_sha256 == batch.content_sha256,
            Batch.status.in_((BatchStatus.COMMITTED, BatchStatus.WITHDRAWN)),
            Batch.id != batch.id,
        )
        .order_by(Batch.committed_at.desc())
    )


def batch_of(session: Session, agency: Agency, upload_id: str, *, for_update: bool = False) -> Batch:
    query = select(Batch).where(Batch.upload_id == upload_id, Batch.agency_id == agency.id)
    batch = session.scalar(query.with_for_update() if for_update else query)
    if batch is None:
        raise NotFound(_("That batch does not exist."))
    return batch


def commit(session: Session, user: User, agency: Agency, upload_id: str) -> Batch:
    """Load the batch's bills: now, or for a large file in the worker (all rows or none either way)."""
    batch = batch_of(session, agency, upload_id, for_update=True)
    if batch.status in (BatchStatus.COMMITTED, BatchStatus.LOADING):
        return batch  # a second click of the same confirm button
    if batch.status is not BatchStatus.PREVIEWED:
        raise ValidationFailed(_("This batch can no longer be committed."))
    if batch.rows_invalid:
        raise ValidationFailed(_("Correct the rows with errors and upload the file again."))
    batch.committed_by = user.id
    if batch.size_bytes > current_app.config["BATCH_BACKGROUND_BYTES"]:
        batch.status, batch.progress_rows = BatchStatus.LOADING, 0
        outbox.enqueue(session, COMMIT_TOPIC, f"batch-commit:{batch.id}", {"batch": batch.id})
        return batch
    return commit_now(session, batch)


def withdraw(session: Session, user: User, agency: Agency, upload_id: str) -> tuple[int, int]:
    """Cancel the batch's unpaid bills; paid ones stay. Returns (cancelled, kept because paid)."""
    batch = batch_of(session, agency, upload_id, for_update=True)
    if batch.status is not BatchStatus.COMMITTED:
        raise ValidationFailed(_("Only a committed batch can be withdrawn."))
    cancelled = session.execute(
        update(Bill)
        .where(Bill.batch_id == batch.id, Bill.status == StoredBillStatus.UNPAID)
        .values(status=StoredBillStatus.CANCELLED)
    ).rowcount
    kept = len(
        session.scalars(
            select(Bill.id).where(Bill.batch_id == batch.id, Bill.status == StoredBillStatus.PAID)
        ).all()
    )
    batch.status, batch.withdrawn_at, batch.withdrawn_by = BatchStatus.WITHDRAWN, utcnow(), user.id
    session.execute(delete(BatchRow).where(BatchRow.batch_id == batch.id))  # none once committed
    record(
        session,
        f"user:{user.id}",
        "batch.withdrawn",
        f"batch:{batch.upload_id}",
        cancelled=cancelled,
        kept=kept,
    )
    return cancelled, kept


def history(session: Session, agency: Agency) -> list[Batch]:
    return list(
        session.scalars(
            select(Batch).where(Batch.agency_id == agency.id).order_by(Batch.id.desc()).limit(100)
        )
    )


def row_errors(batch: Batch, limit: int | None = None) -> list[dict]:
    """The batch's row errors from its stored report (all of them, or the first ``limit``)."""
    errors = []
    for line, column, message in csv.reader(io.StringIO(batch.error_report or "")):
        if limit is not None and len(errors) >= limit:
            break
        errors.append({"line": int(line), "column": column, "message": message})
    return errors


def first_new_bills(batch: Batch) -> list[dict]:
    return json.loads(batch.samples_json or "[]")


def bill_changes(batch: Batch) -> list[dict]:
    return json.loads(batch.changes_json or "[]")

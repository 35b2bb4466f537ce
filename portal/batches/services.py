"""Preview and commit of bill batches. A preview changes no bill; a commit applies every row or none,
in the request's one transaction; a withdrawal cancels the batch's bills nobody has paid."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.audit.services import record
from portal.batches.models import Batch, BatchStatus
from portal.batches.reading import read_upload
from portal.batches.rows import BillRow, RowError, check_row, map_header
from portal.bills.models import Bill, StoredBillStatus
from portal.db import utcnow
from portal.errors import NotFound, ValidationFailed
from portal.payments.models import PaymentItem
from portal.payments.numbers import random_code

CHUNK = 2_000
SHOWN_CHANGES = 200
COMPARED = (
    "account_reference",
    "payer_name",
    "amount_fen",
    "late_fee_fen",
    "due_date",
    "period",
    "description",
)


@dataclass
class Checked:
    """What a file holds, row by row, against the agency's bills now."""

    new: list[BillRow] = field(default_factory=list)
    changed: list[tuple[int, BillRow]] = field(default_factory=list)  # (bill id, row)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)  # the first few, for the page
    invalid_lines: set[int] = field(default_factory=set)


def check_file(session: Session, agency: Agency, content: bytes) -> tuple[Checked, str, str]:
    """Read and check every row; returns the result, the file kind and its encoding."""
    limits = current_app.config
    read = read_upload(content, max_uncompressed=limits["BATCH_MAX_UNCOMPRESSED_BYTES"])
    positions, problems = map_header(read.header)
    if problems:
        raise ValidationFailed(" ".join(problems), field="file")
    checked = Checked()
    seen: dict[str, int] = {}
    count = 0
    for chunk in _chunks(read.rows):
        count += len(chunk)
        if count > limits["BATCH_MAX_ROWS"]:
            raise ValidationFailed(
                _("The file has more than %(rows)d rows. Split it up.", rows=limits["BATCH_MAX_ROWS"]),
                field="file",
            )
        rows = []
        for line, cells in chunk:
            result = check_row(line, cells, positions, read.header)
            if isinstance(result, list):
                _invalid(checked, result)
            elif result.bill_no in seen:
                message = _(
                    "Bill number %(bill)s is also on line %(line)d.",
                    bill=result.bill_no,
                    line=seen[result.bill_no],
                )
                _invalid(checked, [RowError(line, read.header[positions["bill_no"]], message)])
            else:
                seen[result.bill_no] = line
                rows.append(result)
        _compare(session, agency, rows, checked, read.header[positions["bill_no"]])
    if count == 0:
        raise ValidationFailed(_("The file has a header but no bills."), field="file")
    return checked, read.kind, read.encoding


def _chunks(rows: Iterator) -> Iterator[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _invalid(checked: Checked, errors: list[RowError]) -> None:
    checked.errors.extend(errors)
    checked.invalid_lines.update(error.line for error in errors)


def _compare(session: Session, agency: Agency, rows: list[BillRow], checked: Checked, column: str) -> None:
    """New, changed or unchanged against the stored bills; paid bills and bills being paid may not change."""
    if not rows:
        return
    numbers = [row.bill_no for row in rows]
    stored = {
        bill.bill_no: bill
        for bill in session.scalars(
            select(Bill).where(Bill.agency_id == agency.id, Bill.bill_no.in_(numbers))
        )
    }
    being_paid = set(
        session.scalars(
            select(PaymentItem.bill_id).where(
                PaymentItem.agency_id == agency.id,
                PaymentItem.bill_id.in_(numbers),
                PaymentItem.state == "awaiting",
            )
        )
    )
    for row in rows:
        bill = stored.get(row.bill_no)
        if bill is None:
            checked.new.append(row)
            continue
        differences = {name: (getattr(bill, name), getattr(row, name)) for name in COMPARED}
        differences = {name: pair for name, pair in differences.items() if pair[0] != pair[1]}
        if not differences:
            checked.unchanged += 1
        elif bill.status is not StoredBillStatus.UNPAID or row.bill_no in being_paid:
            message = _(
                "Bill %(bill)s is already paid or being paid; it cannot be changed.", bill=row.bill_no
            )
            _invalid(checked, [RowError(row.line, column, message)])
        else:
            checked.changed.append((bill.id, row))
            if len(checked.changes) < SHOWN_CHANGES:
                checked.changes.append(
                    {
                        "bill_no": row.bill_no,
                        "changes": {k: [str(a), str(b)] for k, (a, b) in differences.items()},
                    }
                )


def preview(session: Session, user: User, agency: Agency, file_name: str, content: bytes) -> Batch:
    """Check an uploaded file and keep it for a commit; no bill changes."""
    if len(content) > current_app.config["BATCH_MAX_BYTES"]:
        raise ValidationFailed(_("The file is larger than the size limit."), field="file")
    checked, kind, encoding = check_file(session, agency, content)
    batch = Batch(
        upload_id="U" + random_code(15),
        agency_id=agency.id,
        uploaded_by=user.id,
        file_name=_display_name(file_name),
        content_sha256=hashlib.sha256(content).hexdigest(),
        size_bytes=len(content),
        file_kind=kind,
        encoding=encoding,
        content=content,
        status=BatchStatus.PREVIEWED,
        rows_new=len(checked.new),
        rows_changed=len(checked.changed),
        rows_unchanged=checked.unchanged,
        rows_invalid=len(checked.invalid_lines),
        errors_json=json.dumps([asdict(error) for error in checked.errors], ensure_ascii=False),
        changes_json=json.dumps(checked.changes, ensure_ascii=False),
    )
    session.add(batch)
    record(session, f"user:{user.id}", "batch.previewed", f"batch:{batch.upload_id}", file=batch.file_name)
    return batch


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
    """Apply every row, checked again now (bills may have been paid since the preview), or none."""
    batch = batch_of(session, agency, upload_id, for_update=True)
    if batch.status is BatchStatus.COMMITTED:
        return batch  # a second click of the same confirm button
    if batch.status is not BatchStatus.PREVIEWED:
        raise ValidationFailed(_("This batch can no longer be committed."))
    if batch.rows_invalid:
        raise ValidationFailed(_("Correct the rows with errors and upload the file again."))
    checked, _kind, _encoding = check_file(session, agency, batch.content)
    if checked.errors:
        raise ValidationFailed(_("Bills changed since the preview: upload the file again to see why."))
    _apply(session, agency, batch, checked)
    batch.status = BatchStatus.COMMITTED
    batch.committed_at, batch.committed_by = utcnow(), user.id
    batch.rows_new, batch.rows_changed, batch.rows_unchanged = (
        len(checked.new),
        len(checked.changed),
        checked.unchanged,
    )
    batch.content = None  # the bills hold it now; the hash still spots a re-upload
    record(
        session,
        f"user:{user.id}",
        "batch.committed",
        f"batch:{batch.upload_id}",
        new=batch.rows_new,
        changed=batch.rows_changed,
    )
    return batch


def _apply(session: Session, agency: Agency, batch: Batch, checked: Checked) -> None:
    now = utcnow()
    for start in range(0, len(checked.new), CHUNK):
        session.execute(
            Bill.__table__.insert(),
            [
                {
                    **_values(row),
                    "agency_id": agency.id,
                    "bill_no": row.bill_no,
                    "status": "unpaid",
                    "created_at": now,
                    "batch_id": batch.id,
                }
                for row in checked.new[start : start + CHUNK]
            ],
        )
    for bill_id, row in checked.changed:
        session.execute(
            update(Bill)
            .where(Bill.id == bill_id, Bill.status == StoredBillStatus.UNPAID)
            .values(**_values(row), batch_id=batch.id)
        )


def _values(row: BillRow) -> dict:
    return {name: getattr(row, name) for name in COMPARED}


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


def row_errors(batch: Batch) -> list[dict]:
    return json.loads(batch.errors_json or "[]")


def bill_changes(batch: Batch) -> list[dict]:
    return json.loads(batch.changes_json or "[]")

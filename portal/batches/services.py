"""Preview and commit of bill batches. A preview changes no bill; a commit applies every row or none,
in the request's one transaction; a withdrawal cancels the batch's bills nobody has paid."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import String, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.audit.services import record
from portal.batches.models import Batch, BatchStatus
from portal.batches.reading import ReadFile, read_upload
from portal.batches.rows import BillRow, RowError, check_row, map_header
from portal.bills.models import Bill, StoredBillStatus
from portal.db import utcnow
from portal.errors import NotFound, ValidationFailed
from portal.payments import outbox
from portal.payments.models import ItemState, PaymentItem
from portal.payments.numbers import random_code

CHUNK = 2_000
CHECK_TOPIC = "batch.check"
COMMIT_TOPIC = "batch.commit"
SHOWN_CHANGES = 200
SHOWN_SAMPLES = 10
COMPARED = (
    "account_reference",
    "payer_name",
    "amount_fen",
    "late_fee_fen",
    "due_date",
    "period",
    "description",
)


SHOWN_ERRORS = 50


@dataclass
class Checked:
    """What a file holds, row by row, against the agency's bills now: counts, the first errors and
    changes for the page, and every error as CSV text (rows themselves are never all held at once)."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    invalid: int = 0
    rows: int = 0
    shown_errors: list[RowError] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)  # the first new bills, to show how the file was read
    report: io.StringIO = field(default_factory=io.StringIO)
    _last_invalid_line: int = 0

    def add_errors(self, errors: list[RowError]) -> None:
        writer = csv.writer(self.report)
        for error in errors:
            if error.line != self._last_invalid_line:
                self.invalid += 1
                self._last_invalid_line = error.line
            if len(self.shown_errors) < SHOWN_ERRORS:
                self.shown_errors.append(error)
            writer.writerow([error.line, error.column, error.message])


# Called with each chunk's new rows and (bill id, row) changes, when a commit applies them.
Apply = Callable[[list[BillRow], list[tuple[int, BillRow]]], None]


# Told how many rows were checked so far, after each chunk (the page shows it for background batches).
Progress = Callable[[int], None]


def open_file(content: bytes) -> tuple[ReadFile, dict[str, int]]:
    """The quick checks, done while the clerk waits: what the file is, its encoding, its header."""
    if len(content) > current_app.config["BATCH_MAX_BYTES"]:
        raise ValidationFailed(_("The file is larger than the size limit."), field="file")
    read = read_upload(content, max_uncompressed=current_app.config["BATCH_MAX_UNCOMPRESSED_BYTES"])
    positions, problems = map_header(read.header)
    if problems:
        raise ValidationFailed(" ".join(problems), field="file")
    return read, positions


def check_rows(
    session: Session,
    agency: Agency,
    read: ReadFile,
    positions: dict[str, int],
    apply: Apply | None = None,
    progress: Progress | None = None,
) -> Checked:
    """Check every row a chunk at a time against the agency's bills (and apply each chunk, when
    committing): memory stays bounded by the chunk, whatever the file's length."""
    limit = current_app.config["BATCH_MAX_ROWS"]
    checked = Checked()
    seen: dict[str, int] = {}
    count = 0
    bill_column = read.header[positions["bill_no"]]
    for chunk in _chunks(read.rows):
        count += len(chunk)
        if count > limit:
            raise ValidationFailed(
                _("The file has more than %(rows)d rows. Split it up.", rows=limit), field="file"
            )
        rows = []
        for line, cells in chunk:
            result = check_row(line, cells, positions, read.header)
            if isinstance(result, list):
                checked.add_errors(result)
            elif result.bill_no in seen:
                first = seen[result.bill_no]
                message = _("Bill number %(bill)s is also on line %(line)d.", bill=result.bill_no, line=first)
                checked.add_errors([RowError(line, bill_column, message)])
            else:
                seen[result.bill_no] = line
                rows.append(result)
        new, changed = _compare(session, agency, rows, checked, bill_column)
        if apply is not None and not checked.invalid:
            apply(new, changed)
        if progress is not None:
            progress(count)
    if count == 0:
        raise ValidationFailed(_("The file has a header but no bills."), field="file")
    checked.rows = count
    return checked


def _chunks(rows: Iterator) -> Iterator[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _one_of(session: Session, column, values: list[str]):
    """column IN (values). On PostgreSQL one array parameter (= ANY): a chunk's 2,000 numbers as 2,000
    parameters made a statement too long for psycopg's cache and a generic plan that read every bill."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(String)))
    return column.in_(values)


def _compare(session: Session, agency: Agency, rows: list[BillRow], checked: Checked, column: str):
    """New, changed or unchanged against the stored bills; paid bills and bills being paid may not change."""
    new: list[BillRow] = []
    changed: list[tuple[int, BillRow]] = []
    if not rows:
        return new, changed
    numbers = [row.bill_no for row in rows]
    stored = {
        bill.bill_no: bill
        for bill in session.scalars(
            select(Bill).where(Bill.agency_id == agency.id, _one_of(session, Bill.bill_no, numbers))
        )
    }
    existing = [number for number in numbers if number in stored]  # only stored bills can be being paid
    being_paid = set()
    if existing:
        being_paid = set(
            session.scalars(
                select(PaymentItem.bill_id).where(
                    PaymentItem.agency_id == agency.id,
                    _one_of(session, PaymentItem.bill_id, existing),
                    PaymentItem.state == ItemState.AWAITING,
                )
            )
        )
    for row in rows:
        bill = stored.get(row.bill_no)
        if bill is None:
            new.append(row)
            if len(checked.samples) < SHOWN_SAMPLES:
                checked.samples.append({k: str(v) if v is not None else "" for k, v in vars(row).items()})
            continue
        differences = {name: (getattr(bill, name), getattr(row, name)) for name in COMPARED}
        differences = {name: pair for name, pair in differences.items() if pair[0] != pair[1]}
        if not differences:
            checked.unchanged += 1
        elif bill.status is not StoredBillStatus.UNPAID or row.bill_no in being_paid:
            message = _(
                "Bill %(bill)s is already paid or being paid; it cannot be changed.", bill=row.bill_no
            )
            checked.add_errors([RowError(row.line, column, message)])
        else:
            changed.append((bill.id, row))
            if len(checked.changes) < SHOWN_CHANGES:
                checked.changes.append(
                    {
                        "bill_no": row.bill_no,
                        "changes": {k: [str(a), str(b)] for k, (a, b) in differences.items()},
                    }
                )
    checked.new += len(new)
    checked.changed += len(changed)
    return new, changed


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
    if not background:
        store_check(batch, check_rows(session, agency, read, positions))
    session.add(batch)
    session.flush()  # the background job names the batch by id
    if background:
        outbox.enqueue(session, CHECK_TOPIC, f"batch-check:{batch.id}", {"batch": batch.id})
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


def commit_now(session: Session, batch: Batch, progress: Progress | None = None) -> Batch:
    """Apply every row, checked again now (bills may have been paid since the preview), or none: what
    was applied is rolled back with the transaction when a row fails."""
    now = utcnow()
    agency = session.get(Agency, batch.agency_id)

    def apply(new: list[BillRow], changed: list[tuple[int, BillRow]]) -> None:
        _apply(session, agency, batch, new, changed, now)

    read, positions = open_file(batch.content)
    checked = check_rows(session, agency, read, positions, apply=apply, progress=progress)
    if checked.invalid:
        raise ValidationFailed(_("Bills changed since the preview: upload the file again to see why."))
    batch.status, batch.committed_at = BatchStatus.COMMITTED, now
    batch.rows_new, batch.rows_changed, batch.rows_unchanged = checked.new, checked.changed, checked.unchanged
    batch.content = None  # the bills hold it now; the hash still spots a re-upload
    record(
        session,
        f"user:{batch.committed_by}",
        "batch.committed",
        f"batch:{batch.upload_id}",
        new=batch.rows_new,
        changed=batch.rows_changed,
    )
    return batch


def _apply(session, agency, batch, new: list[BillRow], changed: list[tuple[int, BillRow]], now) -> None:
    for start in range(0, len(new), CHUNK):
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
                for row in new[start : start + CHUNK]
            ],
        )
    for bill_id, row in changed:
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

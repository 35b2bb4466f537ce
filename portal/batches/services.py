"""Preview and commit of bill batches. A preview changes no bill; a commit applies every row or none,
in the request's one transaction; a withdrawal cancels the batch's bills nobody has paid."""

from __future__ import annotations

import csv
import hashlib
import heapq
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (
    String,
    and_,
    any_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from portal import events, outbox
from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.audit.services import record
from portal.batches.models import Batch, BatchRow, BatchStatus
from portal.batches.reading import ReadFile, read_upload
from portal.batches.rows import BillRow, RowError, map_header, row_checker
from portal.bills.models import Bill, StoredBillStatus
from portal.db import utcnow
from portal.errors import NotFound, ValidationFailed
from portal.numbering import random_code
from portal.payments.models import ItemState, PaymentItem

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
STAGED_FOR = timedelta(days=7)  # a previewed batch's checked rows are kept this long for its commit


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
    _refused: list[RowError] = field(default_factory=list)  # changes to paid bills, in line order

    def add_errors(self, errors: list[RowError]) -> None:
        """A row's own errors, found as the file is read (so in line order)."""
        writer = csv.writer(self.report)
        for error in errors:
            if error.line != self._last_invalid_line:
                self.invalid += 1
                self._last_invalid_line = error.line
            if len(self.shown_errors) < SHOWN_ERRORS:
                self.shown_errors.append(error)
            writer.writerow([error.line, error.column, error.message])

    def refuse(self, error: RowError) -> None:
        """A valid row that would change a paid bill or one being paid (found when compared with the
        stored bills, in line order); its line has no other error."""
        self.invalid += 1
        self._refused.append(error)

    def finish(self) -> None:
        """Every error in line order, whichever way the rows were compared with the stored bills."""
        if not self._refused:
            return
        read = (
            (int(line), column, message)
            for line, column, message in csv.reader(io.StringIO(self.report.getvalue()))
        )
        refused = ((error.line, error.column, error.message) for error in self._refused)
        self.report, self.shown_errors, self._refused = io.StringIO(), [], []
        writer = csv.writer(self.report)
        for line, column, message in heapq.merge(read, refused, key=lambda error: error[0]):
            if len(self.shown_errors) < SHOWN_ERRORS:
                self.shown_errors.append(RowError(line, column, message))
            writer.writerow([line, column, message])


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
    stage_for: Batch | None = None,
) -> Checked:
    """Check every row a chunk at a time; memory stays bounded by the chunk, whatever the file's length.

    On PostgreSQL, given ``stage_for`` (a preview), the valid rows are written to bill_batch_rows by
    COPY and compared with the agency's bills in one statement at the end; the commit then applies
    them in SQL. Otherwise each chunk is compared with the agency's bills as it is read (and applied,
    when committing). Either way the counts, errors, changes and samples are the same."""
    limit = current_app.config["BATCH_MAX_ROWS"]
    checked = Checked()
    seen: dict[str, int] = {}
    count = 0
    bill_column = read.header[positions["bill_no"]]
    check = row_checker(positions, read.header)
    staging = stage_for is not None and apply is None and stages(session)
    if staging:
        session.execute(delete(BatchRow).where(BatchRow.batch_id == stage_for.id))  # a retried check
    for chunk in _chunks(read.rows):
        count += len(chunk)
        if count > limit:
            raise ValidationFailed(
                _("The file has more than %(rows)d rows. Split it up.", rows=limit), field="file"
            )
        rows = []
        for line, cells in chunk:
            result = check(line, cells)
            if isinstance(result, list):
                checked.add_errors(result)
            elif result.bill_no in seen:
                first = seen[result.bill_no]
                message = _("Bill number %(bill)s is also on line %(line)d.", bill=result.bill_no, line=first)
                checked.add_errors([RowError(line, bill_column, message)])
            else:
                seen[result.bill_no] = line
                rows.append(result)
        if staging:
            _stage(session, stage_for, rows)
        else:
            new, changed = _compare(session, agency, rows, checked, bill_column)
            if apply is not None and not checked.invalid:
                apply(new, changed)
        if progress is not None:
            progress(count)
    if count == 0:
        raise ValidationFailed(_("The file has a header but no bills."), field="file")
    if staging:
        _compare_staged(session, agency, stage_for, len(seen), checked, bill_column)
        if checked.invalid:  # such a batch cannot be committed: nothing to keep
            session.execute(delete(BatchRow).where(BatchRow.batch_id == stage_for.id))
    checked.finish()
    checked.rows = count
    return checked


def stages(session: Session) -> bool:
    """Whether previews keep their checked rows for the commit (PostgreSQL, whose COPY fills them)."""
    return session.get_bind().dialect.name == "postgresql"


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
            _sample(checked, row)
            continue
        stored_values = tuple(getattr(bill, name) for name in COMPARED)
        being_changed = bill.status is not StoredBillStatus.UNPAID or row.bill_no in being_paid
        if _judge(checked, row, stored_values, being_changed, column):
            changed.append((bill.id, row))
    checked.new += len(new)
    return new, changed


def _sample(checked: Checked, row: BillRow) -> None:
    if len(checked.samples) < SHOWN_SAMPLES:
        checked.samples.append({k: str(v) if v is not None else "" for k, v in row._asdict().items()})


def _judge(checked: Checked, row: BillRow, stored: tuple, locked: bool, column: str) -> bool:
    """Counts a row whose bill is stored (its COMPARED values ``stored``) as unchanged, refused
    (``locked``: paid or being paid) or changed; True when it changes the bill."""
    differences = {
        name: (before, getattr(row, name))
        for name, before in zip(COMPARED, stored, strict=True)
        if before != getattr(row, name)
    }
    if not differences:
        checked.unchanged += 1
        return False
    if locked:
        message = _("Bill %(bill)s is already paid or being paid; it cannot be changed.", bill=row.bill_no)
        checked.refuse(RowError(row.line, column, message))
        return False
    checked.changed += 1
    if len(checked.changes) < SHOWN_CHANGES:
        checked.changes.append(
            {"bill_no": row.bill_no, "changes": {k: [str(a), str(b)] for k, (a, b) in differences.items()}}
        )
    return True


STAGED_COLUMNS = ("batch_id", *BillRow._fields)
STAGE_COPY = f"COPY bill_batch_rows ({', '.join(STAGED_COLUMNS)}) FROM STDIN (FORMAT binary)"
STAGED_TYPES = ("int8", "int8", "text", "text", "text", "int8", "int8", "date", "text", "text")


def _stage(session: Session, batch: Batch, rows: list[BillRow]) -> None:
    """Append a chunk's valid rows to bill_batch_rows with COPY (binary: nothing to quote or parse),
    inside the session's transaction."""
    if not rows:
        return
    batch_id = batch.id
    driver = session.connection().connection.driver_connection  # psycopg's, in this transaction
    with driver.cursor() as cursor, cursor.copy(STAGE_COPY) as copy:
        copy.set_types(STAGED_TYPES)
        for row in rows:
            copy.write_row((batch_id, *row))


def _stored_for(staged, agency: Agency):
    return and_(Bill.agency_id == agency.id, Bill.bill_no == staged.bill_no)


def _being_paid(agency: Agency):
    return exists().where(
        PaymentItem.agency_id == agency.id,
        PaymentItem.bill_id == Bill.bill_no,
        PaymentItem.state == ItemState.AWAITING,
    )


def _compare_staged(
    session: Session, agency: Agency, batch: Batch, staged: int, checked: Checked, column: str
) -> None:
    """The staged rows against the stored bills in one statement: only rows whose bill is stored come
    back (in line order), to be judged as the chunked compare does; the rest are new."""
    rows = session.execute(
        select(
            *(getattr(BatchRow, name) for name in BillRow._fields),
            *(getattr(Bill, name) for name in COMPARED),
            Bill.status,
            _being_paid(agency),
        )
        .join(Bill, _stored_for(BatchRow, agency))
        .where(BatchRow.batch_id == batch.id)
        .order_by(BatchRow.line)
        .execution_options(yield_per=CHUNK)
    )
    width, compared = len(BillRow._fields), len(COMPARED)
    matched = 0
    for values in rows:
        matched += 1
        row = BillRow(*values[:width])
        status, being_paid = values[width + compared], values[width + compared + 1]
        locked = status is not StoredBillStatus.UNPAID or being_paid
        _judge(checked, row, tuple(values[width : width + compared]), locked, column)
    checked.new = staged - matched
    new_rows = session.execute(
        select(*(getattr(BatchRow, name) for name in BillRow._fields))
        .where(BatchRow.batch_id == batch.id, ~exists().where(_stored_for(BatchRow, agency)))
        .order_by(BatchRow.line)
        .limit(SHOWN_SAMPLES)
    )
    for values in new_rows:
        _sample(checked, BillRow(*values))


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
    if stages(session):
        expire_staged(session)
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


def commit_now(session: Session, batch: Batch) -> Batch:
    """Apply every row, checked again now against the stored bills (bills may have been paid since the
    preview), or none: what was applied is rolled back with the transaction when a row fails. The rows
    the preview kept are applied in SQL; without them (SQLite, or kept too long) the file is read again."""
    now = utcnow()
    agency = session.get(Agency, batch.agency_id)
    if stages(session) and session.scalar(select(exists().where(BatchRow.batch_id == batch.id))):
        new, changed, unchanged = _apply_staged(session, agency, batch, now)
    else:

        def apply(new: list[BillRow], changed: list[tuple[int, BillRow]]) -> None:
            _apply(session, agency, batch, new, changed, now)

        read, positions = open_file(batch.content)
        checked = check_rows(session, agency, read, positions, apply=apply)
        if checked.invalid:
            raise _changed_since_preview()
        new, changed, unchanged = checked.new, checked.changed, checked.unchanged
    batch.status, batch.committed_at = BatchStatus.COMMITTED, now
    batch.rows_new, batch.rows_changed, batch.rows_unchanged = new, changed, unchanged
    batch.content = None  # the bills hold it now; the hash still spots a re-upload
    record(
        session,
        f"user:{batch.committed_by}",
        "batch.committed",
        f"batch:{batch.upload_id}",
        new=batch.rows_new,
        changed=batch.rows_changed,
    )
    events.publish(session, events.BatchLoaded(batch.agency_id, batch.id))
    return batch


def _changed_since_preview() -> ValidationFailed:
    return ValidationFailed(_("Bills changed since the preview: upload the file again to see why."))


def _apply_staged(session: Session, agency: Agency, batch: Batch, now) -> tuple[int, int, int]:
    """The preview's rows against the stored bills again, then applied in three statements: changed
    bills updated, new ones inserted, the rows removed. (new, changed, unchanged); refused whole, with
    nothing applied, when a bill to change has been paid or is being paid since the preview."""
    bills = Bill.__table__
    stored = _stored_for(BatchRow, agency)
    differs = or_(*(getattr(Bill, name).is_distinct_from(getattr(BatchRow, name)) for name in COMPARED))
    locked = or_(Bill.status != StoredBillStatus.UNPAID, _being_paid(agency))
    new, changed, unchanged, refused = session.execute(
        select(
            func.count().filter(Bill.id.is_(None)),
            func.count().filter(Bill.id.is_not(None), differs),
            func.count().filter(Bill.id.is_not(None), ~differs),
            func.count().filter(Bill.id.is_not(None), differs, locked),
        )
        .select_from(BatchRow)
        .outerjoin(Bill, stored)
        .where(BatchRow.batch_id == batch.id)
    ).one()
    if refused:
        raise _changed_since_preview()
    if changed:
        updated = session.execute(
            update(bills)
            .where(BatchRow.batch_id == batch.id, stored, differs, ~locked)
            .values({name: getattr(BatchRow, name) for name in COMPARED} | {"batch_id": batch.id})
        ).rowcount
        if updated != changed:  # paid or changed by someone else between the two statements
            raise _changed_since_preview()
    if new:
        inserted = _insert_staged(session, agency, batch, now)
        if inserted != new:  # another batch loaded some of these numbers meanwhile
            raise _changed_since_preview()
    session.execute(delete(BatchRow).where(BatchRow.batch_id == batch.id))
    return new, changed, unchanged


def _insert_staged(session: Session, agency: Agency, batch: Batch, now) -> int:
    bills = Bill.__table__
    columns = ("agency_id", "bill_no", *COMPARED, "status", "created_at", "batch_id")
    query = (
        select(
            literal(agency.id, bills.c.agency_id.type),
            BatchRow.bill_no,
            *(getattr(BatchRow, name) for name in COMPARED),
            literal(StoredBillStatus.UNPAID, bills.c.status.type),
            literal(now, bills.c.created_at.type),
            literal(batch.id, bills.c.batch_id.type),
        )
        .where(BatchRow.batch_id == batch.id, ~exists().where(_stored_for(BatchRow, agency)))
        .order_by(BatchRow.line)
    )
    # SQLAlchemy reads an INSERT's row count only when asked to keep it.
    statement = insert(bills).from_select(columns, query).execution_options(preserve_rowcount=True)
    return session.execute(statement).rowcount


def _apply(session, agency, batch, new: list[BillRow], changed: list[tuple[int, BillRow]], now) -> None:
    for bill_id, row in changed:
        session.execute(
            update(Bill)
            .where(Bill.id == bill_id, Bill.status == StoredBillStatus.UNPAID)
            .values(**_values(row), batch_id=batch.id)
        )
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


def expire_staged(session: Session) -> None:
    """Remove the kept rows of batches that can no longer be committed, and of previews older than
    STAGED_FOR (those are read from their file again if committed after all). Batches being committed
    now hold their lock and are skipped."""
    done = Batch.status.not_in((BatchStatus.CHECKING, BatchStatus.PREVIEWED, BatchStatus.LOADING))
    old = and_(Batch.status == BatchStatus.PREVIEWED, Batch.created_at < utcnow() - STAGED_FOR)
    ids = session.scalars(
        select(Batch.id)
        .where(Batch.id.in_(select(BatchRow.batch_id).distinct()), or_(done, old))
        .with_for_update(skip_locked=True)
    ).all()
    if ids:
        session.execute(delete(BatchRow).where(BatchRow.batch_id.in_(ids)))


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

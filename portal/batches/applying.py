"""A commit: a batch's rows applied to the agency's bills, all of them or none."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from portal import events
from portal.agencies.models import Agency
from portal.audit.services import record
from portal.batches import staging
from portal.batches.checking import check_rows, open_file
from portal.batches.comparing import COMPARED, bill_being_paid, stored_for
from portal.batches.models import Batch, BatchRow, BatchStatus
from portal.batches.rows import CHUNK, BillRow
from portal.bills.models import Bill, StoredBillStatus
from portal.db import utcnow
from portal.errors import ValidationFailed


def commit_now(session: Session, batch: Batch) -> Batch:
    """Apply every row, checked again now against the stored bills (bills may have been paid since the
    preview), or none: what was applied is rolled back with the transaction when a row fails. The rows
    the preview kept are applied in SQL; without them (SQLite, or kept too long) the file is read again."""
    now = utcnow()
    agency = session.get(Agency, batch.agency_id)
    if staging.stages(session) and session.scalar(select(exists().where(BatchRow.batch_id == batch.id))):
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
    stored = stored_for(BatchRow, agency)
    differs = or_(*(getattr(Bill, name).is_distinct_from(getattr(BatchRow, name)) for name in COMPARED))
    locked = or_(Bill.status != StoredBillStatus.UNPAID, bill_being_paid(agency))
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
        .where(BatchRow.batch_id == batch.id, ~exists().where(stored_for(BatchRow, agency)))
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

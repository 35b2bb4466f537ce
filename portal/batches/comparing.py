"""Checked rows against the agency's stored bills: new, changed, unchanged, or refused when paid."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import String, and_, any_, bindparam, exists, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from portal.agencies.models import Agency
from portal.batches.checked import SHOWN_CHANGES, SHOWN_SAMPLES, Checked
from portal.batches.models import Batch, BatchRow
from portal.batches.rows import CHUNK, BillRow, RowError
from portal.bills.models import Bill, StoredBillStatus
from portal.payments.models import ItemState, PaymentItem

COMPARED = (
    "account_reference",
    "payer_name",
    "amount_fen",
    "late_fee_fen",
    "due_date",
    "period",
    "description",
)


def _one_of(session: Session, column, values: list[str]):
    """column IN (values). On PostgreSQL one array parameter (= ANY): a chunk's 2,000 numbers as 2,000
    parameters made a statement too long for psycopg's cache and a generic plan that read every bill."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(String)))
    return column.in_(values)


def compare(session: Session, agency: Agency, rows: list[BillRow], checked: Checked, column: str):
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


def stored_for(staged, agency: Agency):
    return and_(Bill.agency_id == agency.id, Bill.bill_no == staged.bill_no)


def bill_being_paid(agency: Agency):
    return exists().where(
        PaymentItem.agency_id == agency.id,
        PaymentItem.bill_id == Bill.bill_no,
        PaymentItem.state == ItemState.AWAITING,
    )


def compare_staged(
    session: Session, agency: Agency, batch: Batch, staged: int, checked: Checked, column: str
) -> None:
    """The staged rows against the stored bills in one statement: only rows whose bill is stored come
    back (in line order), to be judged as the chunked compare does; the rest are new."""
    rows = session.execute(
        select(
            *(getattr(BatchRow, name) for name in BillRow._fields),
            *(getattr(Bill, name) for name in COMPARED),
            Bill.status,
            bill_being_paid(agency),
        )
        .join(Bill, stored_for(BatchRow, agency))
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
        .where(BatchRow.batch_id == batch.id, ~exists().where(stored_for(BatchRow, agency)))
        .order_by(BatchRow.line)
        .limit(SHOWN_SAMPLES)
    )
    for values in new_rows:
        _sample(checked, BillRow(*values))

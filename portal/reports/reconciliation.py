"""Three-way reconciliation for a range of Beijing days: the ledger's transfers, the portal's payments
and receipts, and the agencies' confirmations. It lists exactly what does not match, and nothing when
all is well. Each check is one query; the database does the matching."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from portal.clock import day_bounds
from portal.counter.models import CounterShift, ShiftState
from portal.db import utcnow
from portal.money import format_fen
from portal.payments.models import OPEN_ITEM_STATES, ItemState, Payment, PaymentItem, PaymentState
from portal.receipts.models import Receipt, ReceiptKind
from portal.wallet.models import AccountKind, LedgerAccount, Transfer, TransferKind

# An agency normally confirms within a minute; the outbox keeps trying for days. A line unconfirmed for
# longer than this is worth a look.
CONFIRMATION_GRACE = timedelta(hours=1)
MAX_PER_CHECK = 200


class DiscrepancyKind(enum.StrEnum):
    MISSING_CONFIRMATION = "missing_confirmation"
    AMOUNT_MISMATCH = "amount_mismatch"
    ORPHAN_TRANSFER = "orphan_transfer"
    DUPLICATE = "duplicate"
    MISSING_TRANSFER = "missing_transfer"
    MISSING_RECEIPT = "missing_receipt"
    TILL_NOT_CLEARED = "till_not_cleared"

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self])


KIND_LABELS = {
    DiscrepancyKind.MISSING_CONFIRMATION: _l("Missing agency confirmation"),
    DiscrepancyKind.AMOUNT_MISMATCH: _l("Amount mismatch"),
    DiscrepancyKind.ORPHAN_TRANSFER: _l("Transfer without a payment"),
    DiscrepancyKind.DUPLICATE: _l("Duplicate"),
    DiscrepancyKind.MISSING_TRANSFER: _l("Payment without a transfer"),
    DiscrepancyKind.MISSING_RECEIPT: _l("Payment without a receipt"),
    DiscrepancyKind.TILL_NOT_CLEARED: _l("Till not cleared at its cash-up"),
}


@dataclass(frozen=True)
class Discrepancy:
    kind: DiscrepancyKind
    detail: str
    payment: str | None = None  # payment reference, for the link to the payment's page
    transfer: str | None = None  # transfer reference, for the link to the transfer's page


@dataclass
class Reconciliation:
    start: date
    end: date
    discrepancies: list[Discrepancy] = field(default_factory=list)
    truncated: bool = False  # a check found more than MAX_PER_CHECK; the first ones are listed

    @property
    def is_clean(self) -> bool:
        return not self.discrepancies


def reconcile(session: Session, start: date, end: date, now: datetime | None = None) -> Reconciliation:
    since, until = day_bounds(start)[0], day_bounds(end)[1]
    report = Reconciliation(start, end)
    checks = (
        _payments_against_ledger,
        _lines_against_payments,
        _payments_against_receipts,
        _agency_amounts,
        _duplicates,
        _orphan_transfers,
        _uncleared_tills,
    )
    for check in checks:
        found = list(check(session, since, until))
        report.truncated |= len(found) > MAX_PER_CHECK
        report.discrepancies += found[:MAX_PER_CHECK]
    found = list(_missing_confirmations(session, since, until, now or utcnow()))
    report.truncated |= len(found) > MAX_PER_CHECK
    report.discrepancies += found[:MAX_PER_CHECK]
    return report


def _paid_within(since: datetime, until: datetime):
    return and_(Payment.paid_at >= since, Payment.paid_at < until, Payment.state != PaymentState.PENDING)


def _payments_against_ledger(session: Session, since: datetime, until: datetime):
    rows = session.execute(
        # The wallet's transfer carries the bills less a campaign's share (paid by its own transfers).
        select(
            Payment.reference,
            Payment.total_fen - Payment.discount_fen,
            Payment.transfer_reference,
            Transfer.amount_fen,
        )
        .outerjoin(Transfer, Transfer.reference == Payment.transfer_reference)
        .where(
            _paid_within(since, until),
            or_(
                Transfer.id.is_(None),
                Transfer.amount_fen != Payment.total_fen - Payment.discount_fen,
                Transfer.kind != TransferKind.PAYMENT,
            ),
        )
        .order_by(Payment.paid_at)
        .limit(MAX_PER_CHECK + 1)
    )
    for reference, total, transfer, moved in rows:
        if moved is None:
            detail = _(
                "The payment of %(total)s names a ledger transfer that does not exist.", total=fen(total)
            )
            yield Discrepancy(DiscrepancyKind.MISSING_TRANSFER, detail, reference, None)
        else:
            detail = _(
                "The ledger moved %(moved)s; the payment says %(total)s.", moved=fen(moved), total=fen(total)
            )
            yield Discrepancy(DiscrepancyKind.AMOUNT_MISMATCH, detail, reference, transfer)


def _lines_against_payments(session: Session, since: datetime, until: datetime):
    lines = (
        select(PaymentItem.payment_id, func.sum(PaymentItem.amount_fen).label("amount"))
        .group_by(PaymentItem.payment_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Payment.reference, Payment.total_fen, func.coalesce(lines.c.amount, 0), Payment.transfer_reference
        )
        .outerjoin(lines, lines.c.payment_id == Payment.id)
        .where(_paid_within(since, until), func.coalesce(lines.c.amount, 0) != Payment.total_fen)
        .order_by(Payment.paid_at)
        .limit(MAX_PER_CHECK + 1)
    )
    for reference, total, amount, transfer in rows:
        detail = _(
            "Its bills add up to %(lines)s; the payment says %(total)s.", lines=fen(amount), total=fen(total)
        )
        yield Discrepancy(DiscrepancyKind.AMOUNT_MISMATCH, detail, reference, transfer)


def _payments_against_receipts(session: Session, since: datetime, until: datetime):
    rows = session.execute(
        select(
            Payment.reference,
            Payment.total_fen,
            Receipt.number,
            Receipt.amount_fen,
            Payment.transfer_reference,
        )
        .outerjoin(Receipt, and_(Receipt.payment_id == Payment.id, Receipt.kind == ReceiptKind.PAYMENT))
        .where(_paid_within(since, until), or_(Receipt.id.is_(None), Receipt.amount_fen != Payment.total_fen))
        .order_by(Payment.paid_at)
        .limit(MAX_PER_CHECK + 1)
    )
    for reference, total, number, printed, transfer in rows:
        if number is None:
            detail = _("No payment receipt was issued for %(total)s.", total=fen(total))
            yield Discrepancy(DiscrepancyKind.MISSING_RECEIPT, detail, reference, transfer)
        else:
            detail = _(
                "Receipt %(number)s shows %(printed)s; the payment says %(total)s.",
                number=number,
                printed=fen(printed),
                total=fen(total),
            )
            yield Discrepancy(DiscrepancyKind.AMOUNT_MISMATCH, detail, reference, transfer)


def _agency_amounts(session: Session, since: datetime, until: datetime):
    rows = session.execute(
        select(
            Payment.reference,
            PaymentItem.bill_id,
            PaymentItem.amount_fen,
            PaymentItem.agency_amount_fen,
            Payment.transfer_reference,
        )
        .join(Payment, Payment.id == PaymentItem.payment_id)
        .where(
            _paid_within(since, until),
            PaymentItem.agency_amount_fen.is_not(None),
            PaymentItem.agency_amount_fen != PaymentItem.amount_fen,
        )
        .order_by(Payment.paid_at, PaymentItem.id)
        .limit(MAX_PER_CHECK + 1)
    )
    for reference, bill, paid, recorded, transfer in rows:
        detail = _(
            "Bill %(bill)s: the agency recorded %(recorded)s; the resident paid %(paid)s.",
            bill=bill,
            recorded=fen(recorded),
            paid=fen(paid),
        )
        yield Discrepancy(DiscrepancyKind.AMOUNT_MISMATCH, detail, reference, transfer)


def _missing_confirmations(session: Session, since: datetime, until: datetime, now: datetime):
    rows = session.execute(
        select(Payment.reference, PaymentItem.bill_id, PaymentItem.amount_fen, Payment.transfer_reference)
        .join(Payment, Payment.id == PaymentItem.payment_id)
        .where(
            _paid_within(since, until),
            PaymentItem.state == ItemState.AWAITING,
            Payment.paid_at < now - CONFIRMATION_GRACE,
        )
        .order_by(Payment.paid_at, PaymentItem.id)
        .limit(MAX_PER_CHECK + 1)
    )
    for reference, bill, amount, transfer in rows:
        detail = _(
            "Bill %(bill)s (%(amount)s): the agency has not confirmed it.", bill=bill, amount=fen(amount)
        )
        yield Discrepancy(DiscrepancyKind.MISSING_CONFIRMATION, detail, reference, transfer)


def _duplicates(session: Session, since: datetime, until: datetime):
    """One ledger transfer claimed by two payments, or one bill settled by two open payments."""
    shared = session.execute(
        select(Payment.transfer_reference, func.min(Payment.reference), func.count())
        .where(_paid_within(since, until), Payment.transfer_reference.is_not(None))
        .group_by(Payment.transfer_reference)
        .having(func.count() > 1)
        .limit(MAX_PER_CHECK + 1)
    )
    for transfer, reference, count in shared:
        detail = _("%(count)d payments name the same ledger transfer.", count=count)
        yield Discrepancy(DiscrepancyKind.DUPLICATE, detail, reference, transfer)
    twice = session.execute(
        select(PaymentItem.bill_id, func.min(Payment.reference), func.count())
        .join(Payment, Payment.id == PaymentItem.payment_id)
        .where(_paid_within(since, until), PaymentItem.settles_bill, PaymentItem.state.in_(OPEN_ITEM_STATES))
        .group_by(PaymentItem.agency_id, PaymentItem.bill_id)
        .having(func.count() > 1)
        .limit(MAX_PER_CHECK + 1)
    )
    for bill, reference, count in twice:
        detail = _("Bill %(bill)s was paid in full by %(count)d payments.", bill=bill, count=count)
        yield Discrepancy(DiscrepancyKind.DUPLICATE, detail, reference, None)


def _orphan_transfers(session: Session, since: datetime, until: datetime):
    """Payment transfers no payment names, and refund transfers no receipt names."""
    claimed_by_payment = exists().where(Payment.transfer_reference == Transfer.reference)
    claimed_by_receipt = exists().where(Receipt.transfer_reference == Transfer.reference)
    rows = session.execute(
        select(Transfer.reference, Transfer.kind, Transfer.amount_fen)
        .where(
            Transfer.created_at >= since,
            Transfer.created_at < until,
            or_(
                and_(Transfer.kind == TransferKind.PAYMENT, ~claimed_by_payment),
                and_(Transfer.kind == TransferKind.REFUND, ~claimed_by_receipt),
            ),
        )
        .order_by(Transfer.created_at)
        .limit(MAX_PER_CHECK + 1)
    )
    for reference, kind, amount in rows:
        if kind is TransferKind.PAYMENT:
            detail = _(
                "A payment of %(amount)s reached an agency, but no payment names it.", amount=fen(amount)
            )
        else:
            detail = _("A refund of %(amount)s left an agency, but no receipt names it.", amount=fen(amount))
        yield Discrepancy(DiscrepancyKind.ORPHAN_TRANSFER, detail, None, reference)


def fen(amount: int) -> str:
    return format_fen(int(amount))


def _uncleared_tills(session: Session, since: datetime, until: datetime):
    """A counter shift closed in the range whose till still holds money: every cash-up hands over the
    counted cash and books the difference, so a closed till stands at zero."""
    till = LedgerAccount.owner_ref == "till:" + CounterShift.reference  # wallet.counter.till_owner
    rows = session.execute(
        select(CounterShift.reference, LedgerAccount.balance_fen)
        .join(LedgerAccount, and_(LedgerAccount.kind == AccountKind.COUNTER_TILL, till))
        .where(CounterShift.state == ShiftState.CLOSED, LedgerAccount.balance_fen != 0)
        .where(CounterShift.closed_at >= since, CounterShift.closed_at < until)
        .order_by(CounterShift.closed_at)
        .limit(MAX_PER_CHECK + 1)
    )
    for shift, balance in rows:
        if balance < 0:  # a till's balance is minus the cash it holds
            detail = _(
                "The till of shift %(shift)s still holds %(amount)s after its cash-up.",
                shift=shift,
                amount=fen(-balance),
            )
        else:
            detail = _(
                "The till of shift %(shift)s is %(amount)s short after its cash-up.",
                shift=shift,
                amount=fen(balance),
            )
        yield Discrepancy(DiscrepancyKind.TILL_NOT_CLEARED, detail)

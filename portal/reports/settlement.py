"""Daily settlement: for each agency and Beijing business day, what the ledger credited it (payments)
and debited it (refunds), and a payout of the difference, made once per agency and day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.agencies.services import all_agencies
from portal.audit.services import record
from portal.clock import business_day, day_bounds
from portal.db import utcnow
from portal.errors import NotFound, PortalError
from portal.payments.models import Payment
from portal.receipts.models import Receipt
from portal.reports.models import Settlement
from portal.wallet.models import AccountKind, Entry, LedgerAccount, Transfer, TransferKind
from portal.wallet.owners import agency_owner
from portal.wallet.services import WalletService

# A payment written at 23:59:59.9 may commit a moment after midnight: a day is settled only once it
# has been over for this long, so nothing of it can still arrive.
SETTLEMENT_DELAY = timedelta(minutes=5)
STATEMENT_MAX_LINES = 2000
# Money in: payments, and campaigns' discounts (the part of a bill a campaign paid); money out:
# refunds, and the campaign's share of a refund going back to its budget.
COLLECTED_KINDS = (TransferKind.PAYMENT, TransferKind.DISCOUNT)
CAMPAIGN_KINDS = (TransferKind.DISCOUNT, TransferKind.DISCOUNT_RETURN)
SETTLED_KINDS = (*COLLECTED_KINDS, TransferKind.REFUND, TransferKind.DISCOUNT_RETURN)


@dataclass(frozen=True)
class DayFigures:
    agency: Agency
    day: date
    collected_fen: int = 0
    refunded_fen: int = 0
    payments_count: int = 0
    refunds_count: int = 0
    settlement: Settlement | None = None

    @property
    def owed_fen(self) -> int:
        return self.collected_fen - self.refunded_fen


def can_settle(day: date, now: datetime | None = None) -> bool:
    return (now or utcnow()) >= day_bounds(day)[1] + SETTLEMENT_DELAY


def last_settleable_day(now: datetime | None = None) -> date:
    return business_day((now or utcnow()) - SETTLEMENT_DELAY) - timedelta(days=1)


def day_overview(session: Session, day: date) -> list[DayFigures]:
    """Every agency's figures for the day, from the ledger, with its settlement if it was made."""
    start, end = day_bounds(day)
    collected = Transfer.kind.in_(COLLECTED_KINDS)
    rows = session.execute(
        select(
            LedgerAccount.owner_ref,
            func.sum(case((collected, Entry.amount_fen), else_=0)),
            func.sum(case((collected, 0), else_=-Entry.amount_fen)),
            func.count(case((Transfer.kind == TransferKind.PAYMENT, 1))),
            func.count(case((Transfer.kind == TransferKind.REFUND, 1))),
        )
        .select_from(Entry)
        .join(Transfer, Transfer.id == Entry.transfer_id)
        .join(LedgerAccount, LedgerAccount.id == Entry.account_id)
        .where(
            LedgerAccount.kind == AccountKind.AGENCY_SETTLEMENT,
            Transfer.kind.in_(SETTLED_KINDS),
            Entry.created_at >= start,
            Entry.created_at < end,
        )
        .group_by(LedgerAccount.owner_ref)
    ).all()
    figures = {owner: [int(value or 0) for value in values] for owner, *values in rows}
    settled = {
        row.agency_id: row
        for row in session.scalars(select(Settlement).where(Settlement.business_day == day))
    }
    return [
        DayFigures(
            agency, day, *figures.get(agency_owner(agency.code), ()), settlement=settled.get(agency.id)
        )
        for agency in all_agencies(session)
    ]


def settle(session: Session, wallet: WalletService, staff: User, agency_code: str, day: date) -> Settlement:
    """Settles the agency's day once: a second run, or a colleague's at the same moment, gets the first
    settlement back and moves nothing."""
    if not can_settle(day):
        raise PortalError(_("A day can be settled once it is over (Beijing time)."), field="day")
    figures = next((f for f in day_overview(session, day) if f.agency.code == agency_code), None)
    if figures is None:
        raise NotFound(_("There is no such agency."))
    if figures.settlement is not None:
        return figures.settlement
    settlement = Settlement(
        agency_id=figures.agency.id,
        business_day=day,
        collected_fen=figures.collected_fen,
        refunded_fen=figures.refunded_fen,
        payout_fen=figures.owed_fen,
        payments_count=figures.payments_count,
        refunds_count=figures.refunds_count,
        settled_by=staff.id,
    )
    try:
        with session.begin_nested():
            session.add(settlement)
            session.flush()  # the unique (agency, day) pair decides between two runs at the same moment
    except IntegrityError:
        return _settlement_of(session, figures.agency.id, day)
    if figures.owed_fen:
        result = wallet.pay_out_agency(
            agency_owner(agency_code),
            figures.owed_fen,
            idempotency_key=f"settlement:{agency_code}:{day.isoformat()}",
            description=f"settlement {agency_code} {day.isoformat()}",
        )
        settlement.transfer_reference = result.reference
    record(
        session,
        f"user:{staff.id}",
        "settlement.made",
        f"agency:{agency_code}",
        day=day.isoformat(),
        payout_fen=figures.owed_fen,
        transfer=settlement.transfer_reference,
    )
    return settlement


def _settlement_of(session: Session, agency_id: int, day: date) -> Settlement:
    return session.scalars(
        select(Settlement).where(Settlement.agency_id == agency_id, Settlement.business_day == day)
    ).one()


def settlement_for_statement(session: Session, staff: User, settlement_id: int) -> Settlement:
    """The settlement whose statement is downloaded; the download is written to the audit log."""
    settlement = session.get(Settlement, settlement_id)
    if settlement is None:
        raise NotFound(_("There is no such settlement."))
    record(session, f"user:{staff.id}", "report.export", f"settlement:{settlement.id}", format="pdf", rows=1)
    return settlement


def statement_lines(session: Session, settlement: Settlement) -> tuple[list[dict], bool]:
    """The ledger movements the settlement sums up (the first STATEMENT_MAX_LINES), each with the
    payment it belongs to; and whether more were left out."""
    start, end = day_bounds(settlement.business_day)
    account = session.scalar(
        select(LedgerAccount.id).where(
            LedgerAccount.kind == AccountKind.AGENCY_SETTLEMENT,
            LedgerAccount.owner_ref == agency_owner(settlement.agency.code),
        )
    )
    paid = select(Payment.reference).where(Payment.transfer_reference == Transfer.reference)
    refunded = (
        select(Payment.reference)
        .join(Receipt, Receipt.payment_id == Payment.id)
        .where(Receipt.transfer_reference == Transfer.reference)
    )
    rows = session.execute(
        select(
            Entry.created_at,
            Transfer.kind,
            Transfer.reference,
            Entry.amount_fen,
            func.coalesce(
                paid.limit(1).scalar_subquery(),
                refunded.limit(1).scalar_subquery(),
                # a campaign's transfers name their payment in the description
                case((Transfer.kind.in_(CAMPAIGN_KINDS), Transfer.description)),
            ),
        )
        .join(Transfer, Transfer.id == Entry.transfer_id)
        .where(
            Entry.account_id == account,
            Transfer.kind.in_(SETTLED_KINDS),
            Entry.created_at >= start,
            Entry.created_at < end,
        )
        .order_by(Entry.id)
        .limit(STATEMENT_MAX_LINES + 1)
    ).all()
    lines = [
        {"at": at, "kind": kind.value, "transfer": reference, "amount_fen": amount, "payment": payment or ""}
        for at, kind, reference, amount, payment in rows[:STATEMENT_MAX_LINES]
    ]
    return lines, len(rows) > STATEMENT_MAX_LINES

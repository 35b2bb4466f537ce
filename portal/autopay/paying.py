"""Auto-pay of a saved account's bills from the wallet, within a monthly cap.

The worker pays a bill on its due date minus AUTOPAY_DAYS_BEFORE, only after the due reminder went out
in an earlier scan, through payments.services.pay() like a manual payment (receipt, outbox, audit)
with an idempotency key derived from the account and bill: a retry or a second worker gets the first
payment back. A refusal (balance, limits, cap, frozen wallet, risk block) is told to the resident once
and that bill is never tried again, so a failure can never turn into a second payment."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.agencies.base import AgencyUnavailable, BillView
from portal.audit.services import record
from portal.autopay.models import AutopaySetting
from portal.autopay.services import month_spent, pay_day, payment_key
from portal.bills.models import SavedAccount
from portal.bills.selection import Selection
from portal.bills.services import OUTSTANDING, find_agency, lookup
from portal.clock import aware, business_day
from portal.db import Database
from portal.errors import PortalError, ValidationFailed
from portal.notify import services as notices
from portal.notify.context import acting_session
from portal.notify.models import Notification
from portal.payments import checkout
from portal.payments import services as payments
from portal.payments.models import Payment, PaymentChannel
from portal.screening import Blocked
from portal.wallet.errors import WalletError
from portal.wallet.factory import wallet_service
from portal.wallet.resident import ensure_wallet

WALLET_REASONS = {
    "insufficient_funds": "balance",
    "per_payment_limit": "limit",
    "daily_limit": "limit",
    "wallet_frozen": "frozen",
}
log = logging.getLogger("portal.autopay")


def run(database: Database, scan_started: datetime) -> int:
    """One auto-pay scan: every enabled account's bills due for paying; returns how many were paid.
    Bills whose reminder went out less than AUTOPAY_NOTICE_MINUTES ago wait for a later scan."""
    with database.sessionmaker() as session:
        accounts = session.scalars(
            select(SavedAccount)
            .join(AutopaySetting, AutopaySetting.saved_account_id == SavedAccount.id)
            .join(User, User.id == SavedAccount.user_id)
            .where(AutopaySetting.enabled.is_(True), User.is_active.is_(True))
            .order_by(SavedAccount.id)
        ).all()
        since = dict(session.execute(select(AutopaySetting.saved_account_id, AutopaySetting.since)).all())
        rows = [(account.id, account.agency.code, account.query, since[account.id]) for account in accounts]
    paid = 0
    today = business_day(scan_started)
    for account_id, code, values, first_day in rows:
        for bill in _due_bills(database, code, values, first_day, today):
            try:
                paid += _pay_bill(database, account_id, bill, scan_started) is not None
            except Exception:  # one account's trouble (a deadlock, bad data) must not stop the others
                log.exception(
                    "auto-pay of bill %s of account %s failed; tried again next scan",
                    bill.bill_id,
                    account_id,
                )
    return paid


def _due_bills(database: Database, code: str, values: dict, since: date, today: date) -> list[BillView]:
    with database.sessionmaker() as session, acting_session(session):
        found = find_agency(session, code)
        if found is None:
            return []
        try:
            bills = lookup(found[1], values)
        except AgencyUnavailable:
            log.info("auto-pay: agency %s unavailable; its bills wait for the next scan", code)
            return []
    return [
        bill
        for bill in bills
        if bill.status in OUTSTANDING and bill.due_date and since <= bill.due_date and pay_day(bill) <= today
    ]


def _pay_bill(database: Database, account_id: int, bill: BillView, scan_started: datetime) -> Payment | None:
    """Pay one bill in one transaction, or record why not (once). None when nothing was paid."""
    quoted = _quote(database, account_id, bill)
    if quoted is None:
        return None
    quote, amounts = quoted
    with database.write_transaction() as session, acting_session(session):
        setting = session.scalar(
            select(AutopaySetting)
            .where(AutopaySetting.saved_account_id == account_id, AutopaySetting.enabled.is_(True))
            .with_for_update(skip_locked=True)  # another worker has this account: it pays, we skip
        )
        if setting is None or not _ready(session, setting, bill, scan_started):
            return None
        account = session.get(SavedAccount, account_id)
        user = session.get(User, setting.user_id)
        spent = month_spent(session, user.id, account_id, business_day(scan_started))
        if spent + sum(amounts) > setting.monthly_cap_fen:
            _failed(session, account, bill, "cap", setting.monthly_cap_fen)
            return None
        return _pay(session, user, account, quote, amounts, setting)


def _quote(database: Database, account_id: int, bill: BillView) -> tuple[checkout.Quote, list[int]] | None:
    """The agency asked for the bill now, outside any write transaction (a slow agency must not hold the
    database's write lock); pay() claims the bill again under its own locks, as a manual confirm does."""
    with database.sessionmaker() as session, acting_session(session):
        account = session.get(SavedAccount, account_id)
        user = session.get(User, account.user_id) if account is not None else None
        if account is None or user is None:
            return None
        key = payment_key(account_id, bill.agency_code, bill.bill_id)
        selection = Selection(bill.agency_code, tuple(sorted(account.query.items())), bill.bill_id)
        try:
            quote = checkout.quote(session, [selection], user.locale or "zh_CN", key=key)
            return quote, payments.chosen_amounts(quote, {})
        except AgencyUnavailable:
            return None  # asked again at the next scan; nothing was tried
        except ValidationFailed:
            return None  # the bill is gone or not open any more: nothing to pay


def _ready(session: Session, setting: AutopaySetting, bill: BillView, scan_started: datetime) -> bool:
    """Not tried before (paid or refused), and reminded at least AUTOPAY_NOTICE_MINUTES before this
    scan: the resident has time to turn auto-pay off or pay by hand."""
    account_id = setting.saved_account_id
    key = payment_key(account_id, bill.agency_code, bill.bill_id)
    if session.scalar(
        select(Payment.id).where(Payment.user_id == setting.user_id, Payment.idempotency_key == key)
    ):
        return False
    keys = (f"due:{account_id}:{bill.bill_id}", f"autopay-failed:{account_id}:{bill.bill_id}")
    notes = dict(
        session.execute(
            select(Notification.dedupe_key, Notification.sent_at).where(Notification.dedupe_key.in_(keys))
        ).all()
    )
    reminded = notes.get(keys[0])
    notice = timedelta(minutes=current_app.config["AUTOPAY_NOTICE_MINUTES"])
    # from when the reminder went out (sent_at), not when it was queued: a stalled notifier delays payment
    return keys[1] not in notes and reminded is not None and aware(reminded) <= scan_started - notice


def _pay(session: Session, user: User, account: SavedAccount, quote, amounts, setting) -> Payment | None:
    wallet = wallet_service(session)
    bill = quote.lines[0].bill
    savepoint = session.begin_nested()
    try:
        ensure_wallet(wallet, user)
        payment = payments.pay(session, wallet, user, quote, amounts, channel=PaymentChannel.AUTOPAY)
    except (payments.BillAlreadyPaid, payments.BillBeingConfirmed):
        savepoint.rollback()
        return None  # paid by the resident meanwhile
    except Blocked:
        savepoint.commit()  # refused before anything was written but its flag, which the officers need
        _failed(session, account, bill, "risk", setting.monthly_cap_fen)
        return None
    except PortalError as error:
        savepoint.rollback()
        reason = WALLET_REASONS.get(error.code, "other") if isinstance(error, WalletError) else "other"
        _failed(session, account, bill, reason, setting.monthly_cap_fen)
        return None
    savepoint.commit()
    log.info("auto-pay: account %s bill %s paid by %s", account.id, bill.bill_id, payment.reference)
    return payment


def _failed(session: Session, account: SavedAccount, bill: BillView, reason: str, cap_fen: int) -> None:
    """Tell the resident once; the notice also marks the bill as not to be tried again."""
    params = {
        "nickname": account.nickname,
        "bill": bill.bill_id,
        "amount_fen": bill.total_fen,
        "reason": reason,
        "cap_fen": cap_fen,
    }
    key = f"autopay-failed:{account.id}:{bill.bill_id}"
    if notices.queue(session, account.user_id, "autopay_failed", key, params):
        record(
            session,
            "worker",
            "autopay.failed",
            f"saved_account:{account.id}",
            bill=bill.bill_id,
            reason=reason,
        )

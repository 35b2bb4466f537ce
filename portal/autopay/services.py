"""Auto-pay from the resident's side: switching it on (with a monthly cap) or off, and what it spent."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.agencies.base import BillView
from portal.audit.services import record
from portal.autopay.models import AutopaySetting
from portal.bills.models import SavedAccount
from portal.clock import SHANGHAI, business_day
from portal.db import utcnow
from portal.errors import NotFound, ValidationFailed
from portal.payments.models import Payment, PaymentChannel, PaymentState

MAX_CAP_FEN = 10_000_000  # ¥100,000 a month: above every wallet tier's limits anyway


def account_of(session: Session, user: User, account_id: int) -> tuple[SavedAccount, AutopaySetting | None]:
    """A saved account of this resident and its auto-pay setting; NotFound for anyone else's."""
    account = session.get(SavedAccount, account_id)
    if account is None or account.user_id != user.id:
        raise NotFound(_("That saved account does not exist."))
    setting = session.scalar(select(AutopaySetting).where(AutopaySetting.saved_account_id == account.id))
    return account, setting


def settings_of(session: Session, user: User) -> dict[int, AutopaySetting]:
    """Saved account id -> auto-pay setting, for the Saved accounts page."""
    rows = session.scalars(select(AutopaySetting).where(AutopaySetting.user_id == user.id))
    return {row.saved_account_id: row for row in rows}


def save_setting(session: Session, user: User, account_id: int, enabled: bool, cap_fen: int | None):
    """Switch auto-pay on (with a cap) or off; audited. Switching on again starts from today."""
    account, setting = account_of(session, user, account_id)
    if enabled and not cap_fen:
        raise ValidationFailed(_("Enter a monthly cap."), field="monthly_cap")
    if cap_fen is not None and not 0 < cap_fen <= MAX_CAP_FEN:
        raise ValidationFailed(_("Enter a monthly cap of at most ¥100,000.00."), field="monthly_cap")
    today = business_day(utcnow())
    if setting is None:
        setting = AutopaySetting(saved_account_id=account.id, user_id=user.id, since=today)
        session.add(setting)
    if enabled and not setting.enabled:
        setting.since = today
    setting.enabled = enabled
    setting.monthly_cap_fen = cap_fen or setting.monthly_cap_fen or MAX_CAP_FEN
    setting.updated_at = utcnow()
    details = {"enabled": enabled, "monthly_cap_fen": setting.monthly_cap_fen}
    record(session, f"user:{user.id}", "autopay.changed", f"saved_account:{account.id}", **details)
    return setting


def payment_key(account_id: int, agency_code: str, bill_id: str) -> str:
    """The same key for one bill of one account, whichever worker or retry pays it (fits 64 characters)."""
    digest = hashlib.sha256(f"{agency_code}\0{bill_id}".encode()).hexdigest()[:32]
    return f"autopay:{account_id}:{digest}"


def pay_day(bill: BillView) -> date | None:
    if bill.due_date is None:
        return None
    return bill.due_date - timedelta(days=current_app.config["AUTOPAY_DAYS_BEFORE"])


def month_spent(session: Session, user_id: int, account_id: int, today: date) -> int:
    """Auto-paid from this account in today's Beijing month, less what was refunded."""
    first = today.replace(day=1)
    start = datetime(first.year, first.month, 1, tzinfo=SHANGHAI)
    end = datetime(first.year + first.month // 12, first.month % 12 + 1, 1, tzinfo=SHANGHAI)
    query = select(func.coalesce(func.sum(Payment.total_fen - Payment.refunded_fen), 0)).where(
        Payment.user_id == user_id,
        Payment.channel == PaymentChannel.AUTOPAY,
        Payment.idempotency_key.like(f"autopay:{account_id}:%"),
        Payment.state != PaymentState.PENDING,
        Payment.created_at >= start,
        Payment.created_at < end,
    )
    return session.scalar(query) or 0


@dataclass(frozen=True)
class AutopayPage:
    """What the auto-pay page of one saved account shows."""

    account: SavedAccount
    setting: AutopaySetting | None
    month_spent_fen: int
    days_before: int


def page_of(session: Session, user: User, account_id: int) -> AutopayPage:
    """NotFound for an account that is not this resident's."""
    account, setting = account_of(session, user, account_id)
    spent = month_spent(session, user.id, account.id, business_day(utcnow()))
    return AutopayPage(account, setting, spent, current_app.config["AUTOPAY_DAYS_BEFORE"])

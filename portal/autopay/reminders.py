"""The reminder scan: each outstanding bill of a saved account due within REMINDER_DAYS_BEFORE days, for
residents who want reminders or have auto-pay on the account. Auto-pay waits for it (see paying). Safe
with several workers: each reminder is keyed by account and bill, so a second worker inserts nothing."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select

from portal.accounts.models import User
from portal.agencies.base import AgencyUnavailable, BillView
from portal.agencies.models import Agency
from portal.authz import Role
from portal.autopay.models import AutopaySetting
from portal.autopay.services import pay_day
from portal.bills.models import SavedAccount
from portal.bills.services import OUTSTANDING, find_agency, lookup
from portal.clock import business_day
from portal.db import Database
from portal.notify.context import acting_session
from portal.notify.models import NotificationPreference
from portal.notify.services import queue

log = logging.getLogger("portal.notify")


def remind(database: Database, now: datetime, agency_id: int | None = None) -> int:
    """A reminder for each outstanding bill of a saved account (at one agency, or at all) due within
    REMINDER_DAYS_BEFORE days (Beijing days), for residents who want reminders or have auto-pay on the
    account; returns how many were queued."""
    today = business_day(now)
    horizon = today + timedelta(days=current_app.config["REMINDER_DAYS_BEFORE"])
    queued = 0
    for account in _accounts_to_watch(database, agency_id):
        for bill in _bills(database, account):
            if bill.status in OUTSTANDING and bill.due_date and today <= bill.due_date <= horizon:
                queued += _queue_reminder(database, account, bill, today)
    return queued


def _accounts_to_watch(database: Database, agency_id: int | None) -> list[dict]:
    wants = or_(NotificationPreference.reminders.is_(None), NotificationPreference.reminders.is_(True))
    autopay_on = and_(AutopaySetting.enabled.is_(True), AutopaySetting.since.is_not(None))
    query = (
        select(SavedAccount, Agency, AutopaySetting.enabled, AutopaySetting.since)
        .join(Agency, Agency.id == SavedAccount.agency_id)
        .join(User, User.id == SavedAccount.user_id)
        .outerjoin(NotificationPreference, NotificationPreference.user_id == User.id)
        .outerjoin(AutopaySetting, AutopaySetting.saved_account_id == SavedAccount.id)
        .where(User.is_active, User.role == Role.RESIDENT, or_(wants, autopay_on))
        .order_by(SavedAccount.id)
    )
    if agency_id is not None:
        query = query.where(SavedAccount.agency_id == agency_id)
    with database.sessionmaker() as session:
        return [
            {
                "id": account.id,
                "user_id": account.user_id,
                "nickname": account.nickname,
                "code": agency.code,
                "agency_zh": agency.name_zh,
                "agency_en": agency.name_en,
                "values": account.query,  # sensitive values decrypted here, kept in memory only
                "autopay_since": since if enabled else None,
            }
            for account, agency, enabled, since in session.execute(query)
        ]


def _bills(database: Database, account: dict) -> list[BillView]:
    """The account's bills from its agency now (outside any transaction); none when it does not answer."""
    with database.sessionmaker() as session, acting_session(session):
        found = find_agency(session, account["code"])
        if found is None:
            return []
        try:
            return lookup(found[1], account["values"])
        except AgencyUnavailable:
            log.info("reminders: agency %s unavailable; asked again at the next scan", account["code"])
            return []


def _queue_reminder(database: Database, account: dict, bill: BillView, today: date) -> bool:
    params = {
        "nickname": account["nickname"],
        "agency_zh": account["agency_zh"],
        "agency_en": account["agency_en"],
        "bill": bill.bill_id,
        "amount_fen": bill.total_fen,
        "due": bill.due_date.isoformat(),
    }
    since = account["autopay_since"]
    if since is not None and since <= bill.due_date:
        # the earliest is today: auto-pay waits AUTOPAY_NOTICE_MINUTES after this reminder
        params["autopay_on"] = max(pay_day(bill), today).isoformat()
    key = f"due:{account['id']}:{bill.bill_id}"
    with database.write_transaction() as session:
        return queue(session, account["user_id"], "due", key, params)

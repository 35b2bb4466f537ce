"""Rolling a Beijing day's raw rows up into the analytics tables (portal.analytics.models).

``roll_up_day`` deletes the day's rows and writes them again from payments, lines, ledger top-ups,
accounts and the audit log, in one transaction: re-run for a day, it gives the same rows. The worker's
scan calls ``keep_up``: today and yesterday every time (payments keep arriving; a payment just before
midnight is seen after it), every stale day (a refund of one of its payments), and the oldest days
never rolled up since the first payment; then the campaigns still followed (portal.analytics.campaigns).
What a day costs to roll up grows with that day's payments; the week's and month's distinct payers and
the month's cohort cells read that week's and month's payments.

Definitions (docs/analytics.md): a payment counts once it moved money (any state but pending), on the
Beijing day it was paid; a bill was paid late when it carried a late fee; days from issue to payment
are known for bills the portal holds (loaded by a clerk), from the day it received them.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import delete, distinct, func, insert, select
from sqlalchemy.orm import Session, aliased

from portal.accounts.models import User
from portal.analytics import campaigns
from portal.analytics.models import (
    AdoptionDay,
    AgencyDay,
    ChannelDay,
    DelayDay,
    HourDay,
    PeriodPayers,
    RolledDay,
)
from portal.audit.models import AuditEvent
from portal.authz import Role
from portal.bills.models import Bill
from portal.clock import SHANGHAI, aware, business_day, day_bounds
from portal.db import Database, utcnow
from portal.payments.models import Payment, PaymentItem, PaymentState
from portal.promotions.models import Campaign
from portal.sql import dialect_insert
from portal.wallet.models import AccountKind, Entry, LedgerAccount, Transfer, TransferKind

log = logging.getLogger("portal.analytics")
DAY_TABLES = (AdoptionDay, ChannelDay, AgencyDay, DelayDay, HourDay)
MAX_DAYS_PER_SCAN = 31  # a first run over years of history catches up a month per scan
DAY_LOCK_BASE = 23_000_000_000  # + a day's ordinal: the advisory lock of that day's roll-up
MONTH_LOCK_BASE = 23_100_000_000  # + the ordinal of a month's first day: its period figures' lock


def _moved_money(since: datetime, until: datetime):
    return (Payment.paid_at >= since, Payment.paid_at < until, Payment.state != PaymentState.PENDING)


def roll_up_day(session: Session, day: date, periods: bool = True) -> None:
    """The day's roll-up rows, written again from the raw rows; with ``periods``, its week's and month's
    distinct payers and its month's cohort cells too. The caller commits.

    Two workers rolling up one day take turns on a transaction-scoped advisory lock (PostgreSQL; SQLite
    writes one transaction at a time anyway), not on the day's analytics_days row: a refund marks that
    row stale from inside its own transaction, which must never wait for a roll-up. A refund that
    commits while the roll-up runs has moved ``stale_marks`` on by its end, so the day stays stale."""
    _lock(session, DAY_LOCK_BASE + day.toordinal())
    seen = session.scalar(select(RolledDay.stale_marks).where(RolledDay.day == day)) or 0
    since, until = day_bounds(day)
    for table in DAY_TABLES:
        session.execute(delete(table).where(table.day == day))
    payments = session.execute(
        select(
            Payment.id,
            Payment.user_id,
            Payment.channel,
            Payment.total_fen,
            Payment.refunded_fen,
            Payment.paid_at,
        ).where(*_moved_money(since, until))
    ).all()
    # Each line carries its payment's payer: under READ COMMITTED a payment committed between the two
    # statements is in this one only.
    lines = session.execute(
        select(
            PaymentItem.payment_id,
            Payment.user_id,
            PaymentItem.agency_id,
            PaymentItem.late_fee_fen,
            PaymentItem.amount_fen,
            Bill.created_at,
        )
        .join(Payment, PaymentItem.payment_id == Payment.id)
        .outerjoin(Bill, (Bill.agency_id == PaymentItem.agency_id) & (Bill.bill_no == PaymentItem.bill_id))
        .where(*_moved_money(since, until))
    ).all()
    _write_adoption(session, day, since, until, payments)
    _write_channels(session, day, payments, lines)
    _write_agencies(session, day, lines)
    _write_hours(session, day, payments)
    if periods:
        write_periods(session, day)
    statement = dialect_insert(session)(RolledDay).values(
        day=day, rolled_at=utcnow(), stale=False, stale_marks=0
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["day"],
            set_={"rolled_at": statement.excluded.rolled_at, "stale": RolledDay.stale_marks != seen},
        )
    )


def write_periods(session: Session, day: date) -> None:
    """The distinct payers of the day's week and month, and its month's cohort cells (two workers
    writing one month's take turns on its advisory lock)."""
    _lock(session, MONTH_LOCK_BASE + month_start(day).toordinal())
    _write_period_payers(session, day)
    campaigns.write_cohorts(session, month_start(day))


def _lock(session: Session, key: int) -> None:
    """A transaction-scoped advisory lock on PostgreSQL; SQLite writes one transaction at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(key)))


def _payer(row) -> str:
    """Whom a payment (or a line of it) counts as: its resident, or (a counter payment, which has
    none) the payment itself."""
    if row.user_id is not None:
        return f"u{row.user_id}"
    return f"p{row.payment_id if hasattr(row, 'payment_id') else row.id}"


def _write_adoption(session: Session, day: date, since: datetime, until: datetime, payments) -> None:
    residents = [row for row in payments if row.user_id is not None]
    payers = {row.user_id for row in residents}
    firsts = campaigns.first_payments(session, select(Payment.user_id).where(Payment.user_id.in_(payers)))
    first_payers = sum(1 for user in payers if user in firsts and firsts[user] >= since)
    top_ups = session.execute(
        select(Entry.account_id, Entry.amount_fen)
        .join(Transfer, Entry.transfer_id == Transfer.id)
        .join(LedgerAccount, Entry.account_id == LedgerAccount.id)
        .where(Transfer.kind == TransferKind.TOP_UP, LedgerAccount.kind == AccountKind.RESIDENT_WALLET)
        .where(Transfer.created_at >= since, Transfer.created_at < until, Entry.amount_fen > 0)
    ).all()
    wallets = {row.account_id for row in top_ups}
    funded_before = set()
    if wallets:
        before = aliased(Transfer)
        funded_before = set(
            session.scalars(
                select(Entry.account_id)
                .distinct()
                .join(before, Entry.transfer_id == before.id)
                .where(
                    Entry.account_id.in_(wallets),
                    before.kind == TransferKind.TOP_UP,
                    before.created_at < since,
                )
            )
        )
    registrations = session.scalar(
        select(func.count()).where(
            User.role == Role.RESIDENT, User.created_at >= since, User.created_at < until
        )
    )
    verified = session.scalar(
        select(func.count(distinct(AuditEvent.subject))).where(
            AuditEvent.action == "identity.verified", AuditEvent.at >= since, AuditEvent.at < until
        )
    )
    session.execute(
        insert(AdoptionDay).values(
            day=day,
            registrations=registrations or 0,
            verified=verified or 0,
            wallets_funded=len(wallets - funded_before),
            top_ups=len(top_ups),
            top_up_fen=sum(row.amount_fen for row in top_ups),
            top_up_residents=len(wallets),
            payments=len(residents),
            payment_fen=sum(row.total_fen - row.refunded_fen for row in residents),
            payers=len(payers),
            first_payers=first_payers,
        )
    )


def _write_channels(session: Session, day: date, payments, lines) -> None:
    line_count = Counter(line.payment_id for line in lines)
    cells: dict = defaultdict(
        lambda: {
            "payments": 0,
            "lines": 0,
            "multi_bill": 0,
            "amount_fen": 0,
            "refunded_fen": 0,
            "payers": set(),
            "refunded": set(),
            "several": set(),
        }
    )
    for row in payments:
        cell = cells[row.channel]
        cell["payments"] += 1
        cell["lines"] += line_count[row.id]
        cell["multi_bill"] += line_count[row.id] > 1
        cell["amount_fen"] += row.total_fen
        cell["refunded_fen"] += row.refunded_fen
        cell["payers"].add(_payer(row))
        if row.refunded_fen:
            cell["refunded"].add(_payer(row))
        if line_count[row.id] > 1:
            cell["several"].add(_payer(row))
    _insert(
        session,
        ChannelDay,
        [
            {
                "day": day,
                "channel": channel,
                **{k: v for k, v in cell.items() if not isinstance(v, set)},
                "residents": len(cell["payers"]),
                "refund_residents": len(cell["refunded"]),
                "multi_bill_residents": len(cell["several"]),
            }
            for channel, cell in cells.items()
        ],
    )


def _write_agencies(session: Session, day: date, lines) -> None:
    agencies: dict = defaultdict(
        lambda: {
            "lines": 0,
            "late_lines": 0,
            "amount_fen": 0,
            "payers": set(),
            "waited": set(),
            "late": set(),
        }
    )
    delays: Counter = Counter()
    for line in lines:
        cell = agencies[line.agency_id]
        payer = _payer(line)
        cell["lines"] += 1
        cell["amount_fen"] += line.amount_fen
        cell["payers"].add(payer)
        if line.late_fee_fen > 0:
            cell["late_lines"] += 1
            cell["late"].add(payer)
        if line.created_at is not None:  # a bill the portal holds: it knows when the bill arrived
            delays[(line.agency_id, max((day - business_day(aware(line.created_at))).days, 0))] += 1
            cell["waited"].add(payer)
    _insert(
        session,
        AgencyDay,
        [
            {
                "day": day,
                "agency_id": agency,
                "lines": c["lines"],
                "late_lines": c["late_lines"],
                "amount_fen": c["amount_fen"],
                "residents": len(c["payers"]),
                "waited_residents": len(c["waited"]),
                "late_residents": len(c["late"]),
            }
            for agency, c in agencies.items()
        ],
    )
    _insert(
        session,
        DelayDay,
        [
            {"day": day, "agency_id": agency, "delay_days": waited, "lines": n}
            for (agency, waited), n in delays.items()
        ],
    )


def _write_hours(session: Session, day: date, payments) -> None:
    hours: dict = defaultdict(lambda: {"payments": 0, "payers": set()})
    for row in payments:
        cell = hours[aware(row.paid_at).astimezone(SHANGHAI).hour]
        cell["payments"] += 1
        cell["payers"].add(_payer(row))
    _insert(
        session,
        HourDay,
        [
            {"day": day, "hour": hour, "payments": c["payments"], "residents": len(c["payers"])}
            for hour, c in hours.items()
        ],
    )


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def period_end(grain: str, start: date) -> date:
    """The first day after the period."""
    if grain == "week":
        return start + timedelta(days=7)
    return (start + timedelta(days=32)).replace(day=1)


def _write_period_payers(session: Session, day: date) -> None:
    for grain, start in (("week", week_start(day)), ("month", month_start(day))):
        since, until = day_bounds(start)[0], day_bounds(period_end(grain, start))[0]
        payers = session.scalar(
            select(func.count(distinct(Payment.user_id))).where(
                Payment.user_id.is_not(None), *_moved_money(since, until)
            )
        )
        values = {"grain": grain, "start": start, "payers": payers or 0}
        _upsert(session, PeriodPayers, values, ["grain", "start"], update_with={"payers": payers or 0})


def _insert(session: Session, table, rows: list[dict]) -> None:
    if rows:
        session.execute(insert(table), rows)


def _upsert(session: Session, table, values: dict, keys: list[str], update_with: dict | None) -> None:
    """INSERT ... ON CONFLICT: DO NOTHING, or DO UPDATE with ``update_with``."""
    statement = dialect_insert(session)(table).values(**values)
    if update_with is None:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    else:
        statement = statement.on_conflict_do_update(index_elements=keys, set_=update_with)
    session.execute(statement)


def mark_stale(session: Session, days: Iterable[date]) -> None:
    """Days whose raw rows changed after their roll-up; the next scan rolls them up again. Quick: it
    never waits for a roll-up of the day (portal.analytics.rollup.roll_up_day)."""
    for day in sorted(set(days)):
        statement = dialect_insert(session)(RolledDay).values(
            day=day, rolled_at=None, stale=True, stale_marks=1
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["day"], set_={"stale": True, "stale_marks": RolledDay.stale_marks + 1}
            )
        )


def days_due(session: Session, now: datetime) -> list[date]:
    """Today, yesterday, the stale days, and the oldest days since the first payment never rolled up
    (a first run over years of history catches up MAX_DAYS_PER_SCAN days per scan)."""
    today = business_day(now)
    due = {today, today - timedelta(days=1)}
    due.update(session.scalars(select(RolledDay.day).where(RolledDay.stale.is_(True))))
    first = session.scalar(select(func.min(Payment.paid_at)))
    if first is not None:
        start = business_day(aware(first))
        rolled = set(
            session.scalars(
                select(RolledDay.day).where(RolledDay.day >= start, RolledDay.rolled_at.is_not(None))
            )
        )
        missing = (start + timedelta(days=n) for n in range((today - start).days + 1))
        due.update([day for day in missing if day not in rolled][:MAX_DAYS_PER_SCAN])
    return sorted(day for day in due if day <= today)


def keep_up(database: Database, now: datetime | None = None) -> int:
    """One transaction per day, so one bad day does not hold back the others (it is logged and tried
    again next scan); each week's and month's figures once, after their days; then the campaigns.
    Returns the days rolled up."""
    now = now or utcnow()
    with database.sessionmaker() as session:
        due = days_due(session, now)
    done = [
        day for day in due if _safely(database, f"day {day}", lambda s, day=day: roll_up_day(s, day, False))
    ]
    periods = {}
    for day in done:  # the last day of each week and each month rolled up stands for it
        periods[("week", week_start(day))] = day
        periods[("month", month_start(day))] = day
    for day in sorted(set(periods.values())):
        _safely(database, f"periods of {day}", lambda s, day=day: write_periods(s, day))
    with database.sessionmaker() as session:
        followed = [campaign.id for campaign in campaigns.campaigns_due(session, now)]
    for campaign_id in followed:
        _safely(
            database,
            f"campaign {campaign_id}",
            lambda s, campaign_id=campaign_id: campaigns.roll_up_campaign(
                s, s.get(Campaign, campaign_id), now
            ),
        )
    log.info("analytics: rolled up %d of %d day(s) and %d campaign(s)", len(done), len(due), len(followed))
    return len(done)


def _safely(database: Database, what: str, work) -> bool:
    try:
        with database.write_transaction() as session:
            work(session)
    except Exception:  # one failing day or campaign must not stop the others; the next scan tries again
        log.exception("analytics: rolling up %s failed", what)
        return False
    return True

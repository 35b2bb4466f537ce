"""The finance dashboard's figures: today's and this month's collections, agency confirmations still
pending, undelivered agency messages, the month's open reconciliation discrepancies and the disputes
still open (how many are overdue)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.clock import business_day
from portal.db import utcnow
from portal.outbox import OutboxMessage, OutboxState
from portal.payments.models import ItemState, PaymentItem
from portal.reports.collections import CollectionSummary, summarise
from portal.reports.disputes import DisputeFigures, dispute_figures
from portal.reports.filters import CollectionFilter
from portal.reports.reconciliation import Reconciliation, reconcile


@dataclass(frozen=True)
class Dashboard:
    today: date
    month: CollectionSummary
    today_net_fen: int
    today_lines: int
    pending_confirmations: int
    undelivered_messages: int
    reconciliation: Reconciliation
    disputes: DisputeFigures


def dashboard(session: Session, now: datetime | None = None) -> Dashboard:
    today = business_day(now or utcnow())
    first = today.replace(day=1)
    month = summarise(session, CollectionFilter(first, today))
    today_totals = month.by_day.get(today)
    pending = select(func.count()).where(PaymentItem.state == ItemState.AWAITING)
    undelivered = select(func.count()).where(OutboxMessage.state == OutboxState.DEAD)
    return Dashboard(
        today=today,
        month=month,
        today_net_fen=today_totals.net_fen if today_totals else 0,
        today_lines=today_totals.lines if today_totals else 0,
        pending_confirmations=session.scalar(pending) or 0,
        undelivered_messages=session.scalar(undelivered) or 0,
        reconciliation=reconcile(session, first, today, now),
        disputes=dispute_figures(session),
    )

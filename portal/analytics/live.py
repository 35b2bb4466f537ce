"""The operations overview as it stands now: payments of the last minutes, how long agencies take to
confirm, the outbox's depth and the agencies not answering. It reads the recent raw rows (bounded by
the last hour), not the roll-ups; figures about payments keep the under-10 rule.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.agencies.models import Agency
from portal.analytics.privacy import Figure
from portal.clock import aware
from portal.outbox import OutboxMessage, OutboxState
from portal.payments.models import CONFIRM_TOPIC, ItemState, Payment, PaymentItem, PaymentState

WINDOWS_MINUTES = (5, 15, 60)
LAG_WINDOW = timedelta(hours=1)
MAX_FAILING_READ = 500  # retried confirmations read to name their agencies: enough to name every one


@dataclass(frozen=True)
class Window:
    minutes: int
    payments: Figure
    amount_fen: Figure


@dataclass(frozen=True)
class Live:
    at: datetime
    windows: list[Window]
    awaiting: int  # bills paid whose agency has not confirmed yet
    oldest_awaiting_seconds: int | None
    lag_median_seconds: int | None  # paid to confirmed, bills confirmed in the last hour
    lag_max_seconds: int | None
    outbox_due: int  # messages waiting to be delivered
    outbox_retrying: int  # of those, ones that failed at least once
    outbox_dead: int
    disabled: list[str]  # agency codes switched off by an admin
    not_answering: list[str]  # agencies whose confirmations are being retried


def overview(session: Session, now: datetime) -> Live:
    since = now - timedelta(minutes=max(WINDOWS_MINUTES))
    recent = session.execute(
        select(Payment.user_id, Payment.id, Payment.total_fen, Payment.paid_at).where(
            Payment.paid_at >= since, Payment.paid_at <= now, Payment.state != PaymentState.PENDING
        )
    ).all()
    windows = []
    for minutes in WINDOWS_MINUTES:
        start = now - timedelta(minutes=minutes)
        rows = [row for row in recent if aware(row.paid_at) >= start]
        payers = {f"u{row.user_id}" if row.user_id is not None else f"p{row.id}" for row in rows}
        windows.append(
            Window(
                minutes, Figure(len(rows), len(payers)), Figure(sum(r.total_fen for r in rows), len(payers))
            )
        )
    awaiting, oldest = session.execute(
        select(func.count(), func.min(Payment.paid_at))
        .select_from(PaymentItem)
        .join(Payment, PaymentItem.payment_id == Payment.id)
        .where(PaymentItem.state == ItemState.AWAITING)
    ).one()
    lags = [
        (aware(confirmed) - aware(paid)).total_seconds()
        for confirmed, paid in session.execute(
            select(PaymentItem.confirmed_at, Payment.paid_at)
            .join(Payment, PaymentItem.payment_id == Payment.id)
            .where(PaymentItem.confirmed_at >= now - LAG_WINDOW)
        )
    ]
    depth = dict(
        session.execute(
            select(OutboxMessage.state, func.count())
            .group_by(OutboxMessage.state)
            .where(OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.DEAD]))
        ).all()
    )
    retrying = session.scalar(
        select(func.count()).where(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.attempts > 0)
    )
    failing_payloads = session.scalars(
        select(OutboxMessage.payload_json)
        .where(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.topic == CONFIRM_TOPIC)
        .where(OutboxMessage.attempts > 0)
        .limit(MAX_FAILING_READ)
    )
    failing = sorted({json.loads(payload).get("agency", "") for payload in failing_payloads} - {""})
    return Live(
        at=now,
        windows=windows,
        awaiting=awaiting,
        oldest_awaiting_seconds=None
        if oldest is None
        else max(int((now - aware(oldest)).total_seconds()), 0),
        lag_median_seconds=int(statistics.median(lags)) if lags else None,
        lag_max_seconds=int(max(lags)) if lags else None,
        outbox_due=depth.get(OutboxState.PENDING, 0),
        outbox_retrying=retrying or 0,
        outbox_dead=depth.get(OutboxState.DEAD, 0),
        disabled=list(
            session.scalars(select(Agency.code).where(Agency.is_enabled.is_(False)).order_by(Agency.code))
        ),
        not_answering=failing,
    )

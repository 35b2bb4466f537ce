"""What each channel (the portal's pages, auto-pay, visitors, service hall counters) collected over a
range of Beijing days: the figure settlement and reconciliation show beside their own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.clock import day_bounds
from portal.payments.models import Payment, PaymentChannel, PaymentState


@dataclass(frozen=True)
class ChannelFigures:
    channel: PaymentChannel
    payments: int
    collected_fen: int
    refunded_fen: int


def by_channel(session: Session, start: date, end: date) -> list[ChannelFigures]:
    """Payments paid on those days, by channel, in the channels' order; channels with none left out."""
    since, until = day_bounds(start)[0], day_bounds(end)[1]
    rows = session.execute(
        select(
            Payment.channel,
            func.count(),
            func.coalesce(func.sum(Payment.total_fen), 0),
            func.coalesce(func.sum(Payment.refunded_fen), 0),
        )
        .where(Payment.paid_at >= since, Payment.paid_at < until, Payment.state != PaymentState.PENDING)
        .group_by(Payment.channel)
    ).all()
    found = {channel: (count, int(total), int(refunded)) for channel, count, total, refunded in rows}
    return [ChannelFigures(channel, *found[channel]) for channel in PaymentChannel if channel in found]

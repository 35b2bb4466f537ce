"""What each channel (the portal's pages, auto-pay, visitors, service hall counters) collected over a
range of Beijing days, the cash counters found short or over at their cash-ups, and the counter
payments agencies refused, whose money the halls owe back: figures reconciliation shows beside its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.clock import day_bounds
from portal.counter.models import CounterPayment, CounterShift, ShiftState
from portal.payments.models import ItemState, Payment, PaymentChannel, PaymentItem, PaymentState


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


def cash_differences(session: Session, start: date, end: date) -> list[CounterShift]:
    """Shifts closed on those days whose counted cash was not what their payments took."""
    since, until = day_bounds(start)[0], day_bounds(end)[1]
    return list(
        session.scalars(
            select(CounterShift)
            .where(CounterShift.state == ShiftState.CLOSED)
            .where(CounterShift.closed_at >= since, CounterShift.closed_at < until)
            .where(CounterShift.counted_cash_fen != CounterShift.expected_cash_fen)
            .order_by(CounterShift.closed_at)
        )
    )


@dataclass(frozen=True)
class OwedBack:
    """A bill paid at a counter that its agency refused: the money waits for the hall to pay it back."""

    item: PaymentItem
    payment: Payment
    shift: CounterShift


def counter_refunds_due(session: Session, start: date, end: date) -> list[OwedBack]:
    """Counter payments paid on those days with a bill the agency refused (the worker moved its money
    to the counter refunds due account)."""
    since, until = day_bounds(start)[0], day_bounds(end)[1]
    rows = session.execute(
        select(PaymentItem, Payment, CounterShift)
        .join(Payment, PaymentItem.payment_id == Payment.id)
        .join(CounterPayment, CounterPayment.payment_id == Payment.id)
        .join(CounterShift, CounterPayment.shift_id == CounterShift.id)
        .where(Payment.channel == PaymentChannel.COUNTER, PaymentItem.state == ItemState.REJECTED)
        .where(PaymentItem.refunded_fen > 0, Payment.paid_at >= since, Payment.paid_at < until)
        .order_by(Payment.paid_at, PaymentItem.id)
    ).all()
    return [OwedBack(item, payment, shift) for item, payment, shift in rows]

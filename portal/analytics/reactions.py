"""What the analytics roll-ups do when a payment changes after its day was rolled up."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import events
from portal.analytics.rollup import mark_stale
from portal.clock import aware, business_day
from portal.payments.models import Payment


def payment_refunded(session: Session, event: events.PaymentRefunded | events.CounterPaymentOwedBack) -> None:
    """The payment's day is rolled up again by the worker's next scan, with the refund deducted (a
    finance refund, a bill the agency refused, or a counter payment's bill owed back at the hall)."""
    paid_at = session.scalar(select(Payment.paid_at).where(Payment.id == event.payment_id))
    if paid_at is not None:
        mark_stale(session, [business_day(aware(paid_at))])

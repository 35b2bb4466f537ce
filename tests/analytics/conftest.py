"""Payments written straight into the tables, at chosen Beijing times, so each figure of the analytics
module can be computed by hand; the roll-up reads them as it reads the payment service's rows."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

from portal.bills.models import Bill, StoredBillStatus
from portal.clock import SHANGHAI
from portal.payments.models import ItemState, Payment, PaymentChannel, PaymentItem, PaymentState

_numbers = itertools.count(1)


def beijing(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def pay(
    db,
    user,
    when: datetime,
    bills: list[tuple],  # (agency, amount_fen, late_fee_fen, issued day or None: a bill the portal holds)
    channel: PaymentChannel = PaymentChannel.WEB,
    state: PaymentState = PaymentState.CONFIRMED,
    refunded_fen: int = 0,
) -> Payment:
    number = next(_numbers)
    payment = Payment(
        reference=f"PANALYTICS{number:06d}",
        user_id=None if user is None else user.id,
        idempotency_key=f"analytics-{number}",
        state=state,
        total_fen=sum(amount for _agency, amount, _late, _issued in bills),
        refunded_fen=refunded_fen,
        channel=channel,
        created_at=when,
        paid_at=None if state is PaymentState.PENDING else when,
    )
    db.add(payment)
    db.flush()
    for agency, amount, late, issued in bills:
        bill_no = f"AN{next(_numbers):08d}"
        if issued is not None:
            db.add(
                Bill(
                    agency_id=agency.id,
                    bill_no=bill_no,
                    account_reference="1000200030",
                    payer_name="张小三",
                    amount_fen=amount,
                    status=StoredBillStatus.PAID,
                    created_at=beijing(issued, 8),
                )
            )
        db.add(
            PaymentItem(
                payment_id=payment.id,
                agency_id=agency.id,
                bill_id=bill_no,
                account_reference="1000200030",
                payer_name="张小三",
                amount_fen=amount,
                late_fee_fen=late,
                state=ItemState.CONFIRMED,
            )
        )
    db.flush()
    return payment


def days_before(day: date, n: int) -> date:
    return day - timedelta(days=n)

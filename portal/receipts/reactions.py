"""Receipts as the receipts domain's listeners to payment events (subscribed in ``portal.wiring``): a
receipt is issued in the payment's or the refund's own transaction, and its PDF is queued for the worker."""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal import events
from portal.payments.models import Payment
from portal.receipts import rendering
from portal.receipts.models import ReceiptKind
from portal.receipts.services import issue_receipt


def payment_paid(session: Session, event: events.PaymentPaid) -> None:
    payment = session.get(Payment, event.payment_id)
    amount, transfer = payment.total_fen, payment.transfer_reference
    receipt = issue_receipt(session, payment, ReceiptKind.PAYMENT, amount, transfer)
    rendering.queue_render(session, receipt)


def payment_refunded(session: Session, event: events.PaymentRefunded) -> None:
    payment = session.get(Payment, event.payment_id)
    receipt = issue_receipt(session, payment, ReceiptKind.REFUND, event.amount_fen, event.transfer_reference)
    rendering.queue_refund(session, payment, receipt)

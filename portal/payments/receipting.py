"""The outbox messages that render receipts: once when issued, and a payment receipt again after each
refund, so that a new download tells of the refund (the verification page reads it live)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import outbox
from portal.payments.models import Payment
from portal.receipts.models import Receipt, ReceiptKind
from portal.receipts.services import refunded_so_far


def render_key(number: str, refunded_fen: int = 0) -> str:
    """One render per receipt and refunded total: a retry or a second worker finds it already queued."""
    return f"receipt:{number}" if not refunded_fen else f"receipt:{number}:refunded:{refunded_fen}"


def queue_render(session: Session, receipt: Receipt) -> None:
    outbox.enqueue(session, outbox.RECEIPT_TOPIC, render_key(receipt.number), {"receipt": receipt.id})


def queue_refund(session: Session, payment: Payment, refund_receipt: Receipt) -> None:
    """Render the refund receipt, and the payment's receipts again with the refunded total."""
    queue_render(session, refund_receipt)
    session.flush()
    refunded = refunded_so_far(session, payment.id)
    for receipt in session.scalars(
        select(Receipt).where(Receipt.payment_id == payment.id, Receipt.kind == ReceiptKind.PAYMENT)
    ):
        key = render_key(receipt.number, refunded)
        outbox.enqueue(session, outbox.RECEIPT_TOPIC, key, {"receipt": receipt.id})

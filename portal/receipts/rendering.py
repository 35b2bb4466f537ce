"""Rendering receipts: the outbox messages that render one once when issued, and a payment receipt again
after each refund (so that a new download tells of the refund; the verification page reads it live);
the worker's handler; and the download, which renders now what the worker has not yet."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import metrics, outbox
from portal.db import Database
from portal.outbox import OutboxMessage
from portal.payments.models import Payment
from portal.receipts.models import Receipt, ReceiptKind
from portal.receipts.services import receipt_facts, refunded_so_far, store_pdf, stored_pdf
from portal.receipts.tokens import verification_token

RENDER_TOPIC = "receipt.render"


def render_key(number: str, refunded_fen: int = 0) -> str:
    """One render per receipt and refunded total: a retry or a second worker finds it already queued."""
    return f"receipt:{number}" if not refunded_fen else f"receipt:{number}:refunded:{refunded_fen}"


def queue_render(session: Session, receipt: Receipt) -> None:
    outbox.enqueue(session, RENDER_TOPIC, render_key(receipt.number), {"receipt": receipt.id})


def queue_refund(session: Session, payment: Payment, refund_receipt: Receipt) -> None:
    """Render the refund receipt, and the payment's receipts again with the refunded total."""
    queue_render(session, refund_receipt)
    session.flush()
    refunded = refunded_so_far(session, payment.id)
    for receipt in session.scalars(
        select(Receipt).where(Receipt.payment_id == payment.id, Receipt.kind == ReceiptKind.PAYMENT)
    ):
        key = render_key(receipt.number, refunded)
        outbox.enqueue(session, RENDER_TOPIC, key, {"receipt": receipt.id})


def render_receipt(database: Database, payload: dict) -> Callable[[Session], None]:
    from portal.receipts.pdf import receipt_html, render_pdf  # WeasyPrint (~25 MB) only where rendered

    with database.sessionmaker() as session:
        receipt = session.get(Receipt, payload["receipt"])
        facts = receipt_facts(session, receipt, verify_url(receipt.number))
        with metrics.RECEIPT_RENDER_SECONDS.time():
            pdf = render_pdf(receipt_html(facts))
    return lambda session: store_pdf(session, payload["receipt"], pdf, facts["refunded_fen"])


def verify_url(number: str) -> str:
    """The same link whoever renders the receipt (a worker has no request to take the host from)."""
    return f"{current_app.config['PORTAL_BASE_URL']}/receipts/verify/{verification_token(number)}"


class ReceiptNotReady(RuntimeError):
    """Rendering failed this time; the worker retries it, and the download can be tried again."""


def receipt_pdf(
    database: Database, session: Session, payment: Payment, number: str
) -> tuple[bytes, str] | None:
    """The stored PDF of one of the payment's receipts (None if it has no such receipt), rendered now if
    the worker has not done it yet (or not since the last refund): through the receipt's own outbox
    message, so it is rendered and stored once whoever gets there first."""
    row = session.execute(
        select(Receipt.id, Receipt.kind, Receipt.pdf_sha256, Receipt.pdf_refunded_fen).where(
            Receipt.payment_id == payment.id, Receipt.number == number
        )
    ).first()
    if row is None:
        return None
    receipt_id, kind, digest, pdf_refunded = row
    refunded = refunded_so_far(session, payment.id) if kind is ReceiptKind.PAYMENT else 0
    if digest and (pdf_refunded or 0) == refunded:
        stored = stored_pdf(session, receipt_id, digest)
        if stored is not None:
            return stored
    message_id = session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == render_key(number, refunded))
    )
    if message_id is not None:
        outbox.deliver(database, message_id, HANDLERS)
    else:  # refunded before payment receipts were rendered again: render it here (stored once)
        record_render = render_receipt(database, {"receipt": receipt_id})
        with database.write_transaction() as writing:
            record_render(writing)
    with database.sessionmaker() as fresh:  # this request's snapshot may predate the render's commit
        stored = stored_pdf(fresh, receipt_id)
    if stored is None:
        raise ReceiptNotReady(number)
    return stored


HANDLERS = {RENDER_TOPIC: render_receipt}

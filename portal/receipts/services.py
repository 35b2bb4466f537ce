"""Issuing receipts in the payment's transaction, rendering them once and keeping the bytes."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from portal.agencies.models import Agency
from portal.db import utcnow
from portal.identity import mask_name
from portal.numbering import receipt_number
from portal.payments.models import ItemState, Payment, Refund
from portal.promotions.discounts import campaign_of
from portal.receipts.models import Receipt, ReceiptKind


def issue_receipt(
    session: Session, payment: Payment, kind: ReceiptKind, amount_fen: int, transfer_reference: str
) -> Receipt:
    now = utcnow()
    receipt = Receipt(
        number=receipt_number(now),
        payment_id=payment.id,
        kind=kind,
        amount_fen=amount_fen,
        transfer_reference=transfer_reference,
        issued_at=now,
    )
    session.add(receipt)
    session.flush()  # the outbox message that renders it names the receipt by id
    return receipt


@dataclass(frozen=True)
class RefundStanding:
    """What has been refunded of a payment receipt since it was issued: a verifier must be told."""

    refunded_fen: int
    last_refunded_at: datetime | None
    still_paid_fen: int

    @property
    def in_full(self) -> bool:
        return self.refunded_fen > 0 and self.still_paid_fen <= 0


def refunded_of(payment_id) -> Select:
    """What the payment's refund receipts add up to, and when the last was issued."""
    return select(func.coalesce(func.sum(Receipt.amount_fen), 0), func.max(Receipt.issued_at)).where(
        Receipt.payment_id == payment_id, Receipt.kind == ReceiptKind.REFUND
    )


def refunded_so_far(session: Session, payment_id: int) -> int:
    return int(session.execute(refunded_of(payment_id)).one()[0])  # PostgreSQL sums bigints as numeric


def refund_standing(session: Session, receipt: Receipt) -> RefundStanding | None:
    """None for a refund receipt, or a payment receipt of which nothing was refunded."""
    if receipt.kind is not ReceiptKind.PAYMENT:
        return None
    refunded, last = session.execute(refunded_of(receipt.payment_id)).one()
    if not refunded:
        return None
    refunded = int(refunded)  # PostgreSQL sums bigints as numeric
    return RefundStanding(refunded, last, max(receipt.amount_fen - refunded, 0))


def receipts_of(session: Session, payment_id: int) -> list[Receipt]:
    return list(session.scalars(select(Receipt).where(Receipt.payment_id == payment_id).order_by(Receipt.id)))


def receipt_facts(session: Session, receipt: Receipt, verify_url: str) -> dict:
    """Everything a receipt shows, as plain values: the PDF template never sees an ORM object."""
    payment = receipt.payment
    names = {agency.id: agency for agency in session.scalars(select(Agency))}
    lines, reason = [(item, item.amount_fen) for item in payment.items], ""
    campaign_fen = payment.discount_fen
    if receipt.kind is ReceiptKind.REFUND:
        lines, reason, campaign_fen = _refunded_lines(session, receipt, payment)
    campaign = campaign_of(session, payment.id) if campaign_fen else None
    standing = refund_standing(session, receipt)
    return {
        # what was refunded since the payment: the PDF says so, and is rendered again after each refund
        "refunded_fen": standing.refunded_fen if standing else 0,
        "last_refunded_at": standing.last_refunded_at if standing else None,
        "still_paid_fen": standing.still_paid_fen if standing else receipt.amount_fen,
        "campaign_fen": campaign_fen,  # the campaign's part of the amount (paid, or given back to it)
        "campaign_zh": campaign.name_zh if campaign else "",
        "campaign_en": campaign.name_en if campaign else "",
        "number": receipt.number,
        "kind": receipt.kind.value,
        "payment_reference": payment.reference,
        "transfer_reference": receipt.transfer_reference,
        "amount_fen": receipt.amount_fen,
        "issued_at": receipt.issued_at,
        "paid_at": payment.paid_at,
        "state": payment.state.value,
        "at_counter": payment.channel.value == "counter",  # cash or a card at a hall: no wallet paid it
        "verify_url": verify_url,
        "reason": reason,
        "lines": [
            {
                "agency_zh": names[item.agency_id].name_zh,
                "agency_en": names[item.agency_id].name_en,
                "bill_id": item.bill_id,
                "account_reference": item.account_reference,
                "period": item.period,
                "description": item.description,
                "payer": mask_name(item.payer_name),
                "amount_fen": amount,
                "state": item.state.value,
            }
            for item, amount in lines
        ],
    }


def _refunded_lines(session: Session, receipt: Receipt, payment: Payment) -> tuple[list, str, int]:
    """The bill a refund receipt is for, the amount refunded, why, and the campaign's part of it: a
    finance refund names its transfer; otherwise the agency refused the bill."""
    refund = session.scalar(select(Refund).where(Refund.transfer_reference == receipt.transfer_reference))
    if refund is not None:
        return [(refund.item, refund.amount_fen)], refund.reason, refund.campaign_fen
    refused = [item for item in payment.items if item.state is ItemState.REJECTED]
    lines = [(item, item.refunded_fen) for item in refused]
    return lines, "收费机构拒收 Refused by the agency", sum(item.discount_fen for item in refused)


# A stored PDF never changes, so this process keeps the most recently served ones: a repeated download
# then reads two short rows instead of ~100 KB of bytea.
_recent_pdfs: OrderedDict[tuple[int, str], bytes] = OrderedDict()
_recent_lock = threading.Lock()
RECENT_PDFS = 128


def stored_pdf(session: Session, receipt_id: int, digest: str | None = None) -> tuple[bytes, str] | None:
    """The stored bytes and their SHA-256 (the ETag); ``digest`` when the caller already read it."""
    if digest is None:
        digest = session.scalar(select(Receipt.pdf_sha256).where(Receipt.id == receipt_id))
        if digest is None:
            return None
    with _recent_lock:
        pdf = _recent_pdfs.get((receipt_id, digest))
        if pdf is not None:
            _recent_pdfs.move_to_end((receipt_id, digest))
            return pdf, digest
    pdf = session.scalar(select(Receipt.pdf).where(Receipt.id == receipt_id))
    if pdf is None:
        return None
    with _recent_lock:
        _recent_pdfs[(receipt_id, digest)] = pdf
        while len(_recent_pdfs) > RECENT_PDFS:
            _recent_pdfs.popitem(last=False)
    return pdf, digest


def store_pdf(session: Session, receipt_id: int, pdf: bytes, refunded_fen: int = 0) -> tuple[bytes, str]:
    """Keep the first rendering of each refunded total: a second render (a retry racing a download)
    changes nothing, and a render that predates a refund never replaces one that tells of it."""
    digest = hashlib.sha256(pdf).hexdigest()
    session.execute(
        update(Receipt)
        .where(Receipt.id == receipt_id)
        .where(or_(Receipt.pdf.is_(None), func.coalesce(Receipt.pdf_refunded_fen, 0) < refunded_fen))
        .values(pdf=pdf, pdf_sha256=digest, pdf_refunded_fen=refunded_fen, rendered_at=utcnow())
    )
    return stored_pdf(session, receipt_id) or (pdf, digest)

"""Receipts: a number that cannot be guessed in sequence, and the PDF bytes once rendered."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from portal.db import Base, string_enum, utcnow
from portal.payments.models import Payment


class ReceiptKind(enum.StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"


class Receipt(Base):
    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    kind: Mapped[ReceiptKind] = mapped_column(string_enum(ReceiptKind, "receipt_kind"))
    amount_fen: Mapped[int]
    # the payment's or the refund's transfer; indexed for reconciliation's orphan check
    transfer_reference: Mapped[str] = mapped_column(String(32), index=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    # the refunds the stored PDF tells of: a payment receipt is rendered again after each refund
    pdf_refunded_fen: Mapped[int | None]
    rendered_at: Mapped[datetime | None]

    payment: Mapped[Payment] = relationship()

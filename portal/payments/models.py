"""Payments of bills from the wallet, their lines (one per bill) and the outbox to agencies."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agencies.models import Agency
from portal.db import Base, string_enum, utcnow

# The outbox topic that tells an agency of a paid bill (the worker handler is in delivery.py).
CONFIRM_TOPIC = "agency.confirm"


class PaymentState(enum.StrEnum):
    PENDING = "pending"  # written, money not yet moved (only ever seen inside the checkout transaction)
    PAID = "paid"  # money moved; the agencies are being told
    CONFIRMED = "confirmed"  # every agency acknowledged
    FAILED = "failed"  # the agencies refused every bill; the money went back to the wallet
    REFUNDED = "refunded"  # finance refunded all of it


class ItemState(enum.StrEnum):
    AWAITING = "awaiting"  # paid, agency not yet told
    CONFIRMED = "confirmed"
    REJECTED = "rejected"  # the agency refused it; its amount was refunded at once
    REFUNDED = "refunded"


OPEN_ITEM_STATES = ("awaiting", "confirmed")


class PaymentChannel(enum.StrEnum):
    """How a payment was started: finance reports filter and total by it."""

    WEB = "web"  # a resident on the portal's pages
    AUTOPAY = "autopay"  # the worker paying a saved account's bill for the resident
    GUEST = "guest"  # a visitor not signed in, authorised by a one-time code sent to the wallet's owner
    COUNTER = "counter"  # cash or a bank card at a service hall's counter (portal.counter); no resident


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="uq_payments_user_key"),
        # Counter payments have no resident: their keys (which name the shift) are unique on their own.
        Index(
            "uq_payments_counter_key",
            "idempotency_key",
            unique=True,
            postgresql_where=text("user_id IS NULL"),
            sqlite_where=text("user_id IS NULL"),
        ),
        # A resident's first payment is one index step away (analytics: first-time payers, cohorts).
        Index("ix_payments_user_id_paid_at", "user_id", "paid_at"),
        CheckConstraint("total_fen > 0", name="total_positive"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= total_fen", name="refund_within_total"),
        CheckConstraint("discount_fen >= 0 AND discount_fen < total_fen", name="discount_below_total"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # None: at a counter
    idempotency_key: Mapped[str] = mapped_column(String(64))
    state: Mapped[PaymentState] = mapped_column(string_enum(PaymentState, "payment_state"))
    total_fen: Mapped[int]  # what the agencies receive for the bills
    # A campaign's share of total_fen (paid from its budget); the wallet paid the rest.
    discount_fen: Mapped[int] = mapped_column(default=0, server_default="0")
    refunded_fen: Mapped[int] = mapped_column(default=0)
    transfer_reference: Mapped[str | None] = mapped_column(String(32), index=True)  # reconciliation
    channel: Mapped[PaymentChannel] = mapped_column(
        string_enum(PaymentChannel, "payment_channel", length=16),
        default=PaymentChannel.WEB,
        server_default=PaymentChannel.WEB.value,
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(index=True)  # finance reports select by paid day
    confirmed_at: Mapped[datetime | None]

    items: Mapped[list[PaymentItem]] = relationship(
        back_populates="payment", order_by="PaymentItem.id", cascade="all, delete-orphan"
    )


class PaymentItem(Base):
    """One bill in a payment, with what the resident saw when paying it."""

    __tablename__ = "payment_items"
    __table_args__ = (
        # A bill paid in full belongs to one open payment: the second of two racing payments waits here
        # for the first and then fails, before any money moves.
        Index(
            "uq_payment_items_open_bill",
            "agency_id",
            "bill_id",
            unique=True,
            postgresql_where=text("settles_bill AND state IN ('awaiting', 'confirmed')"),
            sqlite_where=text("settles_bill AND state IN ('awaiting', 'confirmed')"),
        ),
        # A bill has at most one payment the agency has not yet confirmed: part payments of one bill
        # wait for each other's confirmation, so the amount the agency reports is never stale twice.
        Index(
            "uq_payment_items_awaiting_bill",
            "agency_id",
            "bill_id",
            unique=True,
            postgresql_where=text("state = 'awaiting'"),
            sqlite_where=text("state = 'awaiting'"),
        ),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refund_within_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    bill_id: Mapped[str] = mapped_column(String(40))
    account_reference: Mapped[str] = mapped_column(String(40))
    payer_name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(String(200), default="")
    period: Mapped[str] = mapped_column(String(20), default="")
    amount_fen: Mapped[int]  # what was paid for this bill, late fee included
    discount_fen: Mapped[int] = mapped_column(default=0, server_default="0")  # the campaign's share of it
    late_fee_fen: Mapped[int] = mapped_column(default=0)
    settles_bill: Mapped[bool] = mapped_column(default=True)
    state: Mapped[ItemState] = mapped_column(string_enum(ItemState, "payment_item_state"))
    agency_reference: Mapped[str] = mapped_column(String(64), default="")
    agency_amount_fen: Mapped[int | None]  # what the agency says it received; reconciliation compares
    confirmed_at: Mapped[datetime | None] = mapped_column(index=True)  # the live page's confirmation lag
    refunded_fen: Mapped[int] = mapped_column(default=0)

    payment: Mapped[Payment] = relationship(back_populates="items")
    agency: Mapped[Agency] = relationship()


class Refund(Base):
    """Finance staff returning (part of) one paid bill to the resident's wallet."""

    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    payment_item_id: Mapped[int] = mapped_column(ForeignKey("payment_items.id"), index=True)
    amount_fen: Mapped[int]  # of the bill's amount; the campaign's share of it went back to its budget
    campaign_fen: Mapped[int] = mapped_column(default=0, server_default="0")
    reason: Mapped[str] = mapped_column(String(200))
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    transfer_reference: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[PaymentItem] = relationship()

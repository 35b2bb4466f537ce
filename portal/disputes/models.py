"""Disputes residents raise about a paid bill or a bill of one of their saved accounts, their steps and
attachment, and the working calendar their deadlines are counted in."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, string_enum, utcnow


class DisputeKind(enum.StrEnum):
    STILL_UNPAID = "still_unpaid"  # paid here, but the agency still shows the bill unpaid
    CHARGED_TWICE = "charged_twice"
    WRONG_AMOUNT = "wrong_amount"
    REFUND_MISSING = "refund_missing"  # a refund was promised or made but did not arrive
    OTHER = "other"


# What can be wrong with a bill that was not paid through the portal (charged twice, or a refund that
# did not arrive, needs a payment made here).
UNPAID_KINDS = (DisputeKind.STILL_UNPAID, DisputeKind.WRONG_AMOUNT, DisputeKind.OTHER)


class DisputeState(enum.StrEnum):
    """Forward only, but for the resident's reopening within the reopen window."""

    OPEN = "open"  # raised; the portal's finance desk looks at it
    WITH_AGENCY = "with_agency"  # sent to the agency's clerks for an answer
    ANSWERED = "answered"  # the agency answered; finance decides
    RESOLVED = "resolved"  # refunded, corrected or rejected with a reason; the resident may reopen
    CLOSED = "closed"


class DisputeOutcome(enum.StrEnum):
    REFUNDED = "refunded"
    CORRECTED = "corrected"  # the agency put its records right; no money moves
    REJECTED = "rejected"


class Dispute(Base):
    __tablename__ = "disputes"
    __table_args__ = (
        Index("ix_disputes_agency_state", "agency_id", "state"),
        CheckConstraint("reopened >= 0", name="reopened_not_negative"),
        CheckConstraint("payment_item_id IS NOT NULL OR bill_id IS NOT NULL", name="names_a_bill"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # A paid bill: its payment and line. A bill not paid here: none, and the bill as the agency showed it.
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    payment_item_id: Mapped[int | None] = mapped_column(ForeignKey("payment_items.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    bill_id: Mapped[str | None] = mapped_column(String(40))
    account_reference: Mapped[str | None] = mapped_column(String(40))
    bill_amount_fen: Mapped[int | None]
    kind: Mapped[DisputeKind] = mapped_column(string_enum(DisputeKind, "dispute_kind"))
    description: Mapped[str] = mapped_column(Text)
    state: Mapped[DisputeState] = mapped_column(string_enum(DisputeState, "dispute_state"))
    due_at: Mapped[datetime | None]  # the end of the current state's deadline (none once resolved)
    agency_answer: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[DisputeOutcome | None] = mapped_column(string_enum(DisputeOutcome, "dispute_outcome"))
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))
    reopened: Mapped[int] = mapped_column(default=0)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    state_since: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    steps: Mapped[list[DisputeStep]] = relationship(order_by="DisputeStep.id", back_populates="dispute")
    attachment: Mapped[DisputeAttachment | None] = relationship(back_populates="dispute")


class DisputeStep(Base):
    """One move of a dispute (or its opening), with who made it and what they said: the timeline."""

    __tablename__ = "dispute_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), index=True)
    state: Mapped[DisputeState] = mapped_column(string_enum(DisputeState, "dispute_state"))
    actor: Mapped[str] = mapped_column(String(40))  # user:<id>, worker
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    dispute: Mapped[Dispute] = relationship(back_populates="steps")


class DisputeAttachment(Base):
    """The resident's one file (PNG, JPEG or PDF): served only to those who may see the dispute."""

    __tablename__ = "dispute_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), unique=True)
    file_name: Mapped[str] = mapped_column(String(120))  # as the resident named it, for the download
    content_type: Mapped[str] = mapped_column(String(40))  # as found in the content, not as claimed
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # read only for the download

    dispute: Mapped[Dispute] = relationship(back_populates="attachment")


class CalendarDay(Base):
    """A Beijing day that breaks the weekday rule: a public holiday on a weekday (working=False) or a
    make-up working day on a weekend (working=True, 调休). Admins keep the table."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    working: Mapped[bool]
    name: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

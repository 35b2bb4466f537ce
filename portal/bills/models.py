"""Bills held in the portal's own database, served by the `local` agency adapter."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agencies.models import Agency
from portal.db import Base, string_enum, utcnow


class StoredBillStatus(enum.StrEnum):
    """What is stored; 'overdue' is derived from the due date when a bill is shown."""

    UNPAID = "unpaid"
    PAID = "paid"
    CANCELLED = "cancelled"


class Bill(Base):
    __tablename__ = "bills"
    __table_args__ = (
        UniqueConstraint("agency_id", "bill_no", name="uq_bills_agency_bill_no"),
        Index("ix_bills_agency_id_account_reference", "agency_id", "account_reference"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("late_fee_fen >= 0", name="late_fee_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    bill_no: Mapped[str] = mapped_column(String(40))
    account_reference: Mapped[str] = mapped_column(String(40))  # household account number (户号)
    payer_name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(String(200), default="")
    period: Mapped[str] = mapped_column(String(20), default="")
    amount_fen: Mapped[int]
    late_fee_fen: Mapped[int] = mapped_column(default=0)
    due_date: Mapped[date | None]
    status: Mapped[StoredBillStatus] = mapped_column(
        string_enum(StoredBillStatus, "bill_status"),
        default=StoredBillStatus.UNPAID,
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("bill_batches.id"), index=True)  # last loaded by

    agency: Mapped[Agency] = relationship()


class SavedAccount(Base):
    """A resident's household account, plate or taxpayer number at one agency, with a nickname."""

    __tablename__ = "saved_accounts"
    __table_args__ = (UniqueConstraint("user_id", "agency_id", "query_json", name="uq_saved_accounts_query"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    nickname: Mapped[str] = mapped_column(String(40))
    query_json: Mapped[str] = mapped_column(String(500))  # the checked query values, as sorted JSON
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agency: Mapped[Agency] = relationship()

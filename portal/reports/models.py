"""Settlements: what an agency was paid for one Beijing business day, made once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agencies.models import Agency
from portal.db import Base, utcnow


class Settlement(Base):
    """One agency's business day, settled: the unique pair is what makes a second run move nothing."""

    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("agency_id", "business_day", name="uq_settlements_agency_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    business_day: Mapped[date]
    collected_fen: Mapped[int]  # payments credited to the agency that day
    refunded_fen: Mapped[int]  # refunds debited from the agency that day
    payout_fen: Mapped[int]  # collected - refunded: paid out when positive, reclaimed when negative
    payments_count: Mapped[int]
    refunds_count: Mapped[int]
    transfer_reference: Mapped[str | None] = mapped_column(String(32))  # none when nothing moved
    settled_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agency: Mapped[Agency] = relationship()

"""Service halls, the agencies each serves, its cashiers, their shifts and what each shift took.

A counter payment is a row of ``payments`` (channel ``counter``, no resident) with a row here that
says which shift took it and how; the shift's till is a ledger account of its own."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.db import Base, string_enum, utcnow

hall_agencies = Table(
    "service_hall_agencies",
    Base.metadata,
    Column("hall_id", ForeignKey("service_halls.id"), primary_key=True),
    Column("agency_id", ForeignKey("agencies.id"), primary_key=True),
)


class ServiceHall(Base):
    """A district's service hall (政务服务大厅): its counters take the bills of the agencies it serves."""

    __tablename__ = "service_halls"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agencies: Mapped[list[Agency]] = relationship(secondary=hall_agencies, order_by="Agency.code")

    def name_for(self, locale: str) -> str:
        return self.name_zh if locale.startswith("zh") else self.name_en


class HallCashier(Base):
    """A counter cashier's one hall."""

    __tablename__ = "hall_cashiers"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("service_halls.id"), index=True)

    hall: Mapped[ServiceHall] = relationship(lazy="joined")


class ShiftState(enum.StrEnum):
    OPEN = "open"  # takes payments
    CLOSED = "closed"  # cashed up: takes nothing more


class CounterShift(Base):
    __tablename__ = "counter_shifts"
    __table_args__ = (
        # A cashier works one shift at a time: a second "open shift" waits here for the first, then fails.
        Index(
            "uq_counter_shifts_open_cashier",
            "cashier_id",
            unique=True,
            postgresql_where=text("state = 'open'"),
            sqlite_where=text("state = 'open'"),
        ),
        CheckConstraint("counted_cash_fen IS NULL OR counted_cash_fen >= 0", name="counted_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)  # names the till in the ledger
    hall_id: Mapped[int] = mapped_column(ForeignKey("service_halls.id"), index=True)
    cashier_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[ShiftState] = mapped_column(string_enum(ShiftState, "counter_shift_state"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    expected_cash_fen: Mapped[int | None]  # at the cash-up: what the till's cash payments add up to
    counted_cash_fen: Mapped[int | None]
    handover_transfer: Mapped[str | None] = mapped_column(String(32))  # counted cash -> hall bank account
    difference_transfer: Mapped[str | None] = mapped_column(String(32))  # short or over

    hall: Mapped[ServiceHall] = relationship()
    cashier: Mapped[User] = relationship()

    @property
    def difference_fen(self) -> int | None:
        if self.counted_cash_fen is None or self.expected_cash_fen is None:
            return None
        return self.counted_cash_fen - self.expected_cash_fen


class Tender(enum.StrEnum):
    CASH = "cash"
    CARD = "card"  # the sandbox bank's POS


class CounterPayment(Base):
    """How a counter payment was taken, and by which shift."""

    __tablename__ = "counter_payments"
    __table_args__ = (
        CheckConstraint("tendered_fen IS NULL OR tendered_fen >= 0", name="tendered_not_negative"),
        CheckConstraint("change_fen >= 0", name="change_not_negative"),
    )

    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("counter_shifts.id"), index=True)
    tender: Mapped[Tender] = mapped_column(string_enum(Tender, "counter_tender"))
    tendered_fen: Mapped[int | None]  # cash handed over by the payer
    change_fen: Mapped[int] = mapped_column(default=0)
    card_masked: Mapped[str] = mapped_column(String(32), default="")
    card_bank: Mapped[str] = mapped_column(String(64), default="")

    shift: Mapped[CounterShift] = relationship()

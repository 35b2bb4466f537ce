"""Risk flags raised by the rules, the officers' notes on them, and requests to unfreeze a wallet."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.db import Base, string_enum, utcnow


class FlagStatus(enum.StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    CLEARED = "cleared"  # reviewed: nothing wrong
    ESCALATED = "escalated"  # reviewed: suspicious; the wallet may be frozen


class RiskFlag(Base):
    """One operation that tripped one or more rules. ``rule`` is the main one; ``detail`` lists every rule
    tripped with its facts (JSON, see portal/risk/findings.py; older rows hold an English sentence).
    ``blocked`` says whether the operation was refused."""

    __tablename__ = "risk_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    rule: Mapped[str] = mapped_column(String(40))
    operation: Mapped[str] = mapped_column(String(20))  # top_up, payment, withdrawal
    amount_fen: Mapped[int]
    blocked: Mapped[bool] = mapped_column(default=False)
    detail: Mapped[str] = mapped_column(String(300))  # what the rules saw (findings.encode), for the officer
    status: Mapped[FlagStatus] = mapped_column(string_enum(FlagStatus, "risk_flag_status"), index=True)
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    officer: Mapped[User | None] = relationship(foreign_keys=[assigned_to])
    closer: Mapped[User | None] = relationship(foreign_keys=[closed_by])
    notes: Mapped[list[RiskNote]] = relationship(order_by="RiskNote.id", back_populates="flag")


class RiskNote(Base):
    __tablename__ = "risk_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("risk_flags.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    flag: Mapped[RiskFlag] = relationship(back_populates="notes")
    author: Mapped[User] = relationship()


class UnfreezeRequest(Base):
    """Maker-checker: one admin asks to unfreeze a wallet, a different admin approves."""

    __tablename__ = "unfreeze_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    requester: Mapped[User] = relationship(foreign_keys=[requested_by])

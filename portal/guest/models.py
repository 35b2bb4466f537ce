"""One try at paying a bill without signing in, and its one-time code (kept only as an HMAC)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, string_enum, utcnow


class AttemptState(enum.StrEnum):
    WAITING = "waiting"  # the code went out; the visitor types it
    PAID = "paid"
    ENDED = "ended"  # three wrong codes, or the time ran out: nothing can be paid with it


class GuestAttempt(Base):
    __tablename__ = "guest_attempts"
    __table_args__ = (CheckConstraint("tries >= 0", name="tries_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)  # in the visitor's session only
    selection: Mapped[str] = mapped_column(Text)  # the sealed bill the visitor chose on the lookup page
    agency_code: Mapped[str] = mapped_column(String(32))
    bill_id: Mapped[str] = mapped_column(String(40), index=True)
    amount_fen: Mapped[int]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # None: no such wallet
    code_hmac: Mapped[str] = mapped_column(String(64))
    tries: Mapped[int] = mapped_column(default=0)
    state: Mapped[AttemptState] = mapped_column(string_enum(AttemptState, "guest_attempt_state"))
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))

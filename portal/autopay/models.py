"""The auto-pay setting of a saved account."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, utcnow


class AutopaySetting(Base):
    """Auto-pay of one saved account: on or off, and at most ``monthly_cap_fen`` a Beijing month."""

    __tablename__ = "autopay_settings"
    __table_args__ = (CheckConstraint("monthly_cap_fen > 0", name="cap_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    saved_account_id: Mapped[int] = mapped_column(
        ForeignKey("saved_accounts.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    monthly_cap_fen: Mapped[int]
    since: Mapped[date]  # the Beijing day it was switched on: bills due earlier are left to the resident
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

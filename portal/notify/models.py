"""Residents' notifications (the in-app inbox, and the record that each was sent once) and their
preferences."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, utcnow


class Notification(Base):
    """One notice to one resident. ``dedupe_key`` names the event ("due:<account>:<bill>",
    "paid:<payment>"...): inserting it twice does nothing, so each event is told once. The text is
    rendered from ``kind`` and ``params_json`` in the reader's language when it is shown or sent."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(24))
    dedupe_key: Mapped[str] = mapped_column(String(100), unique=True)
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    in_inbox: Mapped[bool] = mapped_column(default=True)  # False for a password reset link
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]  # handed to the notifier (SMS / e-mail) by the worker
    channels: Mapped[str] = mapped_column(String(20), default="")  # what it was sent by: "sms,email"


class NotificationPreference(Base):
    """A resident's choices; no row means the defaults (reminders on, every channel, no campaign news)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    reminders: Mapped[bool] = mapped_column(default=True)
    sms: Mapped[bool] = mapped_column(default=True)
    email: Mapped[bool] = mapped_column(default=True)
    campaigns: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

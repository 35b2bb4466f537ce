"""The worker's scan for agency confirmations late by more than CONFIRMATION_DELAY_MINUTES (the due
reminders are auto-pay's, in portal.autopay.reminders). Safe with several workers: each notice is keyed
by its payment line, so a second worker finding the same line inserts nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import String, cast, exists, select

from portal.agencies.models import Agency
from portal.db import Database
from portal.notify.models import Notification
from portal.notify.services import queue
from portal.payments.models import ItemState, Payment, PaymentItem


def confirmation_delays(database: Database, now: datetime) -> int:
    """A notice for each bill line still awaiting its agency's confirmation more than the configured
    delay after payment (within the outbox's retry window); returns how many were queued."""
    delay = timedelta(minutes=current_app.config["CONFIRMATION_DELAY_MINUTES"])
    window = timedelta(seconds=current_app.config["OUTBOX_GIVE_UP_SECONDS"])
    told = exists().where(Notification.dedupe_key == "delayed:" + cast(PaymentItem.id, String))
    query = (
        select(
            PaymentItem.id,
            PaymentItem.bill_id,
            Payment.reference,
            Payment.user_id,
            Agency.name_zh,
            Agency.name_en,
        )
        .join(Payment, Payment.id == PaymentItem.payment_id)
        .join(Agency, Agency.id == PaymentItem.agency_id)
        .where(PaymentItem.state == ItemState.AWAITING, Payment.paid_at < now - delay)
        .where(Payment.user_id.is_not(None))  # a counter payment's payer has no inbox
        .where(Payment.paid_at > now - window, ~told)
        .order_by(PaymentItem.id)
    )
    queued = 0
    with database.write_transaction() as session:
        for item_id, bill_id, reference, user_id, name_zh, name_en in session.execute(query).all():
            params = {"bill": bill_id, "reference": reference, "agency_zh": name_zh, "agency_en": name_en}
            queued += queue(session, user_id, "delayed", f"delayed:{item_id}", params)
    return queued

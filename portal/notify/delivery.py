"""The worker's side of notifications: each queued notice is sent by the resident's SMS / e-mail channels
through the configured notifier, once (the outbox lease keeps other workers off it; sent_at is checked
first, so a message delivered but not yet recorded is the only way a text could go twice)."""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.db import Database, utcnow
from portal.notify.base import Message
from portal.notify.models import Notification, NotificationPreference
from portal.notify.notifiers import notifier
from portal.notify.services import DELIVER_TOPIC, params_of, preferences
from portal.notify.texts import render

DEFAULT_LOCALE = "zh_CN"
log = logging.getLogger("portal.notify")


def messages_for(notification: Notification, user: User, prefs: NotificationPreference) -> list[Message]:
    """What goes out by SMS / e-mail, in the resident's language; nothing for a disabled account or a
    campaign the resident has since opted out of."""
    if not user.is_active:
        return []
    params = params_of(notification)
    locale = params.get("locale") or user.locale or DEFAULT_LOCALE
    text = render(notification.kind, params, locale)
    if notification.kind in ("reset", "guest_code"):  # asked for now: by the account's own channel
        channel = params["channel"]
        recipient = user.phone if channel == "sms" else user.email
        return [Message(channel, recipient or "", text.subject, text.body)]
    if notification.kind == "campaign" and not prefs.campaigns:
        return []
    wanted = [("sms", prefs.sms and user.phone), ("email", prefs.email and user.email)]
    return [Message(channel, address, text.subject, text.body) for channel, address in wanted if address]


def deliver(database: Database, payload: dict):
    """Outbox handler: send now (outside any transaction), then record when and by which channels."""
    with database.sessionmaker() as session:
        notification = session.scalar(select(Notification).where(Notification.dedupe_key == payload["key"]))
        if notification is None or notification.sent_at is not None:
            return lambda _session: None
        user = session.get(User, notification.user_id)
        messages = messages_for(notification, user, preferences(session, user))
        notification_id = notification.id
        already = set(filter(None, notification.channels.split(",")))  # sent before a later one failed
    sender = notifier()
    for message in messages:
        if message.channel in already:
            continue
        sender.send(message)  # NotifierError: the outbox tries again later, for the channels not yet sent
        already.add(message.channel)
        _note_channel(database, notification_id, ",".join(sorted(already)))
    channels = ",".join(sorted(already))

    def record(session: Session) -> None:
        session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.sent_at.is_(None))
            .values(sent_at=utcnow(), channels=channels)
        )

    log.info("notice %s sent by %s", notification_id, channels or "the inbox only")
    return record


HANDLERS = {DELIVER_TOPIC: deliver}


def _note_channel(database: Database, notification_id: int, channels: str) -> None:
    """Remember each channel as soon as it was handed over, so a retry never sends it twice."""
    with database.write_transaction() as session:
        session.execute(
            update(Notification).where(Notification.id == notification_id).values(channels=channels)
        )

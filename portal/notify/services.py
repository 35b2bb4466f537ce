"""Notices to residents, each once: a row keyed by the event ("due:<account>:<bill>", "paid:<ref>")
written in the event's own transaction, and an outbox message that has the worker send it by the
resident's channels. The inbox (in-app) always shows it; SMS and e-mail follow the preferences.

Nothing here commits: callers' transactions (a request, a worker unit) decide."""

from __future__ import annotations

import json
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal import outbox
from portal.accounts.idcrypto import Sealed, current_vault
from portal.accounts.models import User
from portal.authz import Role
from portal.db import utcnow
from portal.errors import NotFound
from portal.notify.models import Notification, NotificationPreference
from portal.sql import dialect_insert

DELIVER_TOPIC = "notify.deliver"
RESET_PURPOSE = "reset-link"  # binds the sealed link to its use (idcrypto's associated data)
GUEST_CODE_PURPOSE = "guest-code"


def queue(
    session: Session, user_id: int, kind: str, key: str, params: dict, *, in_inbox: bool = True
) -> bool:
    """Record the notice once per key and have the worker deliver it; False when it already exists.
    Two transactions racing with one key: the second waits on the unique key, then inserts nothing."""
    values = {
        "user_id": user_id,
        "kind": kind,
        "dedupe_key": key,
        "params_json": json.dumps(params, sort_keys=True, ensure_ascii=False),
        "in_inbox": in_inbox,
        "created_at": utcnow(),
    }
    insert = dialect_insert(session)
    statement = insert(Notification.__table__).values(**values)
    statement = statement.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(Notification.id)
    if session.execute(statement).scalar() is None:  # (rowcount is not reliable here on psycopg)
        return False
    outbox.enqueue(session, DELIVER_TOPIC, f"notify:{key}", {"key": key})
    return True


def payment_paid(session: Session, payment) -> None:
    """The resident's confirmation of a payment (called in the payment's transaction)."""
    # what left the wallet: a campaign's share of the bills was paid from its budget
    params = {"reference": payment.reference, "total_fen": payment.total_fen - payment.discount_fen}
    params["autopay"] = payment.channel.value == "autopay"
    params["discount_fen"] = payment.discount_fen
    params["bills"] = [item.bill_id for item in payment.items]
    params["agency_zh"] = "、".join(dict.fromkeys(item.agency.name_zh for item in payment.items))
    params["agency_en"] = ", ".join(dict.fromkeys(item.agency.name_en for item in payment.items))
    queue(session, payment.user_id, "paid", f"paid:{payment.reference}", params)


def late_confirmation_arrived(session: Session, item_id: int) -> bool:
    """If the resident was told this bill's confirmation was late, tell them it came, once: the delay
    notice promised it. Its words name the same agency, bill and payment."""
    delayed = session.scalar(select(Notification).where(Notification.dedupe_key == f"delayed:{item_id}"))
    if delayed is None:
        return False
    params = json.loads(delayed.params_json)
    return queue(session, delayed.user_id, "confirmed", f"confirmed:{item_id}", params)


def wallet_frozen(session: Session, user_id: int, flag_id: int) -> None:
    """The resident learns at once why their wallet stopped working (whatever the preferences)."""
    queue(session, user_id, "frozen", f"frozen:{flag_id}", {})


def wallet_unfrozen(session: Session, user_id: int, request_id: int) -> None:
    queue(session, user_id, "unfrozen", f"unfrozen:{request_id}", {})


def password_reset(session: Session, user: User, url: str, valid_for: timedelta, locale: str) -> None:
    """A reset link by the resident's own channel, whatever the preferences; never in the inbox. The link
    is stored sealed (a database reader cannot use it) and in the language the request was made in."""

    sealed = current_vault().seal(url, RESET_PURPOSE)
    params = {
        "sealed_url": [sealed.key_id, sealed.ciphertext],
        "minutes": int(valid_for.total_seconds() // 60),
        "locale": locale,
        "channel": "sms" if user.phone else "email",
    }
    key = f"reset:{sealed.ciphertext[:40]}"  # random nonce first: unique per link
    queue(session, user.id, "reset", key, params, in_inbox=False)


def guest_code(
    session: Session, user: User, key: str, code: str, facts: dict, minutes: int, locale: str
) -> None:
    """A one-time code to authorise a payment someone started without signing in, by the wallet
    owner's own channel and never in the inbox; stored sealed, like a reset link."""
    sealed = current_vault().seal(code, GUEST_CODE_PURPOSE)
    params = {
        **facts,
        "sealed_code": [sealed.key_id, sealed.ciphertext],
        "minutes": minutes,
        "locale": locale,
        "channel": "sms" if user.phone else "email",
    }
    queue(session, user.id, "guest_code", key, params, in_inbox=False)


def announce_campaign(session: Session, campaign_key: str, offer: dict) -> int:
    """Campaign news to every resident who opted in, once per campaign and resident; returns how many
    were queued now (a second call for the same campaign queues nobody twice)."""
    params = {"campaign": campaign_key, "offer": offer}  # plain facts: read in each resident's language
    opted_in = select(NotificationPreference.user_id).where(NotificationPreference.campaigns.is_(True))
    users = session.scalars(
        select(User.id).where(User.id.in_(opted_in), User.role == Role.RESIDENT, User.is_active)
    )
    return sum(queue(session, uid, "campaign", f"campaign:{campaign_key}:{uid}", params) for uid in users)


def preferences(session: Session, user: User) -> NotificationPreference:
    """The resident's preferences (the defaults, not yet stored, when never changed)."""
    found = session.get(NotificationPreference, user.id)
    return found or NotificationPreference(
        user_id=user.id, reminders=True, sms=True, email=True, campaigns=False
    )


def save_preferences(
    session: Session, user: User, *, reminders: bool, sms: bool, email: bool, campaigns: bool
):
    found = session.get(NotificationPreference, user.id)
    if found is None:
        found = NotificationPreference(user_id=user.id)
        session.add(found)
    found.reminders, found.sms, found.email, found.campaigns = reminders, sms, email, campaigns
    found.updated_at = utcnow()
    return found


def inbox(session: Session, user: User, page: int, per_page: int = 20) -> tuple[list[Notification], int, int]:
    """One page of the resident's notices, newest first: (notices, page shown, pages)."""
    mine = (Notification.user_id == user.id, Notification.in_inbox.is_(True))
    total = session.scalar(select(func.count()).select_from(Notification).where(*mine)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = session.scalars(
        select(Notification)
        .where(*mine)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), page, pages


def unread_count(session: Session, user: User) -> int:
    query = select(func.count()).where(
        Notification.user_id == user.id, Notification.in_inbox.is_(True), Notification.read_at.is_(None)
    )
    return session.scalar(query) or 0


def mark_read(session: Session, user: User, notification_id: int | None = None) -> int:
    """Mark one notice (or, without an id, every notice) read; NotFound for anyone else's."""
    mine = [Notification.user_id == user.id, Notification.in_inbox.is_(True), Notification.read_at.is_(None)]
    if notification_id is not None:
        found = session.get(Notification, notification_id)
        if found is None or found.user_id != user.id or not found.in_inbox:
            raise NotFound(_("That notice does not exist."))
        mine.append(Notification.id == notification_id)
    result = session.execute(
        update(Notification)
        .where(*mine)
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def params_of(notification: Notification) -> dict:
    """The stored parameters, with a sealed reset link or code opened (only the worker and /dev/outbox
    ask)."""
    params = json.loads(notification.params_json)
    if "sealed_url" in params:
        key_id, ciphertext = params.pop("sealed_url")
        params["url"] = current_vault().open(Sealed(key_id, ciphertext), RESET_PURPOSE)
    if "sealed_code" in params:
        key_id, ciphertext = params.pop("sealed_code")
        params["code"] = current_vault().open(Sealed(key_id, ciphertext), GUEST_CODE_PURPOSE)
    return params

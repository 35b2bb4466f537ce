"""The development outbox: what the development notifier would have sent. Never in production.

Notices are sent by the worker, a process of its own under `make run`; so the page lists the newest
notices from the database as the worker sends (or will send) them, then what this process's notifier
was handed directly."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from sqlalchemy import select

from portal.accounts.models import User
from portal.db import get_session
from portal.notify.delivery import messages_for
from portal.notify.development import OUTBOX_SIZE, DevelopmentNotifier
from portal.notify.models import Notification
from portal.notify.notifiers import notifier
from portal.notify.services import preferences

bp = Blueprint("dev_outbox", __name__, url_prefix="/dev")


@bp.get("/outbox")
def outbox():
    sender = notifier()
    if current_app.config["ENV_NAME"] == "production" or not isinstance(sender, DevelopmentNotifier):
        abort(404)
    return render_template("notify/outbox.html", queued=_queued(), messages=sender.messages())


def _queued() -> list[tuple[Notification, object]]:
    session = get_session()
    rows = session.scalars(select(Notification).order_by(Notification.id.desc()).limit(OUTBOX_SIZE))
    pairs = []
    for notification in rows:
        user = session.get(User, notification.user_id)
        pairs += [(notification, m) for m in messages_for(notification, user, preferences(session, user))]
    return pairs

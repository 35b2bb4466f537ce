"""The development outbox: what the development notifier would have sent. Never in production."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from portal.notify import notifier
from portal.notify.development import DevelopmentNotifier

bp = Blueprint("dev_outbox", __name__, url_prefix="/dev")


@bp.get("/outbox")
def outbox():
    sender = notifier()
    if current_app.config["ENV_NAME"] == "production" or not isinstance(sender, DevelopmentNotifier):
        abort(404)
    return render_template("notify/outbox.html", messages=sender.messages())

"""Operations page: agency confirmations the outbox gave up on, with a manual resend."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.auth import role_required
from portal.accounts.models import Role
from portal.audit.services import record
from portal.db import get_session
from portal.forms import ConfirmForm
from portal.payments import outbox

bp = Blueprint("operations", __name__, url_prefix="/operations")


@bp.get("/outbox")
@role_required(Role.ADMIN, Role.FINANCE)
def dead_letters():
    messages = outbox.dead_messages(get_session())
    return render_template("payments/operations.html", messages=messages, form=ConfirmForm())


@bp.post("/outbox/<int:message_id>/resend")
@role_required(Role.ADMIN, Role.FINANCE)
def resend(message_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    session = get_session()
    message = outbox.resend(session, message_id)
    if message is None:
        abort(404)
    record(session, f"user:{current_user.id}", "outbox.resend", f"outbox:{message.id}", topic=message.topic)
    flash(_("The message will be sent again now."), "success")
    return redirect(url_for("operations.dead_letters"))

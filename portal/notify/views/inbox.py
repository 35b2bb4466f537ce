"""The resident's notices (the in-app inbox) and notification preferences; the unread count in the
navigation, and the language a resident last used, kept for notices sent by SMS or e-mail."""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from portal.accounts.models import User
from portal.authz import Role, role_required
from portal.db import get_session
from portal.errors import PortalError
from portal.forms import ConfirmForm
from portal.i18n import current_locale
from portal.notify import services
from portal.notify.forms import PreferencesForm
from portal.notify.texts import render

bp = Blueprint("notify", __name__, url_prefix="/notices")


@bp.get("/")
@role_required(Role.RESIDENT)
def inbox():
    page = request.args.get("page", 1, type=int)
    notices, page, pages = services.inbox(get_session(), current_user, page)
    params = {n.id: json.loads(n.params_json) for n in notices}
    texts = {n.id: render(n.kind, params[n.id], current_locale()) for n in notices}
    links = {n.id: link for n in notices if (link := _link(n.kind, params[n.id])) is not None}
    return render_template(
        "notify/inbox.html",
        notices=notices,
        texts=texts,
        links=links,
        page=page,
        pages=pages,
        read_form=ConfirmForm(),
    )


def _link(kind: str, params: dict) -> tuple[str, str] | None:
    """Where a notice leads: the payment it speaks of, or the saved accounts for a bill still to pay."""
    if kind in ("paid", "refunded", "delayed", "confirmed") and params.get("reference"):
        reference = params["reference"]
        return url_for("payments.detail", reference=reference), _(
            "See payment %(reference)s", reference=reference
        )
    if kind in ("due", "autopay_failed"):
        return url_for("bills.mine"), _("See the bill on Saved accounts")
    if kind == "dispute" and params.get("reference"):
        reference = params["reference"]
        return url_for("disputes.detail", reference=reference), _(
            "See dispute %(reference)s", reference=reference
        )
    return None


@bp.post("/<int:notice_id>/read")
@role_required(Role.RESIDENT)
def mark_read(notice_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.mark_read(get_session(), current_user, notice_id)
    except PortalError:
        abort(404)
    return redirect(url_for("notify.inbox", page=request.args.get("page", 1, type=int)))


@bp.post("/read-all")
@role_required(Role.RESIDENT)
def mark_all_read():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.mark_read(get_session(), current_user)
    flash(_("Every notice is marked as read."), "success")
    return redirect(url_for("notify.inbox"))


@bp.route("/preferences", methods=["GET", "POST"])
@role_required(Role.RESIDENT)
def preferences():
    session = get_session()
    form = PreferencesForm(obj=services.preferences(session, current_user))
    if form.validate_on_submit():
        choices = {name: form[name].data for name in ("reminders", "sms", "email", "campaigns")}
        services.save_preferences(session, current_user, **choices)
        flash(_("Your notification preferences are saved."), "success")
        return redirect(url_for("notify.preferences"))
    return render_template("notify/preferences.html", form=form)


def _is_resident() -> bool:
    return current_user.is_authenticated and current_user.role.value == "resident"


@bp.app_context_processor
def _inbox_link() -> dict:
    return {"unread_notices": _unread_notices}


def _unread_notices() -> int:
    """For the navigation's inbox link: one count query, only on pages a resident sees."""
    if not _is_resident():
        return 0
    if "unread_notices" not in g:
        try:
            g.unread_notices = services.unread_count(get_session(), current_user)
        except SQLAlchemyError:  # the error page after a failed statement or an outage still renders
            g.unread_notices = 0
    return g.unread_notices


@bp.after_app_request
def _remember_locale(response):
    """Notices by SMS / e-mail go out in the language the resident last used here: stored when it
    changes, best effort in a savepoint (a reading request on SQLite may not get to write)."""
    if request.endpoint == "static" or response.status_code >= 400 or not _is_resident():
        return response
    locale = current_locale()
    if current_user.locale == locale:
        return response
    session = get_session()
    try:
        with session.begin_nested():
            statement = update(User).where(User.id == current_user.id).values(locale=locale)
            session.execute(statement.execution_options(synchronize_session=False))
    except OperationalError:
        current_app.logger.info("language of user:%s not stored: the database is busy", current_user.id)
    return response

"""Forgotten password pages: ask for a link, then set a new password through it."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts import reset
from portal.accounts.forms import ForgotPasswordForm, ResetPasswordForm
from portal.db import get_session
from portal.errors import PortalError
from portal.extensions import configured_limit, limiter
from portal.forms import attach_error

bp = Blueprint("password_reset", __name__, url_prefix="/account")


def _link(token: str) -> str:
    # Absolute, for a text message or e-mail read outside the browser.
    return current_app.config["PORTAL_BASE_URL"] + url_for("password_reset.choose", token=token)


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(configured_limit("RATELIMIT_PASSWORD_RESET"), methods=["POST"])
def forgot():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.change_password"))
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        reset.request_reset(get_session(), form.identifier.data, _link)
        return redirect(url_for("password_reset.sent"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.get("/forgot-password/sent")
def sent():
    return render_template("accounts/forgot_password_sent.html")


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit(configured_limit("RATELIMIT_LOGIN"), methods=["POST"])
def choose(token: str):
    db = get_session()
    if reset.valid_token(db, token) is None:
        return render_template("accounts/reset_link_expired.html", message=reset.link_expired_message())
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            reset.reset_password(db, token, form.password.data)
        except PortalError as error:
            attach_error(form, error)
        else:
            flash(_("Your password has been changed and every device was logged out. Log in now."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)

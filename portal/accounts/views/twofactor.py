"""Two-factor pages: the second step of a login (code or recovery code), enrolment (staff at their
first login, residents from their account page), new recovery codes, and switching it off (residents)."""

from __future__ import annotations

import segno
from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from portal.accounts import auth, services, twofactor
from portal.accounts.forms import PasswordCheckForm, RecoveryCodeForm, TwoFactorCodeForm
from portal.accounts.models import User
from portal.accounts.views.account import home_for
from portal.authz import per_user_key
from portal.db import get_session
from portal.errors import AuthenticationFailed, PortalError
from portal.extensions import limiter
from portal.forms import attach_error

bp = Blueprint("two_factor", __name__, url_prefix="/account/two-factor")
FEW_RECOVERY_CODES = 3


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


@bp.route("", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def verify():
    form = TwoFactorCodeForm()
    return _second_step(form, form.code, twofactor.verify_code, "accounts/two_factor_verify.html")


@bp.route("/recovery", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def recovery():
    form = RecoveryCodeForm()
    return _second_step(
        form, form.recovery_code, twofactor.use_recovery_code, "accounts/two_factor_recovery.html"
    )


def _second_step(form, field, check, template: str):
    """Shared by both ways to give the second factor; only someone who just gave the password gets here."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    db = get_session()
    user = auth.pending_user(db)
    if user is None:
        return _restart()
    if not user.two_factor_enrolled:
        return redirect(url_for(".setup"))
    if form.validate_on_submit():
        try:
            left = check(db, user, field.data)
        except AuthenticationFailed as error:
            return _restart(error.message)  # locked now: the password step comes first again
        except PortalError as error:
            attach_error(form, error)  # rendered with 200 so the failure count and audit are committed
        else:
            return _finish_login(user, auth.pending_next(), recovery_codes_left=left)
    return render_template(template, form=form, signing_in=True)


@bp.route("/setup", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def setup():
    """Scan the QR code (or type the key) and prove it with a first code."""
    signed_in = current_user.is_authenticated
    user = current_user._get_current_object() if signed_in else auth.pending_user(get_session())
    if user is None or (not user.has_totp_secret and not signed_in):
        return _restart()
    if user.two_factor_enrolled:
        return redirect(url_for("accounts.profile" if signed_in else ".verify"))
    if not user.has_totp_secret:
        return redirect(url_for(".enable"))
    form = TwoFactorCodeForm()
    if form.validate_on_submit():
        try:
            codes = twofactor.confirm_enrolment(get_session(), user, form.code.data)
        except PortalError as error:
            attach_error(form, error)
        else:
            return _enrolled(user, codes, signed_in)
    plain = user.totp_secret or ""  # decrypted once, for this page only
    secret = " ".join(plain[i : i + 4] for i in range(0, len(plain), 4))
    return render_template(
        "accounts/two_factor_setup.html",
        form=form,
        secret=secret,
        qr_svg=_qr_svg(user),
        signing_in=not signed_in,
    )


@bp.route("/enable", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per hour", methods=["POST"], key_func=per_user_key)
def enable():
    if current_user.two_factor_enrolled:
        return redirect(url_for("accounts.profile"))
    form = PasswordCheckForm()
    if form.validate_on_submit():
        try:
            twofactor.start_enrolment(current_user, form.password.data)
        except PortalError as error:
            attach_error(form, error)
        else:
            return redirect(url_for(".setup"))
    return _password_page(form, _("Turn on two-factor authentication"), _("Continue"))


@bp.route("/disable", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per hour", methods=["POST"], key_func=per_user_key)
def disable():
    if current_user.is_staff or not current_user.two_factor_enrolled:
        return redirect(url_for("accounts.profile"))
    form = PasswordCheckForm()
    if form.validate_on_submit():
        try:
            twofactor.disable(get_session(), current_user, form.password.data)
        except PortalError as error:
            attach_error(form, error)
        else:
            flash(_("Two-factor authentication is off. Your password alone now logs you in."), "success")
            return redirect(url_for("accounts.profile"))
    return _password_page(form, _("Turn off two-factor authentication"), _("Turn off"))


@bp.route("/recovery-codes", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per hour", methods=["POST"], key_func=per_user_key)
def new_recovery_codes():
    if not current_user.two_factor_enrolled:
        return redirect(url_for("accounts.profile"))
    form = PasswordCheckForm()
    if form.validate_on_submit():
        try:
            codes = twofactor.renew_recovery_codes(get_session(), current_user, form.password.data)
        except PortalError as error:
            attach_error(form, error)
        else:
            return render_template(
                "accounts/two_factor_codes.html", codes=codes, continue_url=url_for("accounts.profile")
            )
    return _password_page(form, _("Make new recovery codes"), _("Make new codes"))


def _restart(message: str | None = None):
    auth.clear_pending()
    flash(message or _("Your login was not finished in time. Log in again."), "info")
    return redirect(url_for("accounts.login"))


def _finish_login(user: User, next_url: str | None, recovery_codes_left: int | None):
    auth.start_session(get_session(), user)  # clears the Flask session: flash after it
    flash(_("You are logged in."), "success")
    if recovery_codes_left is not None and recovery_codes_left <= FEW_RECOVERY_CODES:
        flash(
            _(
                "You have %(count)d recovery codes left. Make new ones on My account.",
                count=recovery_codes_left,
            ),
            "info",
        )
    return redirect(next_url or home_for(user))


def _enrolled(user: User, codes: list[str], signed_in: bool):
    """Recovery codes are rendered in this response only: they are stored as hashes and never shown again."""
    if signed_in:
        auth.end_other_sessions(get_session(), user)
        continue_url = url_for("accounts.profile")
    else:
        continue_url = auth.pending_next() or home_for(user)
        services.record_login(user)  # enrolling was this login's second factor
        auth.start_session(get_session(), user)
    flash(_("Two-factor authentication is on."), "success")
    return render_template("accounts/two_factor_codes.html", codes=codes, continue_url=continue_url)


def _password_page(form: PasswordCheckForm, heading: str, button: str):
    return render_template("accounts/two_factor_password.html", form=form, heading=heading, button=button)


def _qr_svg(user: User) -> Markup:
    qr = segno.make(twofactor.provisioning_uri(user), error="m")
    svg = qr.svg_inline(scale=4, title=_("QR code for your authenticator app"), light="#fff", dark="#000")
    svg = svg.replace("<svg ", '<svg role="img" ', 1)
    return Markup(svg)  # noqa: S704 - segno's SVG escapes the title  # nosec B704

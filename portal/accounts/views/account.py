"""Account pages: register, log in, log out, profile, identity and password."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal import identity
from portal.accounts import auth, services, twofactor
from portal.accounts.forms import ChangePasswordForm, IdentityForm, LoginForm, RegistrationForm
from portal.authz import Role, per_user_key
from portal.db import get_session
from portal.errors import PortalError
from portal.extensions import limiter
from portal.forms import attach_error
from portal.web import safe_next_url

bp = Blueprint("accounts", __name__, url_prefix="/account")


@bp.record_once
def _template_helpers(state) -> None:
    """The agency page (agencies, below accounts) shows how many clerks the agency has."""
    state.app.jinja_env.globals["clerk_count"] = lambda agency: services.clerk_count(get_session(), agency)


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def home_for(user) -> str:
    if user.role is Role.CLERK:
        return url_for("agencies.overview", code=user.agency.code)
    if user.role is Role.ADMIN:
        return url_for("admin.staff")
    if user.role is Role.FINANCE:
        return url_for("agencies.index")
    if user.role is Role.CASHIER:
        return url_for("counter.index")
    return url_for("accounts.profile")


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = RegistrationForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            user = services.register_resident(db, form.identifier.data, form.password.data)
        except PortalError as error:
            attach_error(form, error)
        else:
            auth.start_session(db, user)
            flash(_("Your account has been created and you are logged in."), "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            user = twofactor.check_password(db, form.identifier.data, form.password.data)
        except PortalError as error:
            # Rendered with 200 so the failure counter the service updated is committed.
            attach_error(form, error)
        else:
            next_url = safe_next_url(request.args.get("next"), "")
            if user.two_factor_required:
                auth.begin_second_step(user, next_url)
                step = "two_factor.verify" if user.two_factor_enrolled else "two_factor.setup"
                return redirect(url_for(step))
            auth.start_session(db, user)
            flash(_("You are logged in."), "success")
            return redirect(next_url or home_for(user))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
def logout():
    # CSRFProtect has already checked the token of this POST.
    auth.end_session(get_session())
    flash(_("You have logged out."), "success")
    return redirect(url_for("main.index"))


@bp.get("/")
@login_required
def profile():
    enrolled = current_user.two_factor_enrolled
    return render_template(
        "accounts/profile.html",
        recovery_codes_left=twofactor.remaining_recovery_codes(get_session(), current_user)
        if enrolled
        else 0,
        masked_id=identity.mask_national_id(current_user.national_id),
        masked_phone=identity.mask_phone(current_user.phone),
        masked_name=identity.mask_name(current_user.real_name),
    )


@bp.route("/identity", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per hour", methods=["POST"], key_func=per_user_key)
def verify_identity():
    if current_user.role is not Role.RESIDENT:
        return redirect(url_for("accounts.profile"))
    if current_user.has_national_id:
        flash(_("Your identity is already verified. To change it, call the hotline 12345."), "info")
        return redirect(url_for("accounts.profile"))
    form = IdentityForm()
    if form.validate_on_submit():
        try:
            session = get_session()
            services.verify_identity(session, current_user, form.real_name.data, form.national_id.data)
        except PortalError as error:
            attach_error(form, error)
        else:
            flash(_("Your identity details have been saved. Your wallet is now ID-verified."), "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/identity.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per hour", methods=["POST"], key_func=per_user_key)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            services.change_password(current_user, form.current_password.data, form.password.data)
        except PortalError as error:
            attach_error(form, error)
        else:
            auth.end_other_sessions(db, current_user)
            flash(_("Your password has been changed. Other devices have been logged out."), "success")
            return redirect(home_for(current_user))
    return render_template("accounts/change_password.html", form=form)

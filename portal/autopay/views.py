"""The resident's auto-pay page of a saved account (under the Saved accounts pages)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.authz import Role, role_required
from portal.autopay import services
from portal.autopay.forms import AutopayForm
from portal.db import get_session
from portal.errors import NotFound, PortalError
from portal.forms import attach_error
from portal.money import plain_yuan

bp = Blueprint("autopay", __name__, url_prefix="/bills/mine")


@bp.record_once
def _template_helpers(state) -> None:
    """The Saved accounts page (bills) shows each account's auto-pay: asked of this domain by name."""
    state.app.jinja_env.globals["autopay_settings"] = _settings_of_resident


def _settings_of_resident() -> dict:
    return services.settings_of(get_session(), current_user)


@bp.route("/<int:account_id>/autopay", methods=["GET", "POST"])
@role_required(Role.RESIDENT)
def edit(account_id: int):
    db = get_session()
    try:
        page = services.page_of(db, current_user, account_id)
    except NotFound:
        abort(404)
    form = AutopayForm()
    if request.method == "GET" and page.setting is not None:
        form.enabled.data = page.setting.enabled
        form.monthly_cap.data = plain_yuan(page.setting.monthly_cap_fen)
    if form.validate_on_submit():
        try:
            services.save_setting(db, current_user, account_id, form.enabled.data, form.monthly_cap.fen)
        except PortalError as error:
            attach_error(form, error)
        else:
            flash(_("Auto-pay is on.") if form.enabled.data else _("Auto-pay is off."), "success")
            return redirect(url_for("bills.mine"))
    return render_template(
        "autopay/edit.html",
        form=form,
        account=page.account,
        days_before=page.days_before,
        setting=page.setting,
        month_spent_fen=page.month_spent_fen,
    )

"""Resident bill lookup: choose an agency, fill the fields it asks for, see the bills."""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.auth import role_required
from portal.accounts.identity import mask_name
from portal.accounts.models import Role
from portal.accounts.views import per_user_key
from portal.bills import services
from portal.bills.forms import SaveAccountForm, lookup_form, query_values
from portal.db import get_session
from portal.errors import PortalError
from portal.extensions import configured_limit, limiter
from portal.forms import ConfirmForm
from portal.i18n import current_locale
from portal.payments.checkout import Selection

bp = Blueprint("bills", __name__, url_prefix="/bills")


@bp.get("/")
def index():
    return render_template("bills/index.html", agencies=services.lookup_agencies(get_session()))


@bp.get("/<code>")
@limiter.limit(configured_limit("RATELIMIT_LOOKUP"), key_func=per_user_key)
def lookup(code: str):
    found = services.find_agency(get_session(), code)
    if found is None:
        abort(404)
    agency, adapter = found
    form = lookup_form(adapter, current_locale(), request.args if request.args else None)
    bills, problem = None, None
    if request.args and form.validate():
        try:
            bills = services.lookup(adapter, query_values(adapter, form))
        except PortalError as error:
            problem = error.message
    save_form = SaveAccountForm() if bills is not None and _is_resident() else None
    tokens = pay_tokens(agency.code, query_values(adapter, form), bills) if save_form and bills else None
    return render_template(
        "bills/lookup.html",
        agency=agency,
        adapter=adapter,
        form=form,
        bills=bills,
        problem=problem,
        mask_name=mask_name,
        save_form=save_form,
        tokens=tokens,
    )


def pay_tokens(agency_code: str, values: dict[str, str], bills) -> dict[str, str]:
    """The checkbox value of each bill: what checkout needs to find it again."""
    query = tuple(sorted(values.items()))
    return {bill.bill_id: Selection(agency_code, query, bill.bill_id).token() for bill in bills}


def _is_resident() -> bool:
    return current_user.is_authenticated and current_user.role is Role.RESIDENT


@bp.post("/<code>/save")
@role_required(Role.RESIDENT)
def save(code: str):
    db = get_session()
    found = services.find_agency(db, code)
    if found is None:
        abort(404)
    agency, adapter = found
    form = lookup_form(adapter, current_locale(), request.form)
    save_form = SaveAccountForm()
    if not (form.validate() and save_form.validate_on_submit()):
        flash(_("The account could not be saved: look it up again and check the details."), "error")
        return redirect(url_for("bills.lookup", code=code))
    try:
        services.save_account(db, current_user, agency, query_values(adapter, form), save_form.nickname.data)
    except PortalError as error:
        flash(error.message, "error")
        return redirect(url_for("bills.lookup", code=code))
    flash(_("The account is saved. Its bills appear under Saved accounts."), "success")
    return redirect(url_for("bills.mine"))


@bp.get("/mine")
@role_required(Role.RESIDENT)
@limiter.limit(configured_limit("RATELIMIT_LOOKUP"), key_func=per_user_key)
def mine():
    rows = services.dashboard(get_session(), current_user)
    tokens = {
        row.account.id: pay_tokens(row.account.agency.code, json.loads(row.account.query_json), row.bills)
        for row in rows
    }
    return render_template(
        "bills/mine.html", rows=rows, tokens=tokens, mask_name=mask_name, delete_form=ConfirmForm()
    )


@bp.post("/mine/<int:account_id>/delete")
@role_required(Role.RESIDENT)
def delete(account_id: int):
    try:
        services.delete_account(get_session(), current_user, account_id)
    except PortalError:
        abort(404)
    flash(_("The saved account was removed."), "success")
    return redirect(url_for("bills.mine"))

"""Resident bill lookup: choose an agency, fill the fields it asks for, see the bills."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.authz import Role, per_user_key, role_required
from portal.bills import services
from portal.bills.forms import SaveAccountForm, lookup_form, query_values
from portal.db import get_session
from portal.errors import PortalError
from portal.extensions import configured_limit, limiter
from portal.forms import ConfirmForm, confirmation_page, confirmed
from portal.i18n import current_locale
from portal.identity import mask_name

bp = Blueprint("bills", __name__, url_prefix="/bills")


@bp.get("/")
def index():
    return render_template("bills/index.html", agencies=services.lookup_agencies(get_session()))


@bp.route("/<code>", methods=["GET", "POST"])
@limiter.limit(configured_limit("RATELIMIT_LOOKUP"), key_func=per_user_key)
def lookup(code: str):
    """Agencies with sensitive query fields get a POST form (CSRF-checked), so an ID number never
    stands in an address, the browser's history or a server log; the others a GET form."""
    found = services.find_agency_to_show(code)
    if found is None:
        abort(404)
    agency, adapter = found
    formdata = request.form if request.method == "POST" else request.args
    form = lookup_form(adapter, current_locale(), formdata if formdata else None)
    values, bills, problem = query_values(adapter, form), None, None
    if formdata and form.validate():
        bills, problem = _bills_or_problem(adapter, values)
    save_form = SaveAccountForm() if bills is not None and _is_resident() else None
    return _lookup_page(agency, adapter, form, values, bills, problem, save_form)


def _bills_or_problem(adapter, values: dict[str, str]):
    """The agency's bills now, or why it could not be asked (shown on the page instead)."""
    try:
        return services.lookup(adapter, values), None
    except PortalError as error:
        return None, error.message


def _lookup_page(agency, adapter, form, values, bills, problem, save_form):
    return render_template(
        "bills/lookup.html",
        agency=agency,
        adapter=adapter,
        form=form,
        bills=bills,
        problem=problem,
        mask_name=mask_name,
        save_form=save_form,
        tokens=services.selection_tokens(agency.code, values, bills) if save_form and bills else None,
        # a visitor not signed in may pay one bill from a wallet whose owner authorises it (portal.guest)
        guest_tokens=services.selection_tokens(agency.code, values, bills)
        if bills and not current_user.is_authenticated
        else None,
        hidden_values=services.hidden_values(adapter, values) if save_form else {},  # sensitive ones sealed
    )


def _is_resident() -> bool:
    return current_user.is_authenticated and current_user.role is Role.RESIDENT


@bp.post("/<code>/save")
@role_required(Role.RESIDENT)
@limiter.limit(configured_limit("RATELIMIT_LOOKUP"), key_func=per_user_key)  # it may look the bills up again
def save(code: str):
    db = get_session()
    found = services.find_agency(db, code)
    if found is None:
        abort(404)
    agency, adapter = found
    form = lookup_form(adapter, current_locale(), services.unsealed_form(adapter, request.form))
    save_form = SaveAccountForm()
    if not form.validate():
        flash(_("The account could not be saved: look it up again and check the details."), "error")
        return redirect(url_for("bills.lookup", code=code))
    values = query_values(adapter, form)
    if not save_form.validate_on_submit():  # the nickname: its message beside it, the bills shown again
        bills, problem = _bills_or_problem(adapter, values)
        return _lookup_page(agency, adapter, form, values, bills, problem, save_form), 400
    try:
        services.save_account(db, current_user, agency, values, save_form.nickname.data)
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
        row.account.id: services.selection_tokens(row.account.agency.code, row.account.query, row.bills)
        for row in rows
    }
    return render_template(
        "bills/mine.html",
        rows=rows,
        tokens=tokens,
        mask_name=mask_name,
        delete_form=ConfirmForm(),
    )


@bp.post("/mine/<int:account_id>/delete")
@role_required(Role.RESIDENT)
def delete(account_id: int):
    """Asks once more: the account's auto-pay goes with it."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    db = get_session()
    try:
        account = services.saved_account_of(db, current_user, account_id)
    except PortalError:
        abort(404)
    if not confirmed(request.form):
        return confirmation_page(
            _("Remove the saved account “%(nickname)s”?", nickname=account.nickname),
            _(
                "Its bills no longer show under Saved accounts and its auto-pay stops. You can save it again "
                "from a bill lookup."
            ),
            _("Yes, remove this account"),
            url_for("bills.mine"),
        )
    services.delete_account(db, current_user, account_id)
    flash(_("The saved account was removed."), "success")
    return redirect(url_for("bills.mine"))

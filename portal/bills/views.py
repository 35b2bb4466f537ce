"""Resident bill lookup: choose an agency, fill the fields it asks for, see the bills."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from portal.accounts.identity import mask_name
from portal.bills import services
from portal.bills.forms import lookup_form, query_values
from portal.db import get_session
from portal.errors import PortalError
from portal.i18n import current_locale

bp = Blueprint("bills", __name__, url_prefix="/bills")


@bp.get("/")
def index():
    return render_template("bills/index.html", agencies=services.lookup_agencies(get_session()))


@bp.get("/<code>")
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
    return render_template(
        "bills/lookup.html",
        agency=agency,
        adapter=adapter,
        form=form,
        bills=bills,
        problem=problem,
        mask_name=mask_name,
    )

"""The counter's pages: the shift, finding a bill of an agency the hall serves, taking it in cash or by
card, the receipt to print, the cash-up; and the admins' page of service halls."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from portal.agencies import services as agency_services
from portal.authz import Role, role_required
from portal.bills import services as bills
from portal.bills.forms import lookup_form, query_values
from portal.counter import halls, services
from portal.counter.forms import BillForm, CashUpForm, HallForm, TakeForm
from portal.counter.models import Tender
from portal.db import get_session
from portal.errors import NotFound, PortalError
from portal.forms import ConfirmForm, attach_error, confirmation_page, confirmed
from portal.i18n import current_locale
from portal.identity import mask_name
from portal.money import format_fen
from portal.payments import checkout
from portal.receipts.download import receipt_response
from portal.receipts.services import receipts_of
from portal.wallet.factory import wallet_service
from portal.web import not_found, render_error

bp = Blueprint("counter", __name__, url_prefix="/counter")
cashier_only = role_required(Role.CASHIER)


@bp.get("/")
@cashier_only
def index():
    db = get_session()
    try:
        hall = services.hall_of(db, current_user)
    except services.NoHall as error:
        return render_error(403, error.message)
    shift = services.current_shift(db, current_user)
    return render_template(
        "counter/index.html",
        hall=hall,
        shift=shift,
        summary=services.summary(db, shift) if shift else None,
        recent=services.recent_shifts(db, current_user),
        form=ConfirmForm(),
    )


@bp.post("/shift")
@cashier_only
def open_shift():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.open_shift(get_session(), current_user)
    except PortalError as error:
        return render_error(403, error.message)
    return redirect(url_for("counter.index"))


@bp.route("/bills/<code>", methods=["GET", "POST"])
@cashier_only
def lookup(code: str):
    """The agency's query fields, as residents see them; only agencies the hall serves."""
    db = get_session()
    found = bills.find_agency_to_show(code)
    if found is None:
        abort(404)
    agency, adapter = found
    try:
        services.require_served(services.hall_of(db, current_user), code, current_locale())
    except PortalError as error:
        return render_error(403, error.message)
    formdata = request.form if request.method == "POST" else None
    form = lookup_form(adapter, current_locale(), formdata)
    found_bills, problem, tokens = None, None, {}
    if formdata and form.validate():
        values = query_values(adapter, form)
        try:
            found_bills = bills.lookup(adapter, values)
        except PortalError as error:
            problem = error.message
        else:
            tokens = bills.selection_tokens(agency.code, values, found_bills)
    return render_template(
        "counter/lookup.html",
        agency=agency,
        adapter=adapter,
        form=form,
        bills=found_bills,
        problem=problem,
        tokens=tokens,
        mask_name=mask_name,
    )


@bp.post("/take")
@cashier_only
def take():
    """From the lookup's button (the bill only) or the filled-in form: take the bill."""
    if "key" not in request.form:  # the lookup's button carries the bill only
        start = BillForm()
        if not start.validate_on_submit():
            abort(400)
        form = TakeForm(formdata=None, bill=start.bill.data, key=secrets.token_urlsafe(24))
        return _take_page(form)
    form = TakeForm()
    if form.validate_on_submit():
        takings = services.Takings(
            Tender(form.tender.data), tendered_fen=form.tendered.fen, card_number=form.card_number.data or ""
        )
        db = get_session()
        try:
            payment = services.collect(
                db,
                wallet_service(db),
                current_user,
                form.bill.data,
                form.amount_seen.data,
                takings,
                form.key.data,
                current_locale(),
            )
        except services.NotThisHall as error:
            return render_error(403, error.message)
        except PortalError as error:
            attach_error(form, error)
        else:
            return redirect(url_for("counter.payment", reference=payment.reference))
    return _take_page(form, status=400)


def _take_page(form: TakeForm, status: int = 200):
    """The bill as its agency reports it now, with the ways to pay it; back to the counter when it
    cannot be taken."""
    db = get_session()
    selection = checkout.selection_from_token(form.bill.data or "")
    try:
        if selection is None:
            raise PortalError(_("This bill can no longer be chosen. Look it up again."))
        services.require_served(services.hall_of(db, current_user), selection.agency_code, current_locale())
        line = checkout.quote(db, [selection], current_locale()).lines[0]
    except services.NotThisHall as error:
        return render_error(403, error.message)
    except PortalError as error:
        flash(error.message, "error")
        return redirect(url_for("counter.index"))
    if not line.payable:
        flash(_("Bill %(bill)s is not open: there is nothing to take.", bill=line.bill.bill_id), "error")
        return redirect(url_for("counter.index"))
    form.amount_seen.data = line.bill.total_fen
    return render_template("counter/take.html", form=form, line=line, mask_name=mask_name), status


@bp.get("/payments/<reference>")
@cashier_only
def payment(reference: str):
    db = get_session()
    try:
        found, taken = services.payment_at_hall(db, current_user, reference)
    except PortalError:
        not_found("counter payment", reference)
    return render_template(
        "counter/payment.html", payment=found, taken=taken, receipts=receipts_of(db, found.id)
    )


@bp.get("/payments/<reference>/receipts/<number>.pdf")
@cashier_only
def receipt(reference: str, number: str):
    try:
        found, _taken = services.payment_at_hall(get_session(), current_user, reference)
    except PortalError:
        not_found("counter payment", reference)
    return receipt_response(found, number)


@bp.get("/shifts/<reference>")
@cashier_only
def shift(reference: str):
    db = get_session()
    try:
        found = services.shift_of(db, current_user, reference)
    except NotFound:
        not_found("shift", reference)
    return render_template("counter/shift.html", summary=services.summary(db, found))


@bp.route("/shifts/<reference>/close", methods=["GET", "POST"])
@cashier_only
def close(reference: str):
    """The cash-up: the counted cash, then the difference shown before the shift is closed."""
    db = get_session()
    try:
        found = services.shift_of(db, current_user, reference)
    except NotFound:
        not_found("shift", reference)
    form = CashUpForm()
    if found.state.value == "closed":
        flash(_("This shift is closed already; its cash-up stands as recorded."), "info")
        return redirect(url_for("counter.shift", reference=reference))
    if form.validate_on_submit():
        counted = form.counted.fen
        if not confirmed(request.form):
            return _difference_page(found, counted, form.counted.data)
        try:
            services.close_shift(db, wallet_service(db), current_user, reference, counted)
        except PortalError as error:
            attach_error(form, error)
        else:
            flash(_("Shift %(shift)s is closed and its cash handed over.", shift=reference), "success")
            return redirect(url_for("counter.shift", reference=reference))
    status = 400 if form.errors else 200
    return render_template("counter/close.html", shift=found, form=form), status


def _difference_page(shift, counted: int, typed: str):
    expected = services.expected_cash(get_session(), shift)
    difference = counted - expected
    if difference == 0:
        consequence = _("The till holds what its payments took: %(amount)s.", amount=format_fen(expected))
    elif difference < 0:
        consequence = _(
            "The till is %(short)s short: payments took %(expected)s, you counted %(counted)s. The shortfall "
            "is recorded against this shift.",
            short=format_fen(-difference),
            expected=format_fen(expected),
            counted=format_fen(counted),
        )
    else:
        consequence = _(
            "The till holds %(over)s too much: payments took %(expected)s, you counted %(counted)s. The "
            "surplus is recorded against this shift.",
            over=format_fen(difference),
            expected=format_fen(expected),
            counted=format_fen(counted),
        )
    return confirmation_page(
        _(
            "Close shift %(shift)s and hand over %(counted)s?",
            shift=shift.reference,
            counted=format_fen(counted),
        ),
        consequence
        + ("" if current_locale().startswith("zh") else " ")
        + _("A closed shift takes no more payments."),
        _("Yes, close the shift"),
        url_for("counter.close", reference=shift.reference),
        fields={"counted": typed},
    )


@bp.route("/halls", methods=["GET", "POST"], endpoint="halls")
@role_required(Role.ADMIN)
def halls_page():
    db = get_session()
    form = HallForm()
    form.agencies.choices = [
        SelectChoice(agency.code, agency.name_for(current_locale()))
        for agency in agency_services.all_agencies(db)
    ]
    if form.validate_on_submit():
        try:
            hall = halls.save_hall(
                db, current_user, form.code.data, form.name_zh.data, form.name_en.data, form.agencies.data
            )
        except PortalError as error:
            attach_error(form, error)
        else:
            flash(_("Service hall %(hall)s saved.", hall=hall.name_for(current_locale())), "success")
            return redirect(url_for("counter.halls"))
    status = 400 if form.errors else 200
    return render_template("counter/halls.html", form=form, halls=halls.all_halls(db)), status

"""Paying a bill without signing in: the bill from the lookup page, the payer's wallet, the owner's
code, the receipt. The try lives in the visitor's session, never in an address."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from portal.db import get_session
from portal.errors import PortalError
from portal.extensions import configured_limit, limiter
from portal.forms import attach_error
from portal.guest import services
from portal.guest.forms import CodeForm, StartForm, WalletForm
from portal.i18n import current_locale
from portal.payments.checkout import selection_from_token
from portal.wallet.factory import wallet_service

bp = Blueprint("guest", __name__, url_prefix="/pay")
ATTEMPT, PAID = "guest_attempt", "guest_paid"


def _wallet_key() -> str:
    return "guest-wallet:" + services.payer_key(get_session(), request.form.get("wallet", ""))


def _bill_key() -> str:
    selection = selection_from_token(request.form.get("bill", ""))
    return f"guest-bill:{selection.agency_code}:{selection.bill_id}" if selection else "guest-bill:none"


@bp.post("/start")
@limiter.limit(configured_limit("RATELIMIT_LOOKUP"))
def start():
    """From the lookup page's button: which wallet is to pay this bill."""
    form = StartForm()
    if not form.validate_on_submit():
        abort(400)
    return _wallet_page(WalletForm(formdata=None, bill=form.bill.data))


@bp.post("/wallet")
@limiter.limit(configured_limit("RATELIMIT_GUEST_ADDRESS"), key_func=get_remote_address)
@limiter.limit(configured_limit("RATELIMIT_GUEST_WALLET"), key_func=_wallet_key)
@limiter.limit(configured_limit("RATELIMIT_GUEST_BILL"), key_func=_bill_key)
def wallet():
    form = WalletForm()
    if form.validate_on_submit():
        try:
            attempt = services.start(
                get_session(), form.bill.data, form.wallet.data, get_remote_address() or "", current_locale()
            )
        except PortalError as error:
            attach_error(form, error)
        else:
            session[ATTEMPT] = attempt.token
            return redirect(url_for("guest.code"))
    return _wallet_page(form, status=400)


@bp.route("/code", methods=["GET", "POST"])
def code():
    attempt = services.attempt_of(get_session(), session.get(ATTEMPT))
    if attempt is None:
        flash(_("Choose the bill to pay first."), "error")
        return redirect(url_for("bills.index"))
    form = CodeForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            payment = services.confirm(
                db, wallet_service(db), attempt.token, form.code.data, current_locale()
            )
        except services.TryEnded as error:
            session.pop(ATTEMPT, None)
            flash(error.message, "error")
            return redirect(url_for("bills.index"))
        except services.WrongCode as error:
            attach_error(form, error)  # a wrong code counts: the page answers 200 so the count is kept
        else:
            session.pop(ATTEMPT, None)
            session[PAID] = payment.reference
            return redirect(url_for("guest.done"))
    return render_template("guest/code.html", form=form, attempt=attempt)


@bp.get("/done")
def done():
    payment = services.paid(get_session(), session.get(PAID))
    if payment is None:
        return redirect(url_for("bills.index"))
    return render_template("guest/done.html", payment=payment)


def _wallet_page(form: WalletForm, status: int = 200):
    """The bill as its agency reports it now, and the wallet form; back to the lookup when it cannot
    be paid this way."""
    try:
        line = services.bill_to_pay(get_session(), form.bill.data or "", current_locale())
    except PortalError as error:
        flash(error.message, "error")
        return redirect(url_for("bills.index"))
    return render_template("guest/wallet.html", form=form, line=line), status

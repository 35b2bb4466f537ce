"""Resident pages: review the chosen bills, confirm, see the payment and its receipts, the history."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.authz import Role, per_user_key, role_required
from portal.db import get_session
from portal.errors import NotFound, PortalError
from portal.extensions import configured_limit, limiter
from portal.forms import ConfirmForm
from portal.i18n import current_locale
from portal.identity import mask_name
from portal.money import format_fen as fen
from portal.payments import checkout, confirmation, labels, services
from portal.promotions.discounts import campaign_of
from portal.screening import Blocked
from portal.wallet.errors import WalletError
from portal.wallet.factory import wallet_service
from portal.wallet.resident import ensure_wallet
from portal.wallet.services import spending_refusal
from portal.web import not_found, referring_page

bp = Blueprint("payments", __name__, url_prefix="/payments")


@bp.record_once
def _template_helpers(state) -> None:
    state.app.jinja_env.globals.update(
        payment_state_label=lambda value: str(labels.PAYMENT_STATE_LABELS[value]),
        payment_state_help=lambda value: str(labels.PAYMENT_STATE_HELP[value]),
        item_state_label=lambda value: str(labels.ITEM_STATE_LABELS[value]),
        channel_label=lambda value: str(labels.CHANNEL_LABELS[value]),
        mask_name=mask_name,
    )


@bp.post("/review")
@role_required(Role.RESIDENT)
@limiter.limit(configured_limit("RATELIMIT_PAYMENT"), key_func=per_user_key)
def review():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        selections = checkout.parse_selections(request.form.getlist("bill"))
        quote = checkout.quote(get_session(), selections, current_locale())
    except PortalError as error:
        flash(error.message, "error")
        return redirect(referring_page() or url_for("bills.index"))
    return _review_page(quote)


@bp.post("/confirm")
@role_required(Role.RESIDENT)
@limiter.limit(configured_limit("RATELIMIT_PAYMENT"), key_func=per_user_key)
def confirm():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    session = get_session()
    try:
        done = confirmation.confirm(
            session,
            wallet_service(session),
            current_user,
            request.form.get("quote", ""),
            request.form,
            current_locale(),
        )
    except checkout.QuoteChanged as error:
        return _review_page(error.quote, problem=error.message, status=409)
    except confirmation.PaymentRefused as error:
        return _review_page(error.quote, problem=error.message, status=409, field=error.field)
    except Blocked as error:  # nothing was paid; the redirect commits the flag for the officers
        flash(error.message, "error")
        return redirect(url_for("payments.history"))
    except PortalError as error:  # the review expired, or the agencies could not be asked again
        flash(error.message, "error")
        return redirect(url_for("bills.index"))
    if done.other_amounts:
        flash(
            _(
                "This confirmation was used already: it paid %(amount)s, as below. The amounts you "
                "entered this time were not used and nothing more was paid.",
                amount=fen(done.payment.total_fen),
            ),
            "error",
        )
    elif not done.replayed:
        paid_from_wallet = fen(done.payment.total_fen - done.payment.discount_fen)
        flash(
            _("Paid: %(amount)s left your wallet. Keep the receipt below.", amount=paid_from_wallet),
            "success",
        )
    return redirect(url_for("payments.detail", reference=done.payment.reference))


def _review_page(quote, problem: str | None = None, status: int = 200, field: str | None = None):
    session = get_session()
    offer = services.discount_offer(session, current_user, quote)
    token = checkout.sign_quote(quote, current_user.id, offer.discount_fen if offer else 0)
    balance = ensure_wallet(wallet_service(session), current_user)
    available = balance.available_fen
    # A frozen wallet gets no pay button: the page says so, in the words the refusal would use. So does
    # a total over the wallet's limits (topping up cannot help there); short of funds, it says to top up.
    frozen = WalletError("wallet_frozen").message if balance.frozen else None
    wanted = quote.total_due_fen - (offer.discount_fen if offer else 0)
    refusal = spending_refusal(balance.limits, balance.left_today_fen, available, wanted)
    page = render_template(
        "payments/review.html",
        quote=quote,
        offer=offer,
        token=token,
        form=ConfirmForm(),
        problem=problem,
        field=field,
        available_fen=available,
        frozen=frozen,
        short_of_funds=refusal is not None and refusal.code == "insufficient_funds",
        over_limit=refusal.message if refusal is not None and refusal.code != "insufficient_funds" else None,
        can_raise_limits=balance.tier == "basic",
        back_url=referring_page() or url_for("bills.index"),  # where the bills were ticked
    )
    return page, status


@bp.get("/")
@role_required(Role.RESIDENT)
def history():
    page = request.args.get("page", 1, type=int) or 1
    payments, page, pages = services.history(get_session(), current_user, page)
    return render_template("payments/history.html", payments=payments, page=page, pages=pages)


@bp.get("/<reference>")
@role_required(Role.RESIDENT)
def detail(reference: str):
    session = get_session()
    payment = _own_payment(reference)
    refunds = services.refunds_of(session, payment)
    campaign = campaign_of(session, payment.id) if payment.discount_fen else None
    return render_template("payments/detail.html", payment=payment, refunds=refunds, campaign=campaign)


def _own_payment(reference: str):
    try:
        return services.payment_of(get_session(), current_user, reference)
    except NotFound:
        not_found("payment", reference)

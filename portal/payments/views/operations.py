"""Operations pages for finance and admin staff: find a payment and refund its bills; agency messages
the outbox gave up on, with a manual resend."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import outbox
from portal.audit.services import record
from portal.authz import Role, role_required
from portal.db import get_session
from portal.errors import NotFound, PortalError
from portal.forms import ConfirmForm, attach_error
from portal.i18n import current_locale, sentence_gap
from portal.money import format_fen as fen
from portal.payments import refunds
from portal.payments.forms import FindPaymentForm, RefundForm
from portal.payments.services import refunds_of
from portal.promotions.discounts import campaign_of
from portal.wallet.factory import wallet_service

bp = Blueprint("operations", __name__, url_prefix="/operations")


@bp.get("/outbox")
@role_required(Role.ADMIN, Role.FINANCE)
def dead_letters():
    messages = outbox.dead_messages(get_session())
    return render_template("payments/operations.html", messages=messages, form=ConfirmForm())


@bp.post("/outbox/<int:message_id>/resend")
@role_required(Role.ADMIN, Role.FINANCE)
def resend(message_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    session = get_session()
    message = outbox.resend(session, message_id)
    if message is None:
        abort(404)
    record(session, f"user:{current_user.id}", "outbox.resend", f"outbox:{message.id}", topic=message.topic)
    flash(_("The message will be sent again now."), "success")
    return redirect(url_for("operations.dead_letters"))


@bp.get("/payments")
@role_required(Role.ADMIN, Role.FINANCE)
def find_payment():
    form = FindPaymentForm(request.args)
    if not request.args or not form.validate():
        return render_template("payments/find.html", form=form)
    try:
        payment = refunds.payment_for_staff(get_session(), form.reference.data)
    except NotFound as error:
        attach_error(form, PortalError(error.message, field="reference"))
        return render_template("payments/find.html", form=form), 404
    return redirect(url_for("operations.payment", reference=payment.reference))


@bp.get("/payments/<reference>")
@role_required(Role.ADMIN, Role.FINANCE)
def payment(reference: str):
    return _payment_page(reference, {})


def _payment_page(reference: str, forms: dict, status: int = 200):
    session = get_session()
    try:
        found = refunds.payment_for_staff(session, reference)
    except NotFound:
        abort(404)
    for item in found.items:
        if item.id not in forms:
            forms[item.id] = RefundForm(prefix=f"item{item.id}", formdata=None)
            forms[item.id].idempotency_key.data = secrets.token_urlsafe(24)
    page = render_template(
        "payments/staff_payment.html",
        payment=found,
        forms=forms,
        refunds=refunds_of(session, found),
        campaign=campaign_of(session, found.id) if found.discount_fen else None,
    )
    return page, status


@bp.post("/payments/<reference>/items/<int:item_id>/refund")
@role_required(Role.FINANCE)
def refund(reference: str, item_id: int):
    form = RefundForm(prefix=f"item{item_id}")
    if form.validate_on_submit():
        session = get_session()
        try:
            done = refunds.refund_item(
                session,
                wallet_service(session),
                current_user,
                reference,
                item_id,
                form.amount.fen,
                form.reason.data,
                form.idempotency_key.data,
            )
        except NotFound:
            abort(404)
        except PortalError as error:
            attach_error(form, error)
        else:
            flash(refunded_message(done), "success")
            return redirect(url_for("operations.payment", reference=reference))
    return _payment_page(reference, {item_id: form}, status=422)


def refunded_message(done) -> str:
    """What went where: a campaign's share of a refund goes back to its budget, not to the resident."""
    wallet = _(
        "Refunded %(amount)s to the resident's wallet.", amount=fen(done.amount_fen - done.campaign_fen)
    )
    if not done.campaign_fen:
        return wallet
    campaign = _("%(amount)s went back to the campaign's budget.", amount=fen(done.campaign_fen))
    return sentence_gap(current_locale()).join((wallet, campaign))

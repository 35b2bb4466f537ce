"""The public page a receipt's QR code opens: genuine receipts show their key facts, others say so."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select

from portal.authz import Role, role_required
from portal.db import get_session
from portal.errors import NotFound
from portal.payments.services import payment_of
from portal.receipts.download import receipt_response
from portal.receipts.models import Receipt
from portal.receipts.services import receipts_of, refund_standing
from portal.receipts.tokens import number_from_token, verification_token
from portal.web import not_found

bp = Blueprint("receipts", __name__, url_prefix="/receipts")
# A resident's receipt files sit under their payment's address.
downloads = Blueprint("receipt_files", __name__, url_prefix="/payments")


@bp.record_once
def _template_helpers(state) -> None:
    """The payment pages list a payment's receipts without the payments domain reading receipts."""
    state.app.jinja_env.globals.update(
        payment_receipts=lambda payment_id: receipts_of(get_session(), payment_id),
        receipt_verification_token=verification_token,
    )


@bp.get("/verify/<token>")
def verify(token: str):
    number = number_from_token(token)
    receipt = None
    if number is not None:
        receipt = get_session().scalar(select(Receipt).where(Receipt.number == number))
    status = 200 if receipt is not None else 404
    refunds = refund_standing(get_session(), receipt) if receipt is not None else None
    return render_template("receipts/verify.html", receipt=receipt, refunds=refunds), status


@downloads.get("/<reference>/receipts/<number>.pdf")
@role_required(Role.RESIDENT)
def receipt_pdf(reference: str, number: str):
    try:
        payment = payment_of(get_session(), current_user, reference)
    except NotFound:
        not_found("payment", reference)
    return receipt_response(payment, number)

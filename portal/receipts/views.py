"""The public page a receipt's QR code opens: genuine receipts show their key facts, others say so."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from portal.db import get_session
from portal.receipts.models import Receipt
from portal.receipts.services import refund_standing
from portal.receipts.tokens import number_from_token

bp = Blueprint("receipts", __name__, url_prefix="/receipts")


@bp.get("/verify/<token>")
def verify(token: str):
    number = number_from_token(token)
    receipt = None
    if number is not None:
        receipt = get_session().scalar(select(Receipt).where(Receipt.number == number))
    status = 200 if receipt is not None else 404
    refunds = refund_standing(get_session(), receipt) if receipt is not None else None
    return render_template("receipts/verify.html", receipt=receipt, refunds=refunds), status

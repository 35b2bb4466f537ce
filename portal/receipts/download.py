"""A receipt's PDF as a download: the resident's payment page and the counter hand it out alike."""

from __future__ import annotations

from flask import Response, abort, request
from flask_babel import gettext as _

from portal.db import get_database, get_session
from portal.payments.models import Payment
from portal.receipts import rendering
from portal.web import render_error


def receipt_response(payment: Payment, number: str):
    """The PDF of one of the payment's receipts (the caller has checked who may see the payment)."""
    try:
        found = rendering.receipt_pdf(get_database(), get_session(), payment, number)
    except rendering.ReceiptNotReady:
        return render_error(503, _("The receipt is still being prepared. Try again in a minute."))
    if found is None:
        abort(404)
    pdf, etag = found
    response = Response(pdf, mimetype="application/pdf")
    response.set_etag(etag)
    response.headers["Content-Disposition"] = f'attachment; filename="receipt-{number}.pdf"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response.make_conditional(request)

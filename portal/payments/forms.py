"""Shapes of payment input."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.input_guard import PortalForm
from portal.wallet.forms import AmountField


class FindPaymentForm(PortalForm):
    class Meta:
        csrf = False  # a GET search that changes nothing

    reference = StringField(
        _l("Payment reference"),
        description=_l("Printed on the resident's receipt, for example P7K3MQ9XD2PABC4E."),
        validators=[DataRequired(_l("Enter a payment reference.")), Length(max=24)],
    )


class RefundForm(PortalForm):
    amount = AmountField(
        _l("Amount to refund (yuan)"),
        validators=[DataRequired(_l("Enter an amount."))],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    reason = TextAreaField(
        _l("Reason"),
        description=_l("The resident and the auditors will read it."),
        validators=[DataRequired(_l("Say why the money is refunded.")), Length(max=200)],
    )
    idempotency_key = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])

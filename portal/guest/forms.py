"""Shapes of the visitor's input: which wallet pays, and the code its owner received."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from portal.input_guard import PortalForm


class StartForm(PortalForm):
    """The lookup page's button: the bill only."""

    bill = HiddenField(validators=[DataRequired(), Length(max=1000)])


class WalletForm(PortalForm):
    bill = HiddenField(validators=[DataRequired(), Length(max=1000)])
    wallet = StringField(
        _l("Wallet number or the wallet's mobile number"),
        description=_l("The 16-digit number on the wallet page, or the mobile the wallet was opened with."),
        validators=[DataRequired(_l("Enter the wallet number or mobile.")), Length(max=40)],
        render_kw={"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"},
    )


class CodeForm(PortalForm):
    code = StringField(
        _l("One-time code"),
        description=_l("The 6 digits sent to the wallet owner's mobile or e-mail."),
        validators=[
            DataRequired(_l("Enter the code.")),
            Regexp(r"^\s*\d{6}\s*$", message=_l("Enter the 6 digits of the code.")),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"},
    )

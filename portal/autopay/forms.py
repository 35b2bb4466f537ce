"""The auto-pay form of one saved account."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField

from portal.input_guard import PortalForm
from portal.wallet.forms import AmountField


class AutopayForm(PortalForm):
    """Auto-pay of one saved account: on or off, and the most it may pay in a month."""

    enabled = BooleanField(_l("Pay this account's bills automatically"))
    monthly_cap = AmountField(
        _l("Monthly cap (yuan)"),
        description=_l("The most auto-pay may pay for this account in a calendar month (Beijing time)."),
        render_kw={"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"},
    )

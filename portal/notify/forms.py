"""Shape of the notification preferences form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField

from portal.input_guard import PortalForm


class PreferencesForm(PortalForm):
    reminders = BooleanField(
        _l("Remind me before a bill of a saved account falls due"),
        description=_l("Accounts with auto-pay on are always reminded before they are paid."),
    )
    sms = BooleanField(_l("By text message (SMS), when my account has a mobile number"))
    email = BooleanField(_l("By e-mail, when my account has an e-mail address"))
    campaigns = BooleanField(
        _l("Tell me about wallet campaigns (discounts on bills)"),
        description=_l("Off unless you choose it. Everything also appears in your notices on this site."),
    )

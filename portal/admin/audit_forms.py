"""The audit viewer's filter (a GET form: it changes nothing, so no CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, StringField, ValidationError
from wtforms.validators import Length, Optional

from portal.forms import within_service_years
from portal.input_guard import PortalForm


class AuditFilterForm(PortalForm):
    class Meta:
        csrf = False

    actor = StringField(
        _l("Who"),
        description=_l(
            "A staff member's e-mail, or a resident's full mobile number (the log shows it masked), or the "
            "code under a name."
        ),
        validators=[Length(max=64)],
    )
    action = StringField(
        _l("What"),
        description=_l("The code under an event's name, or its first part (payment, risk, staff)."),
        validators=[Length(max=60)],
    )
    subject = StringField(_l("Object contains"), validators=[Length(max=80)])
    date_from = DateField(_l("From (Beijing date)"), validators=[Optional()])
    date_to = DateField(_l("To (Beijing date)"), validators=[Optional()])

    def validate_date_from(self, field) -> None:
        within_service_years(field)

    def validate_date_to(self, field) -> None:
        within_service_years(field)
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date must be on or after the start date."))

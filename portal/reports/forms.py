"""Shapes of report input: GET filters (they change nothing, so no CSRF token) and the settle button."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional, ValidationError

from portal.agencies.models import CATEGORY_LABELS
from portal.forms import within_service_years
from portal.input_guard import PortalForm
from portal.payments.labels import CHANNEL_LABELS, PAYMENT_STATE_LABELS
from portal.payments.models import PaymentState

MAX_RANGE_DAYS = 3660  # ten years: any real question, and day bounds that stay inside datetimes


class DateRangeForm(PortalForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    date_from = DateField(_l("From (Beijing date)"), validators=[DataRequired(_l("Enter a start date."))])
    date_to = DateField(_l("To (Beijing date)"), validators=[DataRequired(_l("Enter an end date."))])

    def validate_date_from(self, field) -> None:
        within_service_years(field)

    def validate_date_to(self, field) -> None:
        within_service_years(field)
        start = self.date_from.data
        if field.data and start and field.data < start:
            raise ValidationError(_l("The end date must be on or after the start date."))
        if field.data and start and (field.data - start).days > MAX_RANGE_DAYS:
            raise ValidationError(_l("Choose a range of at most ten years."))


class CollectionsForm(DateRangeForm):
    agency = SelectField(_l("Agency"), choices=[], validators=[Optional()])
    category = SelectField(_l("Category"), choices=[], validators=[Optional()])
    state = SelectField(_l("Payment status"), choices=[], validators=[Optional()])
    channel = SelectField(_l("Channel"), choices=[], validators=[Optional()])

    def fill_choices(self, agencies: list[tuple[str, str]], everything: str) -> None:
        """Choices in the reader's language; the first of each means no narrowing."""
        states = {k: v for k, v in PAYMENT_STATE_LABELS.items() if k is not PaymentState.PENDING}
        self.agency.choices = _choices(everything, agencies)
        self.category.choices = _choices(everything, [(k.value, str(v)) for k, v in CATEGORY_LABELS.items()])
        self.state.choices = _choices(everything, [(k.value, str(v)) for k, v in states.items()])
        self.channel.choices = _choices(everything, [(k.value, str(v)) for k, v in CHANNEL_LABELS.items()])


def _choices(everything: str, pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice("", everything)] + [SelectChoice(value, label) for value, label in pairs]


class SettlementDayForm(PortalForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    day = DateField(_l("Business day (Beijing)"), validators=[DataRequired(_l("Enter a day."))])

    def validate_day(self, field) -> None:
        within_service_years(field)


class SettleForm(PortalForm):
    agency = HiddenField(validators=[DataRequired()])
    day = HiddenField(validators=[DataRequired()])

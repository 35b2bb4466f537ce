"""Shapes of dispute input: the resident's complaint, the agency's answer, finance's decision, the
calendar's days. The rules (lengths that matter, who may do what) are the services'."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.disputes.labels import KIND_LABELS, OUTCOME_LABELS
from portal.disputes.models import UNPAID_KINDS
from portal.forms import within_service_years
from portal.input_guard import PortalForm
from portal.wallet.forms import AmountField


class DisputeForm(PortalForm):
    bill = SelectField(_l("Which bill"), coerce=int, validators=[DataRequired(_l("Choose the bill."))])
    kind = RadioField(
        _l("What went wrong"),
        choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()],
        validators=[DataRequired(_l("Choose what went wrong."))],
    )
    description = TextAreaField(
        _l("Tell us what happened"),
        description=_l("What you expected and what you saw, with dates. At least 10 characters."),
        validators=[DataRequired(_l("Tell us what happened.")), Length(max=2000)],
        render_kw={"rows": 5},
    )
    attachment = FileField(
        _l("A file that shows it (optional)"),
        description=_l("A photo or scan: PNG, JPEG or PDF, at most 5 MB."),
    )


class BillDisputeForm(PortalForm):
    """A dispute on a bill of a saved account that was not paid here: the bill is the button's."""

    bill = HiddenField(validators=[DataRequired(), Length(max=1000)])
    kind = RadioField(
        _l("What is wrong"),
        choices=[SelectChoice(kind.value, KIND_LABELS[kind]) for kind in UNPAID_KINDS],
        validators=[DataRequired(_l("Choose what is wrong."))],
    )
    description = DisputeForm.description
    attachment = DisputeForm.attachment


class ReopenForm(PortalForm):
    why = TextAreaField(
        _l("Why you do not agree"),
        validators=[DataRequired(_l("Say why you do not agree.")), Length(max=2000)],
        render_kw={"rows": 3},
    )


class SendForm(PortalForm):
    note = TextAreaField(_l("What the agency should check (optional)"), validators=[Length(max=1000)])


class AnswerForm(PortalForm):
    text = TextAreaField(
        _l("The agency's answer"),
        description=_l("What your records show and what you did. The resident reads it."),
        validators=[DataRequired(_l("Write the answer.")), Length(max=1000)],
        render_kw={"rows": 4},
    )


class ResolveForm(PortalForm):
    outcome = RadioField(
        _l("Decision"),
        choices=[SelectChoice(outcome.value, label) for outcome, label in OUTCOME_LABELS.items()],
        validators=[DataRequired(_l("Choose a decision."))],
    )
    amount = AmountField(_l("Refund (yuan), for a refund"), validators=[Optional()])
    reason = TextAreaField(
        _l("Reason for the decision"),
        description=_l("The resident reads it. Required when rejecting."),
        validators=[Length(max=1000)],
        render_kw={"rows": 3},
    )


class CalendarDayForm(PortalForm):
    day = DateField(_l("Day"), validators=[DataRequired(_l("Enter the day, such as 2027-10-01."))])
    name = StringField(_l("Name"), validators=[DataRequired(_l("Name the day.")), Length(max=60)])
    working = BooleanField(_l("A working day (a make-up day on a weekend)"))

    def validate_day(self, field) -> None:
        within_service_years(field)

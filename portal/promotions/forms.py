"""Shape of an admin's campaign proposal: names, Beijing days, what it covers, its rule and budget."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.forms import within_service_years
from portal.input_guard import PortalForm
from portal.promotions.models import CampaignRule
from portal.wallet.forms import AmountField

RULE_LABELS = {
    CampaignRule.FIXED_OFF: _l("A fixed amount off each payment"),
    CampaignRule.PERCENT_OFF: _l("A percentage off, up to a cap"),
    CampaignRule.SPEND_OVER: _l("Spend at least an amount, get an amount off (满减)"),
    CampaignRule.FIRST_PAYMENT: _l("An amount off a resident's first wallet payment"),
}


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PercentField(StringField):
    """'10' or '12.5' (per cent) in, basis points out (``field.basis_points``)."""

    basis_points: int = 0

    def pre_validate(self, form) -> None:
        self.basis_points = 0
        if not self.data:
            return
        try:
            value = Decimal(self.data.strip().rstrip("%").strip())
        except InvalidOperation as error:
            raise ValidationError(_l("Enter a percentage such as 10 or 12.5.")) from error
        basis_points = value * 100
        if basis_points != basis_points.to_integral_value() or not 0 < basis_points <= 10_000:
            raise ValidationError(_l("Enter a percentage between 0.01 and 100."))
        self.basis_points = int(basis_points)


class CampaignForm(PortalForm):
    name_zh = StringField(
        _l("Name in Chinese"), validators=[DataRequired(_l("Enter the Chinese name.")), Length(max=60)]
    )
    name_en = StringField(
        _l("Name in English"), validators=[DataRequired(_l("Enter the English name.")), Length(max=60)]
    )
    first_day = DateField(
        _l("First day (Beijing)"),
        validators=[DataRequired(_l("Enter the first day."))],
    )
    last_day = DateField(
        _l("Last day (Beijing)"),
        validators=[DataRequired(_l("Enter the last day."))],
    )
    agencies = CheckboxesField(_l("Agencies"), choices=[], validators=[Optional()])
    categories = CheckboxesField(_l("Categories"), choices=[], validators=[Optional()])
    rule = RadioField(
        _l("Rule"),
        choices=[SelectChoice(rule.value, label) for rule, label in RULE_LABELS.items()],
        validators=[DataRequired(_l("Choose a rule."))],
    )
    amount_off = AmountField(
        _l("Amount off (yuan)"),
        description=_l("For the fixed, spend-over and first-payment rules."),
        validators=[Optional()],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    percent = PercentField(
        _l("Percentage off"),
        description=_l("For the percentage rule, e.g. 10 for 10 %."),
        validators=[Optional()],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    cap = AmountField(
        _l("Most taken off one payment (yuan)"),
        description=_l("For the percentage rule; leave empty for no cap."),
        validators=[Optional()],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    threshold = AmountField(
        _l("Spend at least (yuan)"),
        description=_l("For the spend-over rule."),
        validators=[Optional()],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    per_resident_uses = IntegerField(
        _l("Uses per resident"),
        default=1,
        validators=[
            DataRequired(_l("Enter how many times one resident may use it.")),
            NumberRange(min=1, max=1000, message=_l("Enter a number from 1 to 1000.")),
        ],
    )
    budget = AmountField(
        _l("Budget (yuan)"),
        description=_l("Funded from the promotion fund when a second admin approves."),
        validators=[DataRequired(_l("Enter the budget."))],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )

    def validate_first_day(self, field) -> None:
        within_service_years(field)

    def validate_last_day(self, field) -> None:
        within_service_years(field)

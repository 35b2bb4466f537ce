"""Shapes of wallet input: amounts are parsed by portal.money, never by float()."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.forms import within_service_years
from portal.input_guard import PortalForm
from portal.money import AmountError, parse_amount


class AmountField(StringField):
    """Text like '1,234.50', '１２３' or '¥88' in, integer fen out (``field.fen``)."""

    fen: int | None = None

    def pre_validate(self, form) -> None:
        self.fen = None
        if not self.data:
            return
        try:
            fen = parse_amount(self.data)
        except AmountError as error:
            raise ValidationError(_l("Enter an amount in yuan, like 100 or 88.50.")) from error
        if fen <= 0:
            raise ValidationError(_l("Enter an amount of at least ¥0.01."))
        self.fen = fen


class MoneyMoveForm(PortalForm):
    amount = AmountField(
        _l("Amount (yuan)"),
        description=_l("For example 200 or 88.50."),
        validators=[DataRequired(_l("Enter an amount."))],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"},
    )
    card = SelectField(_l("Bank card"), choices=[], validators=[DataRequired(_l("Choose a bank card."))])
    idempotency_key = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])


class LinkCardForm(PortalForm):
    card_number = StringField(
        _l("Bank card number"),
        description=_l("16 to 19 digits, as printed on the card. Spaces are fine."),
        validators=[DataRequired(_l("Enter the card number.")), Length(max=40)],
        render_kw={"inputmode": "numeric", "autocomplete": "cc-number", "spellcheck": "false"},
    )


class StatementFilterForm(PortalForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    kind = SelectField(_l("Type"), choices=[], validators=[Optional()])
    date_from = DateField(_l("From (Beijing date)"), validators=[Optional()])
    date_to = DateField(_l("To (Beijing date)"), validators=[Optional()])

    def validate_date_from(self, field) -> None:
        within_service_years(field)

    def validate_date_to(self, field) -> None:
        within_service_years(field)
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date must be on or after the start date."))

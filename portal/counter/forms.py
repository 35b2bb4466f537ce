"""Shapes of a cashier's input: the bill taken and how it is paid, the cash counted, a hall's settings."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.input_guard import PortalForm
from portal.money import AmountError, parse_amount
from portal.wallet.forms import AmountField


class CashField(StringField):
    """An amount of cash in yuan where zero is an answer (an empty till): integer fen in ``field.fen``."""

    fen: int | None = None

    def pre_validate(self, form) -> None:
        self.fen = None
        if not (self.data or "").strip():
            return
        try:
            self.fen = parse_amount(self.data)
        except AmountError as error:
            raise ValidationError(_l("Enter an amount in yuan, like 100 or 88.50.")) from error


class BillForm(PortalForm):
    """The lookup page's button: the bill only."""

    bill = HiddenField(validators=[DataRequired(), Length(max=1000)])


class TakeForm(PortalForm):
    bill = HiddenField(validators=[DataRequired(), Length(max=1000)])
    amount_seen = IntegerField(widget=HiddenField.widget, validators=[InputRequired(), NumberRange(min=1)])
    key = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])
    tender = RadioField(
        _l("Paid by"),
        choices=[SelectChoice("cash", _l("Cash")), SelectChoice("card", _l("Bank card (POS)"))],
        validators=[DataRequired(_l("Choose cash or bank card."))],
    )
    tendered = AmountField(
        _l("Cash handed over (yuan)"),
        description=_l("For cash: what the payer gave you. The change is worked out for you."),
        validators=[Optional()],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"},
    )
    card_number = StringField(
        _l("Bank card number"),
        description=_l("For a card: as the POS reads it, 16 to 19 digits."),
        validators=[Optional(), Length(max=40)],
        render_kw={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"},
    )

    def validate_tendered(self, field) -> None:
        if self.tender.data == "cash" and field.fen is None:
            raise ValidationError(_l("Enter the cash the payer handed over."))

    def validate_card_number(self, field) -> None:
        if self.tender.data == "card" and not (field.data or "").strip():
            raise ValidationError(_l("Enter the card number."))


class CashUpForm(PortalForm):
    counted = CashField(
        _l("Cash counted in the till (yuan)"),
        description=_l("Count the notes and coins before you look at the expected figure."),
        validators=[InputRequired(_l("Enter the cash you counted, 0 if the till is empty."))],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"},
    )


class HallForm(PortalForm):
    code = StringField(
        _l("Code"),
        description=_l("Lower-case letters, digits and hyphens; an existing code changes that hall."),
        validators=[DataRequired(_l("Enter a code.")), Length(max=32)],
    )
    name_zh = StringField(
        _l("Name in Chinese"), validators=[DataRequired(_l("Enter the name.")), Length(max=100)]
    )
    name_en = StringField(
        _l("Name in English"), validators=[DataRequired(_l("Enter the name.")), Length(max=100)]
    )
    agencies = SelectMultipleField(
        _l("Agencies it serves"),
        choices=[],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validators=[DataRequired(_l("Choose at least one agency the hall serves."))],
    )

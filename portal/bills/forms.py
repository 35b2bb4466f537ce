"""The lookup form is generated from the adapter's declared query fields."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from portal.agencies.base import AgencyAdapter, QueryField
from portal.wallet.forms import AmountField


class _LookupForm(FlaskForm):
    class Meta:
        csrf = False  # a GET lookup changes nothing


def _pattern_check(query_field: QueryField, label: str):
    def check(_form, field) -> None:
        if field.data and query_field.normalise(field.data) is None:
            raise ValidationError(
                _("Check the %(label)s: it is not in the form this agency uses.", label=label)
            )

    return check


def lookup_form(adapter: AgencyAdapter, locale: str, formdata):
    """A form class with one text field per query field, labelled in the reader's language."""
    attributes = {}
    for query_field in adapter.fields:
        chinese = locale.startswith("zh")
        label = query_field.label_zh if chinese else query_field.label_en
        hint = query_field.hint_zh if chinese else query_field.hint_en
        attributes[query_field.name] = StringField(
            label,
            description=hint,
            validators=[
                DataRequired(_("Enter the %(label)s.", label=label)),
                Length(max=64, message=_("The %(label)s is too long.", label=label)),
                _pattern_check(query_field, label),
            ],
            render_kw={"autocomplete": "off", "spellcheck": "false"},
        )
    form_class = type("LookupForm", (_LookupForm,), attributes)
    return form_class(formdata=formdata)


def query_values(adapter: AgencyAdapter, form) -> dict[str, str]:
    return {field.name: field.normalise(form[field.name].data) or "" for field in adapter.fields}


class SaveAccountForm(FlaskForm):
    nickname = StringField(
        _l("Nickname"),
        description=_l("For example: home, parents' flat, my car."),
        validators=[
            DataRequired(_l("Enter a nickname.")),
            Length(max=40, message=_l("At most 40 characters.")),
        ],
    )


class AutopayForm(FlaskForm):
    """Auto-pay of one saved account: on or off, and the most it may pay in a month."""

    enabled = BooleanField(_l("Pay this account's bills automatically"))
    monthly_cap = AmountField(
        _l("Monthly cap (yuan)"),
        description=_l("The most auto-pay may pay for this account in a calendar month (Beijing time)."),
        render_kw={"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"},
    )

"""The lookup form is generated from the adapter's declared query fields."""

from __future__ import annotations

from functools import lru_cache

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import TextInput
from wtforms.widgets.core import clean_key

from portal.agencies.base import AgencyAdapter, QueryField
from portal.input_guard import PortalForm


class _LookupForm(PortalForm):
    class Meta:
        csrf = False  # a GET lookup changes nothing


class _TextInput(TextInput):
    """WTForms' text input: the same attributes, escaped the same way and in the same order, joined
    without a Markup.format() per attribute (a third of the lookup form's rendering)."""

    @staticmethod
    def html_params(**kwargs) -> Markup:
        params = []
        for key, value in sorted(kwargs.items()):
            name = escape(clean_key(key))
            if value is True:
                params.append(name)
            elif value is not False:
                params.append(f'{name}="{str(escape(value)).replace(chr(34), "&quot;")}"')
        return Markup(" ".join(params))  # noqa: S704 - every name and value escaped above  # nosec B704


_TEXT_INPUT = _TextInput()


def _pattern_check(query_field: QueryField, label: str):
    def check(_form, field) -> None:
        if field.data and query_field.normalise(field.data) is None:
            raise ValidationError(
                _("Check the %(label)s: it is not in the form this agency uses.", label=label)
            )

    return check


def lookup_form(adapter: AgencyAdapter, locale: str, formdata):
    """A form with one text field per query field, labelled in the reader's language."""
    return _lookup_form_class(adapter.fields, locale)(formdata=formdata)


@lru_cache(maxsize=128)
def _lookup_form_class(fields: tuple[QueryField, ...], locale: str) -> type[_LookupForm]:
    # Built once per adapter's fields and language (the portal has two): its labels and messages are
    # that language's, and building a form class costs more than filling one in.
    attributes = {}
    for query_field in fields:
        chinese = locale.startswith("zh")
        label = query_field.label_zh if chinese else query_field.label_en
        hint = query_field.hint_zh if chinese else query_field.hint_en
        named = label if chinese else _mid_sentence(label)
        attributes[query_field.name] = StringField(
            label,
            description=hint,
            validators=[
                DataRequired(_("Enter the %(label)s.", label=named)),
                Length(max=64, message=_("The %(label)s is too long.", label=named)),
                _pattern_check(query_field, named),
            ],
            render_kw={"autocomplete": "off", "spellcheck": "false"},
            widget=_TEXT_INPUT,
        )
    return type("LookupForm", (_LookupForm,), attributes)


def _mid_sentence(label: str) -> str:
    """An English label inside a sentence: "Enter the licence plate.", but "the ID number" stays."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def query_values(adapter: AgencyAdapter, form) -> dict[str, str]:
    return {field.name: field.normalise(form[field.name].data) or "" for field in adapter.fields}


class SaveAccountForm(PortalForm):
    nickname = StringField(
        _l("Nickname"),
        description=_l("For example: home, parents' flat, my car."),
        validators=[
            DataRequired(_l("Enter a nickname.")),
            Length(max=40, message=_l("At most 40 characters.")),
        ],
    )

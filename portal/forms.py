"""Form helpers shared by every domain."""

from __future__ import annotations

from datetime import date

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from portal.errors import PortalError
from portal.input_guard import PortalForm


class ConfirmForm(PortalForm):
    """Only a CSRF token: for buttons that change state (log out, disable a user)."""


def attach_error(form: PortalForm, error: PortalError) -> None:
    """Show a service's refusal next to the field it concerns, or in the summary when it has none."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def within_service_years(field) -> None:
    """Day bounds of 0001-01-01 or 9999-12-31 fall outside what datetimes can hold."""
    if field.data and not date(2000, 1, 1) <= field.data <= date(2099, 12, 31):
        raise ValidationError(_l("Enter a date between 2000 and 2099."))


def confirmed(form_data) -> bool:
    """Whether the person has already said yes on the confirmation page (see ``confirmation_page``)."""
    return form_data.get("confirmed") == "yes"


def confirmation_page(question: str, consequence: str, yes: str, back_url: str, fields: dict | None = None):
    """A page asking once more before an action that is hard to undo (GOV.UK's 'Are you sure?' pattern):
    the same POST again with ``confirmed=yes``, or back without doing anything."""
    return render_template(
        "confirm.html",
        question=question,
        consequence=consequence,
        yes=yes,
        action=request.path,
        back_url=back_url,
        fields=fields or {},
        form=ConfirmForm(),
    )

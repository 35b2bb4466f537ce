"""Form helpers shared by every domain."""

from __future__ import annotations

from flask_wtf import FlaskForm

from portal.errors import PortalError


class ConfirmForm(FlaskForm):
    """Only a CSRF token: for buttons that change state (log out, disable a user)."""


def attach_error(form: FlaskForm, error: PortalError) -> None:
    """Show a service's refusal next to the field it concerns, or in the summary when it has none."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)

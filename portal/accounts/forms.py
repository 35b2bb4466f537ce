"""Shapes of account input; business rules live in services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from portal import identity
from portal.accounts.passwords import MAX_LENGTH, MIN_LENGTH
from portal.input_guard import PortalForm


def mobile_or_email(_form, field) -> None:
    if field.data and identity.parse_login_identifier(field.data) is None:
        raise ValidationError(_l("Enter a mainland mobile number (11 digits) or an e-mail address."))


def national_id_shape(_form, field) -> None:
    number = identity.normalize_national_id(field.data or "")
    if number and identity.national_id_problem(number) == "shape":
        raise ValidationError(_l("Enter an 18-character ID number: 17 digits followed by a digit or X."))


IDENTIFIER_LENGTH = Length(
    max=254, message=_l("A mobile number or e-mail address has at most 254 characters.")
)
NEW_PASSWORD_LENGTH = Length(
    min=MIN_LENGTH,
    max=MAX_LENGTH,
    message=_l("Password must be between %(min)d and %(max)d characters."),
)


def role_field() -> SelectField:
    return SelectField(
        _l("Role"),
        choices=[
            SelectChoice("clerk", _l("Agency clerk")),
            SelectChoice("finance", _l("Finance")),
            SelectChoice("admin", _l("Administrator")),
            SelectChoice("cashier", _l("Counter cashier")),
        ],
        validators=[DataRequired(_l("Choose a role."))],
    )


def agency_field() -> SelectField:
    """Choices are the agencies, filled in by the view."""
    return SelectField(
        _l("Agency"),
        description=_l("Required for clerks; leave empty for every other role."),
        choices=[],
        validate_choice=False,
    )


def hall_field() -> SelectField:
    """Choices are the service halls, filled in by the view."""
    return SelectField(
        _l("Service hall"),
        description=_l("Required for counter cashiers; leave empty for every other role."),
        choices=[],
        validate_choice=False,
    )


def new_password_field() -> PasswordField:
    """The new password of a change or a reset: one wording and one rule everywhere."""
    return PasswordField(
        _l("New password"),
        description=_l("At least 10 characters, not a common password."),
        validators=[DataRequired(_l("Enter a new password.")), NEW_PASSWORD_LENGTH],
        render_kw={"autocomplete": "new-password"},
    )


def confirm_password_field() -> PasswordField:
    return PasswordField(
        _l("Confirm new password"),
        validators=[
            DataRequired(_l("Enter the new password again.")),
            EqualTo("password", _l("The two passwords do not match.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class LoginForm(PortalForm):
    identifier = StringField(
        _l("Mobile number or e-mail address"),
        validators=[DataRequired(_l("Enter your mobile number or e-mail address.")), IDENTIFIER_LENGTH],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(_l("Enter your password.")),
            Length(max=MAX_LENGTH, message=_l("Password must be at most %(max)d characters.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )


class RegistrationForm(PortalForm):
    identifier = StringField(
        _l("Mobile number or e-mail address"),
        description=_l("A mainland mobile number such as 138 0013 8000, or an e-mail address."),
        validators=[
            DataRequired(_l("Enter your mobile number or e-mail address.")),
            IDENTIFIER_LENGTH,
            mobile_or_email,
        ],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Create a password"),
        description=_l(
            "At least 10 characters. A phrase of unrelated words is easy to remember and hard to guess."
        ),
        validators=[DataRequired(_l("Enter a password.")), NEW_PASSWORD_LENGTH],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Confirm password"),
        validators=[
            DataRequired(_l("Enter the password again.")),
            EqualTo("password", _l("The two passwords do not match.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(PortalForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    password = new_password_field()
    confirm = confirm_password_field()


class UnechoedStringField(StringField):
    """A visible text input that is always rendered empty: after an error the page does not send the
    typed value back (a national ID number would otherwise sit in the HTML, caches and screenshots)."""

    def _value(self) -> str:
        return ""


class IdentityForm(PortalForm):
    real_name = StringField(
        _l("Real name"),
        description=_l("As printed on your resident identity card."),
        validators=[
            DataRequired(_l("Enter your real name.")),
            Length(max=50, message=_l("Name is too long.")),
        ],
        render_kw={"autocomplete": "name"},
    )
    national_id = UnechoedStringField(
        _l("Resident identity card number"),
        description=_l("18 characters: 17 digits followed by a digit or X."),
        validators=[DataRequired(_l("Enter your ID number.")), national_id_shape],
        render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "text"},
    )


class StaffForm(PortalForm):
    email = StringField(
        _l("E-mail address"),
        validators=[
            DataRequired(_l("Enter an e-mail address.")),
            Length(max=254, message=_l("An e-mail address has at most 254 characters.")),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    display_name = StringField(
        _l("Full name"), validators=[Length(max=100, message=_l("A name has at most 100 characters."))]
    )
    role = role_field()
    agency = agency_field()
    hall = hall_field()
    password = PasswordField(
        _l("Initial password"),
        description=_l("The new staff member must change it at first login."),
        validators=[DataRequired(_l("Enter an initial password.")), NEW_PASSWORD_LENGTH],
        render_kw={"autocomplete": "new-password"},
    )


class TwoFactorCodeForm(PortalForm):
    code = StringField(
        _l("Security code"),
        description=_l("The 6-digit code your authenticator app shows now."),
        validators=[
            DataRequired(_l("Enter the 6-digit code from your authenticator app.")),
            Length(max=20, message=_l("Enter the 6 digits your authenticator app shows, like 123456.")),
        ],
        render_kw={
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "spellcheck": "false",
            "autocapitalize": "off",
        },
    )


class RecoveryCodeForm(PortalForm):
    recovery_code = StringField(
        _l("Recovery code"),
        description=_l("One of the codes you saved when you set up two-factor, like 4k7m-x2pq-9d3f."),
        validators=[
            DataRequired(_l("Enter one of your recovery codes.")),
            Length(max=40, message=_l("A recovery code has 12 letters and digits.")),
        ],
        render_kw={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "off"},
    )


class PasswordCheckForm(PortalForm):
    """Re-entering the password before a change to how the account logs in."""

    password = PasswordField(
        _l("Your password"),
        validators=[
            DataRequired(_l("Enter your password.")),
            Length(max=MAX_LENGTH, message=_l("Password must be at most %(max)d characters.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )


class StaffRoleForm(PortalForm):
    role = role_field()
    agency = agency_field()
    hall = hall_field()


class ForgotPasswordForm(PortalForm):
    identifier = StringField(
        _l("Mobile number or e-mail address"),
        description=_l("The one you log in with. We send the link there."),
        validators=[DataRequired(_l("Enter your mobile number or e-mail address.")), IDENTIFIER_LENGTH],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )


class ResetPasswordForm(PortalForm):
    password = new_password_field()
    confirm = confirm_password_field()

"""What the audit log says of sign-ins, passwords, staff accounts and identity checks."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.labels import Vocabulary

AUDIT_VOCABULARY = Vocabulary(
    actions={
        "account.unlocked": _l("Locked account unlocked"),
        "identity.verified": _l("Identity verified"),
        "login.failed": _l("Sign-in failed"),
        "password.changed": _l("Password changed"),
        "password.reset": _l("Password reset"),
        "password.reset_requested": _l("Password reset requested"),
        "resident.registered": _l("Resident registered"),
        "session.started": _l("Signed in"),
        "staff.created": _l("Staff account created"),
        "staff.disabled": _l("Staff account disabled"),
        "staff.enabled": _l("Staff account enabled"),
        "staff.role_changed": _l("Staff role or agency changed"),
        "two_factor.disabled": _l("Two-factor sign-in turned off"),
        "two_factor.enrolled": _l("Two-factor sign-in set up"),
        "two_factor.failed": _l("Two-factor code refused"),
        "two_factor.recovery_code_used": _l("Recovery code used"),
        "two_factor.recovery_codes_renewed": _l("Recovery codes renewed"),
        "two_factor.reset": _l("Two-factor sign-in reset"),
    },
    whole_subjects={"login": _l("The login page")},
    values={
        "reason": {
            "unknown account": _l("unknown account"),
            "locked": _l("account locked"),
            "wrong password": _l("wrong password"),
            "disabled": _l("account disabled"),
        },
        "channel": {"phone": _l("mobile number"), "email": _l("e-mail")},
        "method": {
            "code": _l("authenticator code"),
            "recovery_code": _l("recovery code"),
            "setup": _l("first code at set-up"),
        },
    },
)

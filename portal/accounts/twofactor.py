"""Two-factor login with TOTP (RFC 6238): mandatory for staff, optional for residents.

A secret without ``totp_enabled_at`` is an enrolment waiting for its first code. A code is accepted
for the 30-second step before and after the server's (clock drift, typing time), and only for a step
later than the last one accepted, so a code seen over a shoulder cannot be used again. Recovery codes
are kept as hashes and each works once. Services take the session and never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from datetime import datetime

import pyotp
from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portal.accounts import auth, passwords, services
from portal.accounts.models import RecoveryCode, User
from portal.audit.services import record
from portal.db import utcnow
from portal.errors import ValidationFailed

ISSUER = "City Bill Portal"  # the account's label in authenticator apps; changing it renames entries
VALID_WINDOW = 1  # steps either side of now that are still accepted
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32: no i, l, o or u
RECOVERY_CODE_LENGTH = 12  # 60 random bits each
_SEPARATORS = re.compile(r"[\s\-]")


def _who(user: User) -> str:
    return f"user:{user.id}"


def check_password(session: Session, identifier: str, password: str) -> User:
    """The first step of a login. Staff who have no second factor yet get a secret to enrol with."""
    user = services.authenticate(session, identifier, password)
    if user.is_staff:
        prepare_enrolment(user)
    return user


def prepare_enrolment(user: User) -> None:
    """A secret to scan, unless one is already waiting: a second login shows the same QR code."""
    if not user.two_factor_enrolled and not user.has_totp_secret:
        user.totp_secret = pyotp.random_base32()


def start_enrolment(user: User, password: str) -> None:
    """A resident switches two-factor on; the password proves it is not someone at an open screen."""
    if user.two_factor_enrolled:
        raise ValidationFailed(_("Two-factor authentication is already on."))
    _require_password(user, password)
    prepare_enrolment(user)


def provisioning_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(name=user.login_name, issuer_name=ISSUER)


def confirm_enrolment(session: Session, user: User, code: str, now: datetime | None = None) -> list[str]:
    """The first correct code switches two-factor on. Returns the recovery codes, shown this once."""
    if user.two_factor_enrolled or not user.has_totp_secret:
        raise ValidationFailed(_("There is no two-factor set-up waiting. Start again."))
    now = now or utcnow()
    try:
        _accept_code(user, code, now)
    except ValidationFailed:
        record(session, _who(user), "two_factor.failed", _who(user), method="setup", locked=False)
        raise
    user.totp_enabled_at = now
    codes = _new_recovery_codes(session, user, now)
    record(session, _who(user), "two_factor.enrolled", _who(user), role=user.role.value)
    return codes


def verify_code(session: Session, user: User, code: str, now: datetime | None = None) -> None:
    """The second step of a login with the authenticator's code."""
    _refuse_if_locked(user)
    try:
        _accept_code(user, code, now or utcnow())
    except ValidationFailed:
        _count_failure(session, user, "code")
        raise
    services.record_login(user)


def use_recovery_code(session: Session, user: User, code: str, now: datetime | None = None) -> int:
    """The second step of a login with a recovery code, which never works again. Returns how many are left."""
    _refuse_if_locked(user)
    row = session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_hash(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        _count_failure(session, user, "recovery_code")
        raise ValidationFailed(
            _("This recovery code is not correct, or it has been used already."), field="recovery_code"
        )
    row.used_at = now or utcnow()
    left = remaining_recovery_codes(session, user)  # autoflush sends used_at first: this code is not counted
    services.record_login(user)
    record(session, _who(user), "two_factor.recovery_code_used", _who(user), remaining=left)
    return left


def renew_recovery_codes(session: Session, user: User, password: str) -> list[str]:
    """New codes replace every old one, used or not (when few are left, or the list was lost)."""
    if not user.two_factor_enrolled:
        raise ValidationFailed(_("Two-factor authentication is off."))
    _require_password(user, password)
    codes = _new_recovery_codes(session, user, utcnow())
    record(session, _who(user), "two_factor.recovery_codes_renewed", _who(user))
    return codes


def remaining_recovery_codes(session: Session, user: User) -> int:
    return session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def disable(session: Session, user: User, password: str) -> None:
    """Residents may switch two-factor off again; for staff it is mandatory."""
    if user.is_staff:
        raise ValidationFailed(_("Two-factor authentication is mandatory for staff accounts."))
    if not user.two_factor_enrolled:
        raise ValidationFailed(_("Two-factor authentication is already off."))
    _require_password(user, password)
    _clear(session, user)
    record(session, _who(user), "two_factor.disabled", _who(user))


def reset(session: Session, user: User, actor: User | None) -> None:
    """An administrator (or an operator on the command line: actor None) removes a lost authenticator:
    the user's sessions end and they enrol again at their next login."""
    if actor is not None:
        if not user.is_staff:
            raise ValidationFailed(_("Only staff accounts are managed here."))
        if actor.id == user.id:
            raise ValidationFailed(_("You cannot reset your own two-factor. Ask another administrator."))
        if not user.two_factor_enrolled:  # e.g. the confirmation sent again: they are not logged out twice
            raise ValidationFailed(
                _("%(email)s has not set up two-factor yet: there is nothing to reset.", email=user.email)
            )
    _clear(session, user)
    auth.end_all_sessions(session, user)
    record(session, _who(actor) if actor else "cli", "two_factor.reset", _who(user), role=user.role.value)


def _accept_code(user: User, code: str, now: datetime) -> None:
    """Raises unless ``code`` is the authenticator's for a step near ``now`` not accepted before."""
    digits = _SEPARATORS.sub("", unicodedata.normalize("NFKC", code or ""))
    if not re.fullmatch(r"[0-9]{6}", digits):
        raise ValidationFailed(
            _("Enter the 6 digits your authenticator app shows, like 123456."), field="code"
        )
    totp = pyotp.TOTP(user.totp_secret or "")
    current = totp.timecode(now)
    steps = [
        step
        for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1)
        if hmac.compare_digest(totp.generate_otp(step), digits)
    ]
    if not steps:
        raise ValidationFailed(
            _("The code is not correct, or it has expired. Enter the code your app shows now."), field="code"
        )
    if user.totp_last_step is not None and max(steps) <= user.totp_last_step:
        raise ValidationFailed(
            _("This code has been used already. Wait for your app to show a new code and enter that."),
            field="code",
        )
    user.totp_last_step = max(steps)


def _refuse_if_locked(user: User) -> None:
    if services.is_locked(user) or not user.is_active:
        raise services.login_refused()


def _count_failure(session: Session, user: User, method: str) -> None:
    """Wrong codes count towards the same lockout as wrong passwords, and each is audited."""
    services.count_failure(user)
    locked = services.is_locked(user)
    record(session, _who(user), "two_factor.failed", _who(user), method=method, locked=locked)
    if locked:
        raise services.login_refused()


def _require_password(user: User, password: str) -> None:
    if not passwords.verify_password(user.password_hash, password or ""):
        raise ValidationFailed(_("Your password is incorrect."), field="password")


def _clear(session: Session, user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def _new_recovery_codes(session: Session, user: User, now: datetime) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    session.add_all(
        RecoveryCode(user_id=user.id, code_hash=_recovery_hash(code), created_at=now) for code in codes
    )
    return ["-".join(code[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4)) for code in codes]


def _recovery_hash(code: str) -> str:
    """Typed codes are forgiving: case, spaces and dashes do not matter, and o / i / l read as 0 / 1 / 1."""
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", code or "")).lower()
    text = text.translate(str.maketrans({"o": "0", "i": "1", "l": "1"}))
    return hashlib.sha256(text.encode()).hexdigest()

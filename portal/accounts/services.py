"""Business rules for accounts. Services take the session and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import events, identity
from portal.accounts import idcrypto, passwords
from portal.accounts.models import User, VerificationTier
from portal.agencies.models import Agency
from portal.audit.services import record
from portal.authz import STAFF_ROLES, Role
from portal.db import utcnow
from portal.errors import AuthenticationFailed, ValidationFailed


@dataclass(frozen=True)
class StaffRequest:
    email: str
    role: Role
    password: str
    agency_code: str | None = None
    display_name: str | None = None
    created_by: str = "cli"  # the audit log's actor: "user:<admin id>" from the admin pages


def find_by_identifier(session: Session, text: str) -> User | None:
    parsed = identity.parse_login_identifier(text)
    if parsed is None:
        return None
    kind, value = parsed
    column = User.email if kind == "email" else User.phone
    return session.scalar(select(User).where(column == value))


def _require_password_ok(password: str, related: list[str]) -> None:
    problem = passwords.password_problem(password, related)
    if problem:
        raise ValidationFailed(problem, field="password")


def register_resident(session: Session, login_identifier: str, password: str) -> User:
    parsed = identity.parse_login_identifier(login_identifier)
    if parsed is None:
        raise ValidationFailed(
            _("Enter a mainland mobile number (11 digits) or an e-mail address."), field="identifier"
        )
    kind, value = parsed
    _require_password_ok(password, [value])
    if find_by_identifier(session, value) is not None:
        message = (
            _("This mobile number is already registered. Log in instead.")
            if kind == "phone"
            else _("This e-mail address is already registered. Log in instead.")
        )
        raise ValidationFailed(message, field="identifier")
    user = User(role=Role.RESIDENT, password_hash=passwords.hash_password(password))
    setattr(user, kind, value)
    session.add(user)
    session.flush()  # assigns the id that the login session refers to
    record(session, f"user:{user.id}", "resident.registered", f"user:{user.id}", channel=kind)
    return user


def authenticate(session: Session, login_identifier: str, password: str) -> User:
    """The user for these credentials; one vague error for unknown, wrong, locked or disabled."""
    refused = login_refused()
    user = find_by_identifier(session, login_identifier)
    if user is None:
        passwords.burn_verification_time(password)
        record(session, "anonymous", "login.failed", "login", reason="unknown account")
        raise refused
    if is_locked(user):
        passwords.burn_verification_time(password)
        record(session, f"user:{user.id}", "login.failed", f"user:{user.id}", reason="locked")
        raise refused
    if not passwords.verify_password(user.password_hash, password) or not user.is_active:
        count_failure(user)
        reason = "wrong password" if user.is_active else "disabled"
        record(session, f"user:{user.id}", "login.failed", f"user:{user.id}", reason=reason)
        raise refused
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    if not user.two_factor_required:
        record_login(user)
    # Otherwise the failure count stands until the second factor passes too: a correct password must not
    # wipe out failed codes, or guessing could alternate password and code forever.
    return user


def record_login(user: User) -> None:
    """Every factor passed: forget earlier failures."""
    user.failed_login_count = 0
    user.locked_until = None
    user.last_login_at = utcnow()


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def login_refused() -> AuthenticationFailed:
    return AuthenticationFailed(
        _(
            "The login details are incorrect, or the account is temporarily locked. "
            "Check them and try again, or wait %(minutes)d minutes.",
            minutes=lockout_minutes(),
        )
    )


def lockout_minutes() -> int:
    return max(1, current_app.config["LOGIN_LOCKOUT_SECONDS"] // 60)


def count_failure(user: User) -> None:
    user.failed_login_count += 1
    if user.failed_login_count >= current_app.config["LOGIN_MAX_FAILURES"]:
        user.locked_until = utcnow() + timedelta(seconds=current_app.config["LOGIN_LOCKOUT_SECONDS"])
        user.failed_login_count = 0


def unlock(session: Session, user: User, actor: User | None) -> bool:
    """End a lockout after too many failed logins (an administrator, or an operator on the command line:
    actor None). Returns whether the account was locked; the unlock is audited either way."""
    was_locked = is_locked(user)
    user.failed_login_count = 0
    user.locked_until = None
    who = f"user:{actor.id}" if actor is not None else "cli"
    record(session, who, "account.unlocked", f"user:{user.id}", was_locked=was_locked)
    return was_locked


def change_password(user: User, current_password: str, new_password: str) -> None:
    if not passwords.verify_password(user.password_hash, current_password):
        raise ValidationFailed(_("Your current password is incorrect."), field="current_password")
    if current_password == new_password:
        raise ValidationFailed(_("Choose a password different from the current one."), field="password")
    _require_password_ok(new_password, [user.email or "", user.phone or ""])
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    record(Session.object_session(user), f"user:{user.id}", "password.changed", f"user:{user.id}")


def verify_identity(session: Session, user: User, real_name: str, national_id: str) -> None:
    """Record the resident's real name and ID number once; a valid ID unlocks the ID-verified tier.

    A verified identity cannot be replaced here: swapping it would move the wallet's limits and free the
    old ID for another account, so changes go through support.
    """
    if user.has_national_id:
        raise ValidationFailed(_("Your identity is already verified. To change it, call the hotline 12345."))
    name = identity.normalize_real_name(real_name)
    if name is None:
        raise ValidationFailed(
            _("Enter your name as printed on your ID card: Chinese characters, letters and ·"),
            field="real_name",
        )
    number = identity.normalize_national_id(national_id)
    problem = identity.national_id_problem(number)
    if problem is not None:
        raise ValidationFailed(_national_id_message(problem), field="national_id")
    # The number itself is only stored encrypted; its index under every index key still being rotated out.
    indexes = idcrypto.current_vault().indexes(number)
    holder = session.scalar(select(User).where(User.national_id_index.in_(indexes), User.id != user.id))
    if holder is not None:
        raise ValidationFailed(
            _("This ID number is already linked to another account. Contact support if this is wrong."),
            field="national_id",
        )
    user.real_name = name
    user.national_id = number
    if user.verification_tier is VerificationTier.BASIC:
        user.verification_tier = VerificationTier.ID_VERIFIED
    record(session, f"user:{user.id}", "identity.verified", f"user:{user.id}")  # never the number
    events.publish(session, events.IdentityVerified(user.id))


def _national_id_message(problem: str) -> str:
    if problem == "birth_date":
        return _("The date of birth in this ID number (digits 7 to 14) is not possible. Check those digits.")
    if problem == "region":
        return _("The first six digits of this ID number are not a region code. Check those digits.")
    if problem == "check_digit":
        return _("This ID number is not valid: the last character does not match. Check each digit.")
    return _("Enter an 18-character ID number: 17 digits followed by a digit or X.")


def create_staff(session: Session, request: StaffRequest) -> User:
    """A clerk belongs to exactly one agency; finance and admin staff to none."""
    if request.role not in STAFF_ROLES:
        raise ValidationFailed(_("Choose a staff role."), field="role")
    email = identity.normalize_email(request.email)
    if email is None:
        raise ValidationFailed(_("Enter a valid e-mail address."), field="email")
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise ValidationFailed(_("A user with this e-mail address already exists."), field="email")
    agency = _agency_for_role(session, request.role, request.agency_code)
    _require_password_ok(request.password, [email])
    user = User(
        email=email,
        role=request.role,
        agency=agency,
        display_name=(request.display_name or "").strip() or None,
        password_hash=passwords.hash_password(request.password),
        must_change_password=True,
    )
    session.add(user)
    session.flush()  # surfaces a unique-email race as an error here, not at the commit point
    record(session, request.created_by, "staff.created", f"user:{user.id}", role=user.role.value)
    return user


def _agency_for_role(session: Session, role: Role, agency_code: str | None) -> Agency | None:
    if role is not Role.CLERK:
        if agency_code:
            raise ValidationFailed(_("Only clerks belong to an agency."), field="agency")
        return None
    agency = session.scalar(select(Agency).where(Agency.code == (agency_code or "")))
    if agency is None:
        raise ValidationFailed(_("A clerk must belong to exactly one existing agency."), field="agency")
    return agency


def change_staff_role(session: Session, actor: User, user: User, role: Role, agency_code: str | None) -> None:
    """Role and agency change together, so a clerk is never left without an agency or with two."""
    if not user.is_staff:
        raise ValidationFailed(_("Only staff accounts are managed here."))
    if role not in STAFF_ROLES:
        raise ValidationFailed(_("Choose a staff role."), field="role")
    if user.id == actor.id and role is not user.role:
        raise ValidationFailed(_("You cannot change your own role."), field="role")
    if role is not Role.CLERK and user.role is Role.CLERK and agency_code == user.agency.code:
        agency_code = None  # a clerk leaving their agency's desk: the form still shows the old agency
    agency = _agency_for_role(session, role, agency_code)
    before = {"role": user.role.value, "agency": user.agency.code if user.agency else None}
    after = {"role": role.value, "agency": agency.code if agency else None}
    if before == after:
        return  # saved without a change: nothing to record
    user.role, user.agency = role, agency
    record(session, f"user:{actor.id}", "staff.role_changed", f"user:{user.id}", before=before, after=after)


def set_staff_active(actor: User, user: User, active: bool) -> None:
    if not user.is_staff:
        raise ValidationFailed(_("Only staff accounts are managed here."))
    if user.id == actor.id and not active:
        raise ValidationFailed(_("You cannot disable your own account."))
    if user.is_active == active:
        return  # the same form sent twice: nothing changes, nothing to record
    user.is_active = active
    action = "staff.enabled" if active else "staff.disabled"
    record(Session.object_session(user), f"user:{actor.id}", action, f"user:{user.id}")


def list_staff(session: Session) -> list[User]:
    return list(
        session.scalars(select(User).where(User.role != Role.RESIDENT).order_by(User.role, User.email))
    )


def clerk_count(session: Session, agency: Agency) -> int:
    """Shown on the agency's page (a template helper, since agencies sit below accounts)."""
    return (
        session.scalar(
            select(func.count()).select_from(User).where(User.agency_id == agency.id, User.role == Role.CLERK)
        )
        or 0
    )

"""Password reset for residents by a one-time link: random token, only its hash stored, 30 minutes,
single use. The request answers the same whether or not the account exists."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal import events
from portal.accounts import auth, passwords, services
from portal.accounts.models import PasswordResetToken, User
from portal.audit.services import record
from portal.authz import Role
from portal.db import utcnow
from portal.errors import ValidationFailed
from portal.i18n import current_locale

VALID_FOR = timedelta(minutes=30)
MAX_PER_HOUR = 3  # links sent to one account per hour: stops a stranger flooding someone's phone
logger = logging.getLogger("portal.accounts")


def _hash(token: str) -> str:
    # 256 random bits: a fast hash is enough, nobody can guess their way to a stored one.
    return hashlib.sha256(token.encode()).hexdigest()


def request_reset(session: Session, login_identifier: str, link: Callable[[str], str]) -> None:
    """Send a reset link to a resident's mobile or e-mail. Returns nothing, so callers cannot tell
    whether the account exists; unknown, staff and disabled accounts are only logged."""
    user = services.find_by_identifier(session, login_identifier)
    if user is None or user.role is not Role.RESIDENT or not user.is_active:
        logger.info("password reset asked for an account that cannot reset: nothing sent")
        return
    if _sent_last_hour(session, user) >= MAX_PER_HOUR:
        logger.info("password reset for user:%s not sent: %d links in the last hour", user.id, MAX_PER_HOUR)
        return
    _end_open_links(session, user)  # only the newest link works
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        PasswordResetToken(user=user, token_hash=_hash(token), created_at=now, expires_at=now + VALID_FOR)
    )
    # Queued for the worker in this transaction (a slow SMS provider never holds the request up).
    seconds = int(VALID_FOR.total_seconds())
    events.publish(session, events.PasswordResetRequested(user.id, link(token), seconds, current_locale()))
    record(session, f"user:{user.id}", "password.reset_requested", f"user:{user.id}", channel=_channel(user))


def _sent_last_hour(session: Session, user: User) -> int:
    since = utcnow() - timedelta(hours=1)
    query = select(func.count()).where(
        PasswordResetToken.user_id == user.id, PasswordResetToken.created_at > since
    )
    return session.scalar(query) or 0


def _end_open_links(session: Session, user: User) -> None:
    session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _channel(user: User) -> str:
    return "sms" if user.phone else "email"


def valid_token(session: Session, token: str) -> PasswordResetToken | None:
    """The unused, unexpired link of an active resident, or None."""
    row = session.scalar(select(PasswordResetToken).where(PasswordResetToken.token_hash == _hash(token)))
    if row is None or row.used_at is not None or row.expires_at <= utcnow() or not row.user.is_active:
        return None
    return row


def reset_password(session: Session, token: str, new_password: str) -> User:
    """Set the new password once; every session of the account ends, the lock is lifted."""
    row = valid_token(session, token)
    if row is None:
        raise ValidationFailed(link_expired_message())
    user = row.user
    problem = passwords.password_problem(new_password, [user.email or "", user.phone or ""])
    if problem:
        raise ValidationFailed(problem, field="password")
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = row.used_at = utcnow()
    user.failed_login_count, user.locked_until = 0, None
    auth.end_all_sessions(session, user)
    record(session, f"user:{user.id}", "password.reset", f"user:{user.id}")
    return user


def link_expired_message() -> str:
    return _("This link has expired or has already been used. Ask for a new one.")

"""Login sessions that can really end, and the role and agency-scope checks for staff pages."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import Flask, abort, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from portal.accounts.models import ROLE_LABELS, TIER_LABELS, LoginSession, Role, User
from portal.agencies.models import Agency
from portal.db import get_session, utcnow
from portal.extensions import login_manager

SESSION_TOKEN_KEY = "sid"  # noqa: S105 - the name of a session key, not a secret
F = TypeVar("F", bound=Callable)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db: Session, user: User) -> None:
    """Sign the user in with a brand-new session (old cookie contents are discarded)."""
    session.clear()
    token = secrets.token_urlsafe(32)
    db.add(
        LoginSession(
            token_hash=_token_hash(token), user=user, user_agent=(request.user_agent.string or "")[:255]
        )
    )
    session[SESSION_TOKEN_KEY] = token
    session.permanent = True
    login_user(user)


def end_session(db: Session) -> None:
    """End this browser's session on the server too, so a copy of the cookie is worthless."""
    token = session.get(SESSION_TOKEN_KEY)
    if token:
        row = db.scalar(select(LoginSession).where(LoginSession.token_hash == _token_hash(token)))
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
    logout_user()
    session.clear()


def end_other_sessions(db: Session, user: User) -> None:
    """After a password change every other browser must sign in again."""
    current = _token_hash(session.get(SESSION_TOKEN_KEY, ""))
    rows = db.scalars(
        select(LoginSession).where(
            LoginSession.user_id == user.id,
            LoginSession.ended_at.is_(None),
            LoginSession.token_hash != current,
        )
    )
    now = utcnow()
    for row in rows:
        row.ended_at = now


def _load_user(user_id: str) -> User | None:
    token = session.get(SESSION_TOKEN_KEY)
    if not token or not user_id.isdigit():
        return None
    db = get_session()
    row = db.scalar(
        select(LoginSession)
        .where(
            LoginSession.token_hash == _token_hash(token),
            LoginSession.user_id == int(user_id),
            LoginSession.ended_at.is_(None),
        )
        .options(joinedload(LoginSession.user))  # one query per request, not two
    )
    if row is None or not row.user.is_active:
        return None
    return row.user


def role_required(*roles: Role) -> Callable[[F], F]:
    """Only signed-in users with one of ``roles`` get through; others see 403 (or the login page)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def agency_in_scope(db: Session, user: User, agency_code: str) -> Agency:
    """The agency if this staff member may see it; 404 otherwise, so other agencies stay invisible."""
    agency = db.scalar(select(Agency).where(Agency.code == agency_code))
    if agency is None:
        abort(404)
    if user.role is Role.CLERK and user.agency_id != agency.id:
        abort(404)
    if user.role not in (Role.CLERK, Role.FINANCE, Role.ADMIN):
        abort(404)
    return agency


def _force_password_change():
    # Staff created by an admin must replace the initial password before doing anything else.
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    allowed = {"accounts.change_password", "accounts.logout", "static", "i18n.switch_language"}
    if request.endpoint in allowed:
        return None
    return redirect(url_for("accounts.change_password"))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # our server-side LoginSession does this job
    app.before_request(_force_password_change)
    app.jinja_env.globals.update(role_label=ROLE_LABELS.get, tier_label=TIER_LABELS.get)

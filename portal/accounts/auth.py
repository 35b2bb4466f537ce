"""Login sessions that can really end, and the role and agency-scope checks for staff pages."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, joinedload

from portal.accounts.models import TIER_LABELS, LoginSession, User
from portal.audit.services import record
from portal.authz import ROLE_LABELS
from portal.db import get_session, utcnow
from portal.extensions import login_manager

SESSION_TOKEN_KEY = "sid"  # noqa: S105 - the name of a session key, not a secret  # nosec B105
PENDING_KEY = "second_step"  # who passed the password step and still owes the second factor
PENDING_SECONDS = 600
TOUCH_INTERVAL = timedelta(minutes=1)  # last_seen_at is written at most this often per session
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
    record(db, f"user:{user.id}", "session.started", f"user:{user.id}")


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


def end_all_sessions(db: Session, user: User) -> None:
    """Every browser of this user must sign in again (two-factor reset by an administrator)."""
    db.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def begin_second_step(user: User, next_url: str | None) -> None:
    """The password was right; the user is not signed in until the second factor is too."""
    session.clear()
    session[PENDING_KEY] = {"user": user.id, "since": int(time.time()), "next": next_url or ""}


def pending_user(db: Session) -> User | None:
    """Who is between the two steps of a login, for at most PENDING_SECONDS."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("since", 0) > PENDING_SECONDS:
        return None
    user = db.get(User, pending["user"]) if isinstance(pending.get("user"), int) else None
    return user if user is not None and user.is_active else None


def pending_next() -> str | None:
    return (session.get(PENDING_KEY) or {}).get("next") or None


def clear_pending() -> None:
    session.pop(PENDING_KEY, None)


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
    if request.endpoint == "static":
        return row.user  # files say nothing about activity
    return row.user if _still_active(db, row, utcnow()) else None


BACKGROUND_POLL_HEADER = "X-Background-Poll"  # sent by static/js/portal.js's pollers


def _still_active(db: Session, row: LoginSession, now: datetime) -> bool:
    """Ends a staff session idle for STAFF_IDLE_MINUTES; otherwise notes the activity, once a minute."""
    this_row = LoginSession.id == row.id
    idle_limit = timedelta(minutes=current_app.config["STAFF_IDLE_MINUTES"])
    if row.user.is_staff and now - row.last_seen_at > idle_limit:
        _write_quietly(db, update(LoginSession).where(this_row).values(ended_at=now))
        g.idle_session_ended = True
        return False
    if request.headers.get(BACKGROUND_POLL_HEADER) == "1":
        return True  # a page polling on its own (the live overview) is no sign of someone at the screen
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        # A parallel request of this browser may have touched it already, or hold the row (PostgreSQL:
        # SKIP LOCKED, so a request never waits for another's commit just to note the time).
        due = select(LoginSession.id).where(this_row, LoginSession.last_seen_at <= now - TOUCH_INTERVAL)
        touch = update(LoginSession).where(LoginSession.id.in_(due.with_for_update(skip_locked=True)))
        _write_quietly(db, touch.values(last_seen_at=now))
    return True


def _write_quietly(db: Session, statement) -> None:
    """Best effort, in a savepoint: on SQLite a reading request cannot become a writer once another has
    written meanwhile. Skipping costs nothing: the next request writes it, and idleness is judged from
    the stored time either way."""
    try:
        with db.begin_nested():
            db.execute(statement.execution_options(synchronize_session=False))
    except OperationalError:
        current_app.logger.info("login session not updated: the database is busy")


def _force_password_change():
    # Staff created by an admin must replace the initial password before doing anything else.
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    allowed = {"accounts.change_password", "accounts.logout", "static", "i18n.switch_language"}
    if request.endpoint in allowed:
        return None
    return redirect(url_for("accounts.change_password"))


def _send_idle_staff_to_login():
    # Loading the user (current_user) ends an idle staff session; this says so on the login page.
    if request.endpoint == "static" or current_user.is_authenticated or not g.pop("idle_session_ended", 0):
        return None
    logout_user()
    session.clear()
    minutes = current_app.config["STAFF_IDLE_MINUTES"]
    flash(
        ngettext(
            "You were logged out because there was no activity for %(num)d minute. Log in again.",
            "You were logged out because there was no activity for %(num)d minutes. Log in again.",
            minutes,
        ),
        "info",
    )
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("accounts.login", next=target))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # our server-side LoginSession does this job
    app.before_request(_send_idle_staff_to_login)
    app.before_request(_force_password_change)
    app.jinja_env.globals.update(role_label=ROLE_LABELS.get, tier_label=TIER_LABELS.get)

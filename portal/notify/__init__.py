"""Notifications to residents through the notifier named by NOTIFIER (see base.Notifier), and the
in-app inbox with its preferences (models, services, texts, delivery by the worker, scans)."""

from __future__ import annotations

from flask import Flask, current_app, g, request
from flask_login import current_user
from sqlalchemy import update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from portal.notify.base import Message, Notifier, NotifierError
from portal.notify.development import DevelopmentNotifier
from portal.settings.environment import ConfigError

__all__ = ["Message", "Notifier", "NotifierError", "init_app", "notifier"]

# NOTIFIER name -> factory taking the app; an SMS or e-mail provider registers here.
NOTIFIERS = {
    "development": lambda app: DevelopmentNotifier(production=app.config["ENV_NAME"] == "production"),
}


def init_app(app: Flask) -> None:
    """Build the configured notifier once; an unknown name stops start-up with a clear message."""
    name = app.config["NOTIFIER"]
    factory = NOTIFIERS.get(name)
    if factory is None:
        raise ConfigError(f"NOTIFIER must be one of {sorted(NOTIFIERS)}, got {name!r}")
    app.extensions["portal.notifier"] = factory(app)
    from portal.notify.inbox_views import bp

    app.register_blueprint(bp)
    app.after_request(_remember_locale)
    app.context_processor(lambda: {"unread_notices": _unread_notices})


def notifier() -> Notifier:
    return current_app.extensions["portal.notifier"]


def _is_resident() -> bool:
    return current_user.is_authenticated and current_user.role.value == "resident"


def _unread_notices() -> int:
    """For the navigation's inbox link: one count query, only on pages a resident sees."""
    from portal.db import get_session
    from portal.notify.services import unread_count

    if not _is_resident():
        return 0
    if "unread_notices" not in g:
        try:
            g.unread_notices = unread_count(get_session(), current_user)
        except SQLAlchemyError:  # the error page after a failed statement or an outage still renders
            g.unread_notices = 0
    return g.unread_notices


def _remember_locale(response):
    """Notices by SMS / e-mail go out in the language the resident last used here: stored when it
    changes, best effort in a savepoint (a reading request on SQLite may not get to write)."""
    if request.endpoint == "static" or response.status_code >= 400 or not _is_resident():
        return response
    from portal.accounts.models import User
    from portal.db import get_session
    from portal.i18n import current_locale

    locale = current_locale()
    if current_user.locale == locale:
        return response
    session = get_session()
    try:
        with session.begin_nested():
            statement = update(User).where(User.id == current_user.id).values(locale=locale)
            session.execute(statement.execution_options(synchronize_session=False))
    except OperationalError:
        current_app.logger.info("language of user:%s not stored: the database is busy", current_user.id)
    return response

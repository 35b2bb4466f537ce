"""The notifier named by NOTIFIER (see base.Notifier): built once at start-up, used by the worker's
deliveries and the development outbox page."""

from __future__ import annotations

from flask import Flask, current_app

from portal.notify.base import Notifier
from portal.notify.development import DevelopmentNotifier
from portal.settings.environment import ConfigError

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


def notifier() -> Notifier:
    return current_app.extensions["portal.notifier"]

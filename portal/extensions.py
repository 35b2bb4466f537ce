"""Flask extensions, created unbound and attached in create_app()."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def configured_limit(name: str) -> Callable[[], str]:
    """A limit read from the app's config per request, so each app (and each test) may set its own."""
    return lambda: current_app.config[name]

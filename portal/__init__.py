"""The city bill-payment portal. ``create_app()`` (``portal.app``) builds a configured Flask application;
``flask --app portal`` and gunicorn's ``portal:create_app()`` find it here."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """Loaded when asked for, not for cycles but for weight: ``import portal.money`` (a migration, a
    benchmark's helper, a worker's child process) should not load every domain and blueprint."""
    if name == "create_app":
        from portal.app import create_app

        return create_app
    raise AttributeError(f"module 'portal' has no attribute {name!r}")

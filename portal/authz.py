"""Who may do what: the roles, the decorator that guards a view by role, and the per-user rate-limit
key. Every domain guards its pages with these, so they live below the domains and know no user table:
they read the signed-in user's ``role`` only."""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user

from portal.extensions import login_manager

F = TypeVar("F", bound=Callable)


class Role(enum.StrEnum):
    RESIDENT = "resident"
    CLERK = "clerk"
    FINANCE = "finance"
    ADMIN = "admin"
    CASHIER = "cashier"  # a service hall's counter cashier (窗口收费员), bound to one hall

    @property
    def is_staff(self) -> bool:
        return self is not Role.RESIDENT


STAFF_ROLES = (Role.CLERK, Role.FINANCE, Role.ADMIN, Role.CASHIER)

ROLE_LABELS = {
    Role.RESIDENT: _l("Resident"),
    Role.CLERK: _l("Agency clerk"),
    Role.FINANCE: _l("Finance"),
    Role.ADMIN: _l("Administrator"),
    Role.CASHIER: _l("Counter cashier"),
}


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


def per_user_key() -> str:
    """Guesses at a current password or at ID numbers are limited per account, wherever they come from."""
    return f"user:{current_user.get_id()}" if current_user.is_authenticated else get_remote_address()

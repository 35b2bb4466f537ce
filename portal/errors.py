"""Domain errors raised by services; views turn them into clear, translated messages."""

from __future__ import annotations


class PortalError(Exception):
    """Base of every domain error. ``message`` is already translated for the current locale."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(PortalError):
    """Input passed the form but broke a business rule (for example, a duplicate phone number)."""


class AuthenticationFailed(PortalError):
    """Wrong identifier or password, or the account is locked; the message never says which."""


class NotFound(PortalError):
    """The object does not exist or the current user may not know that it does."""

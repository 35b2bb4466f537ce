"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

MIN_LENGTH = 10
MAX_LENGTH = 128
# zxcvbn scores 0-4; 0 and 1 are the most common passwords and trivial patterns (123456789a, qwertyuiop).
MIN_STRENGTH_SCORE = 2


def _hasher() -> PasswordHasher:
    cached = current_app.extensions.get("portal.password_hasher")
    if cached is None:
        cached = PasswordHasher(
            time_cost=current_app.config["ARGON2_TIME_COST"],
            memory_cost=current_app.config["ARGON2_MEMORY_COST_KIB"],
        )
        current_app.extensions["portal.password_hasher"] = cached
    return cached


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


def burn_verification_time(password: str) -> None:
    """Spend the time a real check would, so timing does not reveal whether an account exists."""
    verify_password(_dummy_hash(), password)


def _dummy_hash() -> str:
    cached = current_app.extensions.get("portal.dummy_hash")
    if cached is None:
        cached = hash_password("not-a-real-password-0000")
        current_app.extensions["portal.dummy_hash"] = cached
    return cached


def password_problem(password: str, related: list[str]) -> str | None:
    """A translated reason the password is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return _("Password must be at least %(count)d characters.", count=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("Password must be at most %(count)d characters.", count=MAX_LENGTH)
    lowered = password.lower()
    if any(item and item.lower() in lowered for item in related):
        return _("Password must not contain your mobile number or e-mail address.")
    from zxcvbn import zxcvbn  # its word lists (~12 MB) load only in processes that check passwords

    if zxcvbn(password[:100], user_inputs=[item for item in related if item])["score"] < MIN_STRENGTH_SCORE:
        return _("This password is too common or too easy to guess. Try a longer phrase of unrelated words.")
    return None

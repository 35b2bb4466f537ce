"""Secrets and the defences built on them: keys, ID-number encryption, sessions, logins, rate limits."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Mapping

from portal.settings.environment import ConfigError, env_bool, env_int

# Keys that must never reach production: the placeholder in the README and obvious test values.
KNOWN_WEAK_SECRET_KEYS = frozenset({"", "dev", "change-me", "changeme", "secret", "development", "test"})
MIN_SECRET_KEY_LENGTH = 32

_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
IDENTITY_KEY_BYTES = 32  # AES-256-GCM
MIN_INDEX_KEY_LENGTH = 32


def parse_identity_keys(raw: str) -> dict[str, bytes]:
    """'k2:base64key,k1:oldkey' -> {'k2': key, 'k1': key}, in order: the first encrypts, all decrypt."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key_id, _, encoded = item.partition(":")
        try:
            key = base64.b64decode(encoded.replace("-", "+").replace("_", "/"), validate=True)
        except ValueError:
            key = b""
        if not _KEY_ID.match(key_id) or key_id in keys or len(key) != IDENTITY_KEY_BYTES:
            raise ConfigError(
                "IDENTITY_KEYS entries are key_id:base64 of 32 random bytes, with distinct ids of letters, "
                "digits, - and _ (at most 16), e.g. k2:NEWKEY,k1:OLDKEY"
            )
        keys[key_id] = key
    return keys


class SecuritySettings:
    """Mixed into Config; an environment overrides the fallbacks (production has none)."""

    def _read_secrets(self, env: Mapping[str, str]) -> None:
        self.SECRET_KEY = env.get("SECRET_KEY") or self.fallback_secret_key()
        # National ID numbers at rest: AES-GCM keys by id (the first encrypts) and the blind index's key.
        self.IDENTITY_KEYS = parse_identity_keys(env.get("IDENTITY_KEYS") or self.fallback_identity_keys())
        index_key = env.get("IDENTITY_INDEX_KEY") or self.fallback_identity_index_key()
        self.IDENTITY_INDEX_KEY = index_key.encode()
        # Index keys being rotated out: lookups still find indexes made with them until `users reindex`.
        previous = (key.strip() for key in env.get("IDENTITY_PREVIOUS_INDEX_KEYS", "").split(","))
        self.IDENTITY_PREVIOUS_INDEX_KEYS = tuple(key.encode() for key in previous if key)
        # The verification codes printed on receipts are signed with this key (SECRET_KEY unless set).
        self.RECEIPT_SIGNING_KEY = env.get("RECEIPT_SIGNING_KEY") or self.SECRET_KEY

    def _read_sessions(self, env: Mapping[str, str]) -> None:
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = env_bool(env.get("SESSION_COOKIE_SECURE"), self.secure_cookies_default())
        self.SESSION_COOKIE_NAME = "portal_session"
        self.PERMANENT_SESSION_LIFETIME = env_int(env, "SESSION_LIFETIME_SECONDS", 8 * 3600)
        self.WTF_CSRF_ENABLED = True
        self.WTF_CSRF_TIME_LIMIT = env_int(env, "CSRF_TIME_LIMIT_SECONDS", 3600)

        self.LOGIN_MAX_FAILURES = env_int(env, "LOGIN_MAX_FAILURES", 5)
        self.LOGIN_LOCKOUT_SECONDS = env_int(env, "LOGIN_LOCKOUT_SECONDS", 15 * 60)
        # Staff sessions end after this long without a request (residents' last the whole lifetime).
        self.STAFF_IDLE_MINUTES = env_int(env, "STAFF_IDLE_MINUTES", 15)
        if self.STAFF_IDLE_MINUTES < 1:
            raise ConfigError("STAFF_IDLE_MINUTES must be a whole number of minutes, at least 1")
        self.RATELIMIT_ENABLED = env_bool(env.get("RATELIMIT_ENABLED"), True)
        self.RATELIMIT_STORAGE_URI = env.get("REDIS_URL") or "memory://"
        # Redis away: each process counts in memory until it is back (flask-limiter logs the switch), and
        # a storage error never turns a page into a 500.
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RATELIMIT_SWALLOW_ERRORS = True
        self.RATELIMIT_LOGIN = env.get("RATELIMIT_LOGIN") or "20 per minute"
        # Bill lookups ask agencies' systems (scraping them costs them); payments lock a wallet each time.
        self.RATELIMIT_LOOKUP = env.get("RATELIMIT_LOOKUP") or "60 per minute"
        self.RATELIMIT_PAYMENT = env.get("RATELIMIT_PAYMENT") or "20 per minute"
        # Asking for a password reset link (each one may cost a text message) per client address.
        self.RATELIMIT_PASSWORD_RESET = env.get("RATELIMIT_PASSWORD_RESET") or "5 per hour"
        # Paying without an account: each try may text a one-time code to a wallet's owner, so codes are
        # limited per wallet, per bill and per client address (a fourth kind of limit: 3 wrong codes).
        self.RATELIMIT_GUEST_WALLET = env.get("RATELIMIT_GUEST_WALLET") or "5 per hour"
        self.RATELIMIT_GUEST_BILL = env.get("RATELIMIT_GUEST_BILL") or "5 per hour"
        self.RATELIMIT_GUEST_ADDRESS = env.get("RATELIMIT_GUEST_ADDRESS") or "10 per hour"
        self.GUEST_CODE_MINUTES = env_int(env, "GUEST_CODE_MINUTES", 10)
        self.RATELIMIT_HEADERS_ENABLED = True

    def _read_password_hashing(self, env: Mapping[str, str]) -> None:
        self.ARGON2_TIME_COST = env_int(env, "ARGON2_TIME_COST", 3)
        self.ARGON2_MEMORY_COST_KIB = env_int(env, "ARGON2_MEMORY_COST_KIB", 64 * 1024)

    def fallback_secret_key(self) -> str:
        # A fresh random key per process: sessions do not survive a restart, which is fine in development.
        return secrets.token_urlsafe(48)

    def fallback_identity_keys(self) -> str:
        # Outside production derived from SECRET_KEY: as stable as it is (development keeps it in instance/).
        key = hashlib.sha256(b"portal identity key\0" + self.SECRET_KEY.encode()).digest()
        return "dev:" + base64.b64encode(key).decode()

    def fallback_identity_index_key(self) -> str:
        return hashlib.sha256(b"portal identity index\0" + self.SECRET_KEY.encode()).hexdigest()

    def secure_cookies_default(self) -> bool:
        return False

    def _validate_secret_key(self) -> None:
        """Production's check."""
        key = self.SECRET_KEY
        if key.strip().lower() in KNOWN_WEAK_SECRET_KEYS:
            raise ConfigError(
                "SECRET_KEY is missing or a known default; production refuses to start without a secret "
                "key. Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"SECRET_KEY is only {len(key)} characters; production needs at least "
                f"{MIN_SECRET_KEY_LENGTH} random characters."
            )

    def _validate_identity_keys(self) -> None:
        """National ID numbers are encrypted at rest: production never runs on derived keys."""
        if not self.IDENTITY_KEYS:
            raise ConfigError(
                "IDENTITY_KEYS is missing; production refuses to start without it. Generate one with: "
                "python -c 'import base64,os; print(\"k1:\" + base64.b64encode(os.urandom(32)).decode())'"
            )
        if len(self.IDENTITY_INDEX_KEY) < MIN_INDEX_KEY_LENGTH:
            raise ConfigError(
                f"IDENTITY_INDEX_KEY needs at least {MIN_INDEX_KEY_LENGTH} random characters in production "
                "(a key of its own, not SECRET_KEY; it can never change without re-indexing ID numbers)."
            )

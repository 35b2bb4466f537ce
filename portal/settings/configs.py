"""The settings groups composed into one Config per environment, and PORTAL_ENV's choice among them."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping

from portal.settings.agencies import AgencySettings
from portal.settings.batches import BatchSettings
from portal.settings.database import DatabaseSettings
from portal.settings.environment import INSTANCE_DIR, ConfigError
from portal.settings.locales import LocaleSettings
from portal.settings.operations import OperationsSettings
from portal.settings.risk import RiskSettings
from portal.settings.security import SecuritySettings
from portal.settings.wallet import WalletSettings
from portal.settings.worker import WorkerSettings


class Config(
    DatabaseSettings,
    SecuritySettings,
    LocaleSettings,
    OperationsSettings,
    WalletSettings,
    RiskSettings,
    AgencySettings,
    WorkerSettings,
    BatchSettings,
):
    """Settings shared by every environment."""

    ENV_NAME = "development"
    DEBUG = False
    TESTING = False

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        # In this order: a value may use one read before it, and of several bad values the first refuses.
        self._read_database(env)
        self._read_secrets(env)
        self._read_locales()
        self._read_sessions(env)
        self._read_password_hashing(env)
        self._read_operations(env)
        self._read_wallet(env)
        self._read_risk(env)
        self._read_agencies(env)
        self._read_worker(env)
        self._read_batches(env)

    def validate(self) -> None:
        """Refuse settings that are unsafe for this environment."""

    def as_dict(self) -> dict[str, object]:
        return {key: getattr(self, key) for key in dir(self) if key.isupper()}


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = False

    def default_sandbox_url(self) -> str:
        return "http://127.0.0.1:5100"  # `make run` starts the sandbox agency server there

    def fallback_secret_key(self) -> str:
        # Kept in instance/ so sessions survive a restart of `make run`; never used in production.
        # O_EXCL makes the first process the only writer when several workers start at once.
        key_file = INSTANCE_DIR / "secret_key"
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return key_file.read_text(encoding="ascii").strip() or secrets.token_urlsafe(48)
        key = secrets.token_urlsafe(48)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(key)
        return key


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(environ)
        # Cheaper hashing keeps the suite fast; it is still argon2id.
        self.ARGON2_TIME_COST = 1
        self.ARGON2_MEMORY_COST_KIB = 8 * 1024
        # Tests click through many lookups and payments in a minute; the limits' own tests set low ones.
        env = os.environ if environ is None else environ
        self.RATELIMIT_LOOKUP = env.get("RATELIMIT_LOOKUP") or "1000 per minute"
        self.RATELIMIT_PAYMENT = env.get("RATELIMIT_PAYMENT") or "1000 per minute"
        self.RATELIMIT_PASSWORD_RESET = env.get("RATELIMIT_PASSWORD_RESET") or "1000 per minute"
        for name in ("RATELIMIT_GUEST_WALLET", "RATELIMIT_GUEST_BILL", "RATELIMIT_GUEST_ADDRESS"):
            setattr(self, name, env.get(name) or "1000 per minute")


class ProductionConfig(Config):
    ENV_NAME = "production"

    def fallback_secret_key(self) -> str:
        return ""

    def fallback_identity_keys(self) -> str:
        return ""

    def fallback_identity_index_key(self) -> str:
        return ""

    def secure_cookies_default(self) -> bool:
        return True

    def validate(self) -> None:
        self._validate_secret_key()
        self._validate_sandbox_secret()
        self._validate_postgresql()
        self._validate_identity_keys()


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Pick the configuration class named by PORTAL_ENV (default: development)."""
    env = os.environ if environ is None else environ
    name = (env.get("PORTAL_ENV") or "development").strip().lower()
    try:
        config_class = CONFIGS[name]
    except KeyError as exc:
        raise ConfigError(f"PORTAL_ENV must be one of {sorted(CONFIGS)}, got {name!r}") from exc
    return config_class(env)

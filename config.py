"""Configuration classes for the portal.

Every value is read from the environment when a class is instantiated, never at import time,
so tests and the CLI can build apps with different settings in one process.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent
INSTANCE_DIR = PROJECT_ROOT / "instance"

# Keys that must never reach production: the placeholder in the README and obvious test values.
KNOWN_WEAK_SECRET_KEYS = frozenset({"", "dev", "change-me", "changeme", "secret", "development", "test"})
MIN_SECRET_KEY_LENGTH = 32
MIN_METRICS_TOKEN_LENGTH = 16


class ConfigError(RuntimeError):
    """The environment does not describe a configuration the portal may start with."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _tier_limits(env: Mapping[str, str], tier: str, default_yuan: tuple[int, int, int]) -> dict[str, int]:
    """'2000,5000,10000' (yuan: per payment, per day, balance) -> limits in fen."""
    name = f"WALLET_LIMITS_{tier.upper()}"
    raw = env.get(name, "")
    values = default_yuan
    if raw:
        try:
            values = tuple(int(part) for part in raw.split(","))  # type: ignore[assignment]
        except ValueError as exc:
            raise ConfigError(f"{name} must be three whole yuan amounts, e.g. 2000,5000,10000") from exc
        if len(values) != 3 or min(values) <= 0:
            raise ConfigError(f"{name} must be three positive whole yuan amounts, e.g. 2000,5000,10000")
    per_payment, per_day, balance = (value * 100 for value in values)
    return {"per_payment_fen": per_payment, "per_day_fen": per_day, "max_balance_fen": balance}


def _api_clients(env: Mapping[str, str]) -> dict[str, str]:
    """'portal:secret1,billing:secret2' -> {'portal': 'secret1', ...}."""
    clients = {}
    for item in filter(None, (part.strip() for part in env.get("WALLET_API_CLIENTS", "").split(","))):
        client_id, _, secret = item.partition(":")
        if not client_id or len(secret) < 16:
            raise ConfigError(
                "WALLET_API_CLIENTS entries are client_id:secret with secrets of 16+ characters"
            )
        clients[client_id] = secret
    return clients


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


# Shared by the demo portal and its sandbox agency server; production refuses it (see validate()).
DEMO_SANDBOX_SECRET = "sandbox-agency-demo-secret"  # noqa: S105 - a published demo value, not a secret

# Risk rules (portal/risk/rules.py): every rule flags by default; RISK_RULES (JSON) overrides any rule's
# action ("flag", "block" or "off") or thresholds, e.g. {"single_amount": {"action": "block"}}.
DEFAULT_RISK_RULES: dict[str, dict] = {
    "single_amount": {"action": "flag", "threshold_fen": 500_000},
    "velocity": {"action": "flag", "minutes": 10, "count": 10, "total_fen": 1_000_000},
    "near_limit": {"action": "flag", "ratio": 0.9, "times": 3, "hours": 24},
    "quick_withdrawal": {"action": "flag", "minutes": 30, "ratio": 0.8},
    "many_payers": {"action": "flag", "payers": 5, "days": 7},
    "new_account_top_up": {"action": "flag", "days": 7, "threshold_fen": 200_000},
}


def _risk_rules(env: Mapping[str, str]) -> dict[str, dict]:
    """The defaults with RISK_RULES (JSON: rule -> settings) laid over them."""
    try:
        overrides = json.loads(env.get("RISK_RULES") or "{}")
    except ValueError as exc:
        raise ConfigError('RISK_RULES must be JSON, e.g. {"single_amount": {"action": "block"}}') from exc
    if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
        raise ConfigError('RISK_RULES must map rule names to settings, e.g. {"velocity": {"count": 5}}')
    if unknown := sorted(set(overrides) - set(DEFAULT_RISK_RULES)):
        raise ConfigError(f"RISK_RULES names unknown rules: {unknown}")
    return {name: {**settings, **overrides.get(name, {})} for name, settings in DEFAULT_RISK_RULES.items()}


DEFAULT_AGENCY_ADAPTERS = {
    "water": {"adapter": "local"},
    "power": {"adapter": "local"},
    "gas": {"adapter": "local"},
}


SANDBOX_FIELDS = {
    "traffic": [
        {
            "name": "plate",
            "label_zh": "车牌号",
            "label_en": "Licence plate",
            "pattern": r"[\u4e00-\u9fa5][A-Z][A-Z0-9]{5,6}",
            "hint_zh": "例如 渝A12345",
            "hint_en": "For example 渝A12345",
        },
        {
            "name": "notice_no",
            "label_zh": "处罚决定书编号",
            "label_en": "Penalty notice number",
            "pattern": r"[0-9]{16}",
            "hint_zh": "16 位数字，印在处罚决定书上",
            "hint_en": "16 digits, printed on the penalty notice",
        },
    ],
    "tax": [
        {
            "name": "taxpayer_id",
            "label_zh": "纳税人识别号",
            "label_en": "Taxpayer number",
            "pattern": r"[0-9A-Z]{18}",
            "hint_zh": "统一社会信用代码或居民身份证号码",
            "hint_en": "Unified social credit code or resident ID number",
            "sensitive": True,  # may be a resident ID number: stored and carried only encrypted
        },
    ],
}


def sandbox_agencies(url: str, secret: str) -> dict[str, dict]:
    """The demo traffic police and tax bureau, served by the sandbox agency server at ``url``."""
    return {
        code: {"adapter": "http", "settings": {"url": url, "secret": secret, "fields": fields}}
        for code, fields in SANDBOX_FIELDS.items()
    }


def _agency_adapters(env: Mapping[str, str], sandbox_url: str, sandbox_secret: str) -> dict[str, dict]:
    """AGENCY_ADAPTERS='{"water": {"adapter": "local"}, ...}' (JSON). By default the demo utilities on
    the local adapter, plus traffic and tax on the sandbox agency server when one is configured."""
    raw = env.get("AGENCY_ADAPTERS", "")
    if not raw:
        defaults = {code: dict(value) for code, value in DEFAULT_AGENCY_ADAPTERS.items()}
        if sandbox_url:
            defaults.update(sandbox_agencies(sandbox_url, sandbox_secret))
        return defaults
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(
            "AGENCY_ADAPTERS must be a JSON object: agency code -> {adapter, settings}"
        ) from exc
    if not isinstance(value, dict) or not all(
        isinstance(item, dict) and "adapter" in item for item in value.values()
    ):
        raise ConfigError("AGENCY_ADAPTERS must map each agency code to an object with an 'adapter' name")
    return value


def default_sqlite_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'portal.sqlite3'}"


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "development"
    DEBUG = False
    TESTING = False

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.DATABASE_URL = env.get("DATABASE_URL") or default_sqlite_url()
        # A ping before every checkout costs a round trip per request (~0.3 ms on loopback); switch it on
        # where something between the portal and PostgreSQL drops idle connections.
        self.DATABASE_POOL_PRE_PING = _bool(env.get("DATABASE_POOL_PRE_PING"), False)
        self.SECRET_KEY = env.get("SECRET_KEY") or self.fallback_secret_key()
        # National ID numbers at rest: AES-GCM keys by id (the first encrypts) and the blind index's key.
        self.IDENTITY_KEYS = parse_identity_keys(env.get("IDENTITY_KEYS") or self.fallback_identity_keys())
        index_key = env.get("IDENTITY_INDEX_KEY") or self.fallback_identity_index_key()
        self.IDENTITY_INDEX_KEY = index_key.encode()
        # Index keys being rotated out: lookups still find indexes made with them until `users reindex`.
        previous = (key.strip() for key in env.get("IDENTITY_PREVIOUS_INDEX_KEYS", "").split(","))
        self.IDENTITY_PREVIOUS_INDEX_KEYS = tuple(key.encode() for key in previous if key)

        self.PORTAL_TIMEZONE = "Asia/Shanghai"
        self.PORTAL_CURRENCY = "CNY"
        self.BABEL_DEFAULT_LOCALE = "zh_CN"
        self.BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
        self.BABEL_TRANSLATION_DIRECTORIES = "translations"
        self.PORTAL_LOCALES = ("zh_CN", "en")

        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _bool(env.get("SESSION_COOKIE_SECURE"), self.secure_cookies_default())
        self.SESSION_COOKIE_NAME = "portal_session"
        self.PERMANENT_SESSION_LIFETIME = _int(env, "SESSION_LIFETIME_SECONDS", 8 * 3600)
        self.WTF_CSRF_ENABLED = True
        self.WTF_CSRF_TIME_LIMIT = _int(env, "CSRF_TIME_LIMIT_SECONDS", 3600)

        self.LOGIN_MAX_FAILURES = _int(env, "LOGIN_MAX_FAILURES", 5)
        self.LOGIN_LOCKOUT_SECONDS = _int(env, "LOGIN_LOCKOUT_SECONDS", 15 * 60)
        # Staff sessions end after this long without a request (residents' last the whole lifetime).
        self.STAFF_IDLE_MINUTES = _int(env, "STAFF_IDLE_MINUTES", 15)
        if self.STAFF_IDLE_MINUTES < 1:
            raise ConfigError("STAFF_IDLE_MINUTES must be a whole number of minutes, at least 1")
        self.RATELIMIT_ENABLED = _bool(env.get("RATELIMIT_ENABLED"), True)
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
        # How messages reach residents (portal/notify): "development" = the log and /dev/outbox only.
        self.NOTIFIER = env.get("NOTIFIER") or "development"
        self.RATELIMIT_HEADERS_ENABLED = True

        self.ARGON2_TIME_COST = _int(env, "ARGON2_TIME_COST", 3)
        self.ARGON2_MEMORY_COST_KIB = _int(env, "ARGON2_MEMORY_COST_KIB", 64 * 1024)

        self.LOG_LEVEL = env.get("LOG_LEVEL") or "INFO"
        # GET /metrics answers only `Authorization: Bearer <token>`; unset, only this machine's loopback.
        self.METRICS_TOKEN = env.get("METRICS_TOKEN", "")
        if self.METRICS_TOKEN and len(self.METRICS_TOKEN) < MIN_METRICS_TOKEN_LENGTH:
            raise ConfigError(f"METRICS_TOKEN needs at least {MIN_METRICS_TOKEN_LENGTH} random characters")

        # Wallet limits by verification tier (e-CNY style), in fen.
        self.WALLET_LIMITS = {
            "basic": _tier_limits(env, "basic", (2_000, 5_000, 10_000)),
            "id_verified": _tier_limits(env, "id_verified", (5_000, 10_000, 20_000)),
            "id_and_card": _tier_limits(env, "id_and_card", (50_000, 100_000, 500_000)),
        }
        self.WALLET_HOLD_TTL_SECONDS = _int(env, "WALLET_HOLD_TTL_SECONDS", 15 * 60)
        self.WALLET_IDEMPOTENCY_DAYS = _int(env, "WALLET_IDEMPOTENCY_DAYS", 30)
        # The wallet as its own service: clients allowed to call its JSON API, and the replay window.
        self.WALLET_API_CLIENTS = _api_clients(env)
        self.WALLET_API_WINDOW_SECONDS = _int(env, "WALLET_API_WINDOW_SECONDS", 300)
        self.RISK_RULES = _risk_rules(env)
        # Which adapter serves which agency (entry points in the portal.agencies group).
        self.SANDBOX_AGENCY_URL = env.get("SANDBOX_AGENCY_URL", self.default_sandbox_url())
        self.SANDBOX_AGENCY_SECRET = env.get("SANDBOX_AGENCY_SECRET") or DEMO_SANDBOX_SECRET
        self.AGENCY_ADAPTERS = _agency_adapters(env, self.SANDBOX_AGENCY_URL, self.SANDBOX_AGENCY_SECRET)

        # Outbox to agencies: retries back off from the base delay (doubling) for this long, then a
        # message turns dead and waits for an operator's resend.
        self.OUTBOX_GIVE_UP_SECONDS = _int(env, "OUTBOX_GIVE_UP_SECONDS", 3 * 24 * 3600)
        self.OUTBOX_BACKOFF_BASE_SECONDS = _int(env, "OUTBOX_BACKOFF_BASE_SECONDS", 30)
        self.OUTBOX_POLL_SECONDS = _int(env, "OUTBOX_POLL_SECONDS", 1)
        # How long a claimed message stays a worker's: a worker killed outright holds it this long.
        self.OUTBOX_LEASE_SECONDS = _int(env, "OUTBOX_LEASE_SECONDS", 120)
        # The worker's scans (portal/worker.py): how often, and when residents hear of a bill falling due
        # (Beijing days before it), auto-pay pays it, and a late agency confirmation is told.
        self.WORKER_SCAN_SECONDS = _int(env, "WORKER_SCAN_SECONDS", 300)
        # Each worker writes a heartbeat this often; /readyz fails when none is younger than the limit.
        self.WORKER_HEARTBEAT_SECONDS = _int(env, "WORKER_HEARTBEAT_SECONDS", 10)
        self.READY_WORKER_STALE_SECONDS = _int(env, "READY_WORKER_STALE_SECONDS", 60)
        self.REMINDER_DAYS_BEFORE = _int(env, "REMINDER_DAYS_BEFORE", 3)
        self.AUTOPAY_DAYS_BEFORE = _int(env, "AUTOPAY_DAYS_BEFORE", 1)
        # ...and no sooner than this long after its reminder, so a resident can still stop it.
        self.AUTOPAY_NOTICE_MINUTES = _int(env, "AUTOPAY_NOTICE_MINUTES", 60)
        self.CONFIRMATION_DELAY_MINUTES = _int(env, "CONFIRMATION_DELAY_MINUTES", 60)
        # Clerks' bill batches: size and row limits; an .xlsx may unpack to at most this much.
        self.BATCH_MAX_BYTES = _int(env, "BATCH_MAX_BYTES", 50 * 1024 * 1024)
        self.BATCH_MAX_ROWS = _int(env, "BATCH_MAX_ROWS", 500_000)
        self.BATCH_MAX_UNCOMPRESSED_BYTES = _int(env, "BATCH_MAX_UNCOMPRESSED_BYTES", 200 * 1024 * 1024)
        self.MAX_CONTENT_LENGTH = self.BATCH_MAX_BYTES + 1024 * 1024  # the largest request at all
        # Files larger than this are checked and loaded by the worker while the page shows progress.
        self.BATCH_BACKGROUND_BYTES = _int(env, "BATCH_BACKGROUND_BYTES", 2 * 1024 * 1024)
        # Receipts print a verification link; it must be the address residents reach the portal at.
        self.PORTAL_BASE_URL = env.get("PORTAL_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
        self.RECEIPT_SIGNING_KEY = env.get("RECEIPT_SIGNING_KEY") or self.SECRET_KEY
        # Where the portal finds the wallet: in-process (empty) or over HTTP.
        self.WALLET_URL = env.get("WALLET_URL", "")
        self.WALLET_CLIENT_ID = env.get("WALLET_CLIENT_ID", "")
        self.WALLET_CLIENT_SECRET = env.get("WALLET_CLIENT_SECRET", "")

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

    def default_sandbox_url(self) -> str:
        """Only development talks to the sandbox agency server unless SANDBOX_AGENCY_URL says otherwise."""
        return ""

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
        if self.SANDBOX_AGENCY_URL and self.SANDBOX_AGENCY_SECRET == DEMO_SANDBOX_SECRET:
            raise ConfigError("SANDBOX_AGENCY_URL is set but SANDBOX_AGENCY_SECRET is the demo default.")
        if self.DATABASE_URL.startswith("sqlite"):
            raise ConfigError(
                "Production runs on PostgreSQL: set DATABASE_URL to a postgresql+psycopg:// URL."
            )
        self._validate_identity_keys()

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

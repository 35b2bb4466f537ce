"""Configuration classes for the portal, one per environment (PORTAL_ENV picks one: load_config).

Every value is read from the environment when a class is instantiated, never at import time, so tests
and the CLI can build apps with different settings in one process. The settings live in portal/settings/,
grouped by concern (environment, database, security, locales, operations, wallet, risk, agencies,
worker, batches) and composed in portal/settings/configs.py; this module is where the project, its
migrations, tests and benchmarks import them from.
"""

from __future__ import annotations

from portal.settings.agencies import (
    DEFAULT_AGENCY_ADAPTERS,
    DEMO_SANDBOX_SECRET,
    SANDBOX_FIELDS,
    sandbox_agencies,
)
from portal.settings.configs import (
    CONFIGS,
    Config,
    DevelopmentConfig,
    ProductionConfig,
    TestingConfig,
    load_config,
)
from portal.settings.database import default_sqlite_url
from portal.settings.environment import INSTANCE_DIR, PROJECT_ROOT, ConfigError
from portal.settings.operations import MIN_METRICS_TOKEN_LENGTH
from portal.settings.risk import DEFAULT_RISK_RULES
from portal.settings.security import (
    IDENTITY_KEY_BYTES,
    KNOWN_WEAK_SECRET_KEYS,
    MIN_INDEX_KEY_LENGTH,
    MIN_SECRET_KEY_LENGTH,
    parse_identity_keys,
)

__all__ = [
    "CONFIGS",
    "DEFAULT_AGENCY_ADAPTERS",
    "DEFAULT_RISK_RULES",
    "DEMO_SANDBOX_SECRET",
    "IDENTITY_KEY_BYTES",
    "INSTANCE_DIR",
    "KNOWN_WEAK_SECRET_KEYS",
    "MIN_INDEX_KEY_LENGTH",
    "MIN_METRICS_TOKEN_LENGTH",
    "MIN_SECRET_KEY_LENGTH",
    "PROJECT_ROOT",
    "SANDBOX_FIELDS",
    "Config",
    "ConfigError",
    "DevelopmentConfig",
    "ProductionConfig",
    "TestingConfig",
    "default_sqlite_url",
    "load_config",
    "parse_identity_keys",
    "sandbox_agencies",
]

"""Where the portal keeps its data: the database URL (SQLite under instance/ unless told) and its pool."""

from __future__ import annotations

from collections.abc import Mapping

from portal.settings.environment import INSTANCE_DIR, ConfigError, env_bool


def default_sqlite_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'portal.sqlite3'}"


class DatabaseSettings:
    """Mixed into Config."""

    def _read_database(self, env: Mapping[str, str]) -> None:
        self.DATABASE_URL = env.get("DATABASE_URL") or default_sqlite_url()
        # A ping before every checkout costs a round trip per request (~0.3 ms on loopback); switch it on
        # where something between the portal and PostgreSQL drops idle connections.
        self.DATABASE_POOL_PRE_PING = env_bool(env.get("DATABASE_POOL_PRE_PING"), False)

    def _validate_postgresql(self) -> None:
        """Production's check."""
        if self.DATABASE_URL.startswith("sqlite"):
            raise ConfigError(
                "Production runs on PostgreSQL: set DATABASE_URL to a postgresql+psycopg:// URL."
            )

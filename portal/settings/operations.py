"""Running the portal: the address residents reach it at, its logs, and who may read /metrics."""

from __future__ import annotations

from collections.abc import Mapping

from portal.settings.environment import ConfigError

MIN_METRICS_TOKEN_LENGTH = 16


class OperationsSettings:
    """Mixed into Config."""

    def _read_operations(self, env: Mapping[str, str]) -> None:
        self.LOG_LEVEL = env.get("LOG_LEVEL") or "INFO"
        # GET /metrics answers only `Authorization: Bearer <token>`; unset, only this machine's loopback.
        self.METRICS_TOKEN = env.get("METRICS_TOKEN", "")
        if self.METRICS_TOKEN and len(self.METRICS_TOKEN) < MIN_METRICS_TOKEN_LENGTH:
            raise ConfigError(f"METRICS_TOKEN needs at least {MIN_METRICS_TOKEN_LENGTH} random characters")
        # Receipts print a verification link; it must be the address residents reach the portal at.
        self.PORTAL_BASE_URL = env.get("PORTAL_BASE_URL", "http://127.0.0.1:5000").rstrip("/")

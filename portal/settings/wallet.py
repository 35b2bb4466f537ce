"""The wallet: limits by verification tier, holds, idempotency, its JSON API and where the portal finds it."""

from __future__ import annotations

from collections.abc import Mapping

from portal.settings.environment import ConfigError, env_int


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


class WalletSettings:
    """Mixed into Config."""

    def _read_wallet(self, env: Mapping[str, str]) -> None:
        # Wallet limits by verification tier (e-CNY style), in fen.
        self.WALLET_LIMITS = {
            "basic": _tier_limits(env, "basic", (2_000, 5_000, 10_000)),
            "id_verified": _tier_limits(env, "id_verified", (5_000, 10_000, 20_000)),
            "id_and_card": _tier_limits(env, "id_and_card", (50_000, 100_000, 500_000)),
        }
        self.WALLET_HOLD_TTL_SECONDS = env_int(env, "WALLET_HOLD_TTL_SECONDS", 15 * 60)
        self.WALLET_IDEMPOTENCY_DAYS = env_int(env, "WALLET_IDEMPOTENCY_DAYS", 30)
        # Cash a counter takes for one payment, in yuan (above it: a bank card). 50,000 yuan is where
        # the central bank's large-cash reporting starts.
        self.COUNTER_CASH_LIMIT_FEN = env_int(env, "COUNTER_CASH_LIMIT_YUAN", 50_000) * 100
        # The wallet as its own service: clients allowed to call its JSON API, and the replay window.
        self.WALLET_API_CLIENTS = _api_clients(env)
        self.WALLET_API_WINDOW_SECONDS = env_int(env, "WALLET_API_WINDOW_SECONDS", 300)
        # Where the portal finds the wallet: in-process (empty) or over HTTP.
        self.WALLET_URL = env.get("WALLET_URL", "")
        self.WALLET_CLIENT_ID = env.get("WALLET_CLIENT_ID", "")
        self.WALLET_CLIENT_SECRET = env.get("WALLET_CLIENT_SECRET", "")

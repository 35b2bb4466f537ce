"""The anti-money-laundering rules' actions and thresholds: the defaults, with RISK_RULES laid over them."""

from __future__ import annotations

import json
from collections.abc import Mapping

from portal.settings.environment import ConfigError

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


class RiskSettings:
    """Mixed into Config."""

    def _read_risk(self, env: Mapping[str, str]) -> None:
        self.RISK_RULES = _risk_rules(env)

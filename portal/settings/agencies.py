"""Which adapter serves which agency, and the demo agencies on the sandbox agency server."""

from __future__ import annotations

import json
from collections.abc import Mapping

from portal.settings.environment import ConfigError

# Shared by the demo portal and its sandbox agency server; production refuses it (see validate()).
DEMO_SANDBOX_SECRET = "sandbox-agency-demo-secret"  # noqa: S105 - a published demo value, not a secret  # nosec B105

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


class AgencySettings:
    """Mixed into Config; an environment overrides default_sandbox_url (development has one)."""

    def _read_agencies(self, env: Mapping[str, str]) -> None:
        # Which adapter serves which agency (entry points in the portal.agencies group).
        self.SANDBOX_AGENCY_URL = env.get("SANDBOX_AGENCY_URL", self.default_sandbox_url())
        self.SANDBOX_AGENCY_SECRET = env.get("SANDBOX_AGENCY_SECRET") or DEMO_SANDBOX_SECRET
        self.AGENCY_ADAPTERS = _agency_adapters(env, self.SANDBOX_AGENCY_URL, self.SANDBOX_AGENCY_SECRET)

    def default_sandbox_url(self) -> str:
        """Only development talks to the sandbox agency server unless SANDBOX_AGENCY_URL says otherwise."""
        return ""

    def _validate_sandbox_secret(self) -> None:
        """Production's check."""
        if self.SANDBOX_AGENCY_URL and self.SANDBOX_AGENCY_SECRET == DEMO_SANDBOX_SECRET:
            raise ConfigError("SANDBOX_AGENCY_URL is set but SANDBOX_AGENCY_SECRET is the demo default.")

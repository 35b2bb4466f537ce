"""The `http` adapter: a remote agency system speaking the JSON protocol of docs/agency-protocol.md.

Requests and responses are signed with the agency's shared secret (HMAC-SHA256); every call has a
timeout; a confirmation is retried once on a transport error (the agency dedupes by payment id); and a
circuit breaker per agency stops calling an agency that keeps failing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import date
from functools import partial
from typing import Any

import httpx

from portal import metrics
from portal.agencies.base import (
    Ack,
    AgencyAdapter,
    AmountPolicy,
    AmountRule,
    BillQuery,
    BillStatus,
    BillView,
    PaymentConfirmation,
    QueryField,
    RefundNotice,
)
from portal.agencies.breaker import CircuitBreaker

TIMESTAMP_HEADER = "X-Agency-Timestamp"
SIGNATURE_HEADER = "X-Agency-Signature"
_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


class AgencyProtocolError(RuntimeError):
    """The agency answered, but not as the protocol says (status, signature or body)."""


class CircuitOpen(RuntimeError):
    """The agency failed repeatedly; it is not called until its breaker lets a trial through."""


def signature(secret: str, *parts: str | bytes) -> str:
    """HMAC-SHA256 over the parts joined by newlines; bytes parts are replaced by their SHA-256."""
    text = "\n".join(hashlib.sha256(part).hexdigest() if isinstance(part, bytes) else part for part in parts)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def breaker_for(agency_code: str) -> CircuitBreaker:
    with _breakers_lock:
        breaker = _breakers.get(agency_code)
        if breaker is None:
            breaker = CircuitBreaker(on_change=partial(metrics.set_circuit_state, agency_code))
            _breakers[agency_code] = breaker
            metrics.set_circuit_state(agency_code, breaker.state)  # shown closed from the first call on
        return breaker


class HttpAdapter(AgencyAdapter):
    adapter_name = "http"
    fields: tuple[QueryField, ...] = ()  # declared per agency in its settings

    def __init__(self, config, context) -> None:
        super().__init__(config, context)
        settings = config.settings
        self.fields = tuple(QueryField(**field) for field in settings.get("fields", ()))
        rule = settings.get("amount_rule", AmountRule.EXACT.value)
        self.amount_policy = AmountPolicy(AmountRule(rule), int(settings.get("minimum_fen", 0)))
        self.url = str(settings.get("url", "")).rstrip("/")
        self.secret = str(settings.get("secret", ""))
        self.timeout = float(settings.get("timeout_seconds", 3.0))

    def lookup(self, query: BillQuery) -> list[BillView]:
        data = self._post("/v1/lookup", {"agency": self.code, "query": dict(query.values)})
        return [self._bill(item) for item in data.get("bills", [])]

    def confirm_payment(self, confirmation: PaymentConfirmation) -> Ack:
        body = {
            "payment_id": confirmation.payment_id,
            "agency": self.code,
            "bill_id": confirmation.bill_id,
            "amount_fen": confirmation.amount_fen,
            "paid_at": confirmation.paid_at.isoformat(),
        }
        try:
            data = self._post("/v1/confirmations", body)
        except httpx.TransportError:
            data = self._post("/v1/confirmations", body)  # once more: the agency dedupes by payment id
        return Ack(
            str(data["payment_id"]),
            bool(data["accepted"]),
            str(data.get("agency_reference", "")),
            amount_fen=_recorded_amount(data.get("amount_fen")),
        )

    def notify_refund(self, notice: RefundNotice) -> Ack:
        body = {
            "refund_id": notice.refund_id,
            "payment_id": notice.payment_id,
            "agency": self.code,
            "bill_id": notice.bill_id,
            "amount_fen": notice.amount_fen,
            "refunded_at": notice.refunded_at.isoformat(),
            "reason": notice.reason,
        }
        data = self._post("/v1/refunds", body)
        return Ack(str(data["payment_id"]), bool(data["accepted"]), str(data.get("agency_reference", "")))

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        breaker = breaker_for(self.code)
        if not breaker.allow():
            raise CircuitOpen(self.code)
        try:
            data = self._exchange(path, body)
        except Exception:
            breaker.record_failure()
            raise
        breaker.record_success()
        return data

    def _exchange(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        content = json.dumps(body, ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(self.secret, "POST", path, timestamp, content),
        }
        response = httpx.post(self.url + path, content=content, headers=headers, timeout=self.timeout)
        if response.status_code != 200:
            raise AgencyProtocolError(f"status {response.status_code}")
        expected = signature(
            self.secret,
            str(response.status_code),
            response.headers.get(TIMESTAMP_HEADER, ""),
            response.content,
        )
        if not hmac.compare_digest(expected, response.headers.get(SIGNATURE_HEADER, "")):
            raise AgencyProtocolError("response signature does not match")
        data = response.json()
        if not isinstance(data, dict):
            raise AgencyProtocolError("response is not a JSON object")
        return data

    def _bill(self, item: dict[str, Any]) -> BillView:
        due = item.get("due_date")
        return BillView(
            agency_code=self.code,
            bill_id=str(item["bill_id"]),
            account_reference=str(item.get("account_reference", "")),
            payer_name=str(item.get("payer_name", "")),
            description=str(item.get("description", "")),
            period=str(item.get("period", "")),
            amount_due_fen=_fen(item["amount_due_fen"]),
            late_fee_fen=_fen(item.get("late_fee_fen", 0), allow_zero=True),
            due_date=date.fromisoformat(due) if due else None,
            status=BillStatus(item.get("status", BillStatus.UNPAID.value)),
        )


def _fen(value: Any, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (value == 0 and not allow_zero):
        raise AgencyProtocolError(f"amount {value!r} is not a whole number of fen")
    return value


def _recorded_amount(value: Any) -> int | None:
    """The amount an agency echoes is optional; anything but whole fen is treated as not said."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None

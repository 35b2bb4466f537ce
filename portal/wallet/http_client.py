"""HttpWalletClient: the WalletService interface over the wallet's signed JSON API."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import httpx
from flask import has_request_context

from portal.i18n import html_lang
from portal.wallet import signing
from portal.wallet.errors import WalletBusy, error_from_code
from portal.wallet.types import (
    Balance,
    CardList,
    CardView,
    HoldResult,
    PaymentLeg,
    StatementPage,
    TransferResult,
    from_json,
    to_json,
)

T = TypeVar("T")


class HttpWalletClient:
    def __init__(self, base_url: str, client_id: str, secret: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.base_path = urlsplit(self.base_url).path
        self.client_id = client_id
        self.secret = secret
        self.http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self.http.close()

    # -- transport --------------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        result_type: type[T] | None,
        body: dict[str, Any] | None = None,
        *,
        query: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> T:
        content = json.dumps(body).encode() if body is not None else b""
        query_text = urlencode({k: v for k, v in (query or {}).items() if v is not None})
        full_path = self.base_path + "/wallet/api/v1" + path
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        headers = {
            signing.CLIENT_HEADER: self.client_id,
            signing.TIMESTAMP_HEADER: timestamp,
            signing.NONCE_HEADER: nonce,
            signing.SIGNATURE_HEADER: signing.sign(
                self.secret, method, full_path, query_text, timestamp, nonce, idempotency_key or "", content
            ),
            "Content-Type": "application/json",
            "Accept-Language": _current_language(),
        }
        if idempotency_key is not None:
            headers[signing.IDEMPOTENCY_HEADER] = idempotency_key
        url = self.base_url + "/wallet/api/v1" + path + (f"?{query_text}" if query_text else "")
        try:
            response = self.http.request(method, url, content=content, headers=headers)
        except httpx.HTTPError as error:
            raise WalletBusy() from error
        try:
            data = response.json() if response.content else {}
        except ValueError as error:  # an HTML error page from a proxy, say: nothing is known to have moved
            raise WalletBusy() from error
        if response.status_code >= 400:
            problem = data.get("error", {}) if isinstance(data, dict) else {}
            raise error_from_code(
                problem.get("code", "busy"), problem.get("params") or {}, problem.get("field")
            )
        return from_json(result_type, data) if result_type is not None else None  # type: ignore[return-value]

    # -- the WalletService interface --------------------------------------------------------------
    def open_wallet(self, owner: str, tier: str = "basic") -> Balance:
        return self._call("POST", "/wallets", Balance, {"owner": owner, "tier": tier})

    def open_agency_account(self, agency_code: str) -> None:
        self._call("POST", "/agencies", None, {"agency_code": agency_code})

    def set_tier(self, owner: str, tier: str) -> Balance:
        return self._call("PUT", f"/wallets/{_seg(owner)}/tier", Balance, {"tier": tier})

    def set_frozen(self, owner: str, frozen: bool) -> Balance:
        return self._call("PUT", f"/wallets/{_seg(owner)}/frozen", Balance, {"frozen": frozen})

    def balance(self, owner: str) -> Balance:
        return self._call("GET", f"/wallets/{_seg(owner)}/balance", Balance)

    def link_card(self, owner: str, card_number: str) -> CardView:
        return self._call("POST", f"/wallets/{_seg(owner)}/cards", CardView, {"card_number": card_number})

    def cards(self, owner: str) -> CardList:
        return self._call("GET", f"/wallets/{_seg(owner)}/cards", CardList)

    def top_up(self, owner: str, amount_fen: int, *, card: str, idempotency_key: str) -> TransferResult:
        body = {"amount_fen": amount_fen, "card": card}
        return self._call(
            "POST", f"/wallets/{_seg(owner)}/top-ups", TransferResult, body, idempotency_key=idempotency_key
        )

    def withdraw(self, owner: str, amount_fen: int, *, card: str, idempotency_key: str) -> TransferResult:
        body = {"amount_fen": amount_fen, "card": card}
        return self._call(
            "POST",
            f"/wallets/{_seg(owner)}/withdrawals",
            TransferResult,
            body,
            idempotency_key=idempotency_key,
        )

    def pay(
        self, owner: str, legs: Sequence[PaymentLeg], *, idempotency_key: str, description: str = ""
    ) -> TransferResult:
        body = {"legs": to_json(list(legs)), "description": description}
        return self._call(
            "POST", f"/wallets/{_seg(owner)}/payments", TransferResult, body, idempotency_key=idempotency_key
        )

    def refund(
        self, payment_reference: str, amount_fen: int, *, idempotency_key: str, agency: str | None = None
    ) -> TransferResult:
        body = {"amount_fen": amount_fen, "agency": agency}
        return self._call(
            "POST",
            f"/payments/{_seg(payment_reference)}/refunds",
            TransferResult,
            body,
            idempotency_key=idempotency_key,
        )

    def hold(
        self, owner: str, amount_fen: int, *, idempotency_key: str, ttl_seconds: int | None = None
    ) -> HoldResult:
        body = {"amount_fen": amount_fen, "ttl_seconds": ttl_seconds}
        return self._call(
            "POST", f"/wallets/{_seg(owner)}/holds", HoldResult, body, idempotency_key=idempotency_key
        )

    def capture(
        self, hold_reference: str, legs: Sequence[PaymentLeg], *, idempotency_key: str
    ) -> TransferResult:
        body = {"legs": to_json(list(legs))}
        return self._call(
            "POST",
            f"/holds/{_seg(hold_reference)}/capture",
            TransferResult,
            body,
            idempotency_key=idempotency_key,
        )

    def release(self, hold_reference: str, *, idempotency_key: str) -> HoldResult:
        return self._call(
            "POST", f"/holds/{_seg(hold_reference)}/release", HoldResult, {}, idempotency_key=idempotency_key
        )

    def statement(
        self,
        owner: str,
        *,
        page: int = 1,
        per_page: int = 20,
        kind: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> StatementPage:
        query = {
            "page": page,
            "per_page": per_page,
            "kind": kind,
            "date_from": date_from.isoformat() if date_from else None,
            "date_to": date_to.isoformat() if date_to else None,
        }
        return self._call("GET", f"/wallets/{_seg(owner)}/statement", StatementPage, query=query)


def _seg(value: str) -> str:
    return quote(value, safe=":")


def _current_language() -> str:
    if not has_request_context():
        return "zh-CN"
    return html_lang()

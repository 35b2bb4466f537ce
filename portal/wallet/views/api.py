"""The wallet's JSON API under /wallet/api/v1/: the same operations as WalletService, for other services.

Every request is signed (portal.wallet.signing); mutating requests carry an Idempotency-Key header.
Errors are JSON: {"error": {"code": ..., "message": ..., "params": {...}}} with a stable code.
"""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from portal.db import get_database, get_session, utcnow
from portal.extensions import csrf
from portal.input_guard import forbidden_text
from portal.wallet import signing
from portal.wallet.errors import SpoiltTransaction, WalletBusy, WalletError
from portal.wallet.factory import wallet_service
from portal.wallet.models import ApiRequestSeen
from portal.wallet.openapi import wallet_openapi
from portal.wallet.types import PaymentLeg, to_json

bp = Blueprint("wallet_api", __name__, url_prefix="/wallet/api/v1")
OWNER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$")
csrf.exempt(bp)  # machine clients authenticate every request with an HMAC signature instead


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    return jsonify(error={"code": error.code, "message": error.message, "params": {}}), error.status


@bp.errorhandler(WalletError)
def _wallet_error(error: WalletError):
    body = {"code": error.code, "message": error.message, "params": error.params, "field": error.field}
    return jsonify(error=body), error.http_status


@bp.errorhandler(SpoiltTransaction)
def _spoilt(_error: SpoiltTransaction):
    # The 503 makes the commit point roll the whole request back: nothing moved, the client may retry.
    error = WalletBusy()
    return jsonify(error={"code": error.code, "message": error.message, "params": {}}), error.http_status


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    return jsonify(
        error={"code": "http_" + str(error.code), "message": error.description, "params": {}}
    ), error.code


@bp.before_request
def _authenticate() -> None:
    if request.endpoint == "wallet_api.openapi_document":
        return  # the document is public: it tells the shape of requests, not any data
    clients = current_app.config["WALLET_API_CLIENTS"]
    client_id = request.headers.get(signing.CLIENT_HEADER, "")
    timestamp = request.headers.get(signing.TIMESTAMP_HEADER, "")
    signature = request.headers.get(signing.SIGNATURE_HEADER, "")
    nonce = request.headers.get(signing.NONCE_HEADER, "")
    key = request.headers.get(signing.IDEMPOTENCY_HEADER, "")
    secret = clients.get(client_id)
    well_formed = (
        timestamp.isascii()
        and timestamp.isdigit()
        and len(timestamp) <= 12
        and signature
        and 16 <= len(nonce) <= 64
        and nonce.isascii()
        and nonce.isprintable()
    )
    if secret is None or not well_formed:
        raise ApiError(401, "unauthorized", "unknown client or missing signature headers")
    window = current_app.config["WALLET_API_WINDOW_SECONDS"]
    if abs(time.time() - int(timestamp)) > window:
        raise ApiError(401, "stale_request", f"timestamp outside the {window} s window; check the clock")
    query = request.query_string.decode()
    expected = signing.sign(
        secret, request.method, request.path, query, timestamp, nonce, key, request.get_data()
    )
    if not signing.signatures_match(expected, signature):
        raise ApiError(401, "bad_signature", "the signature does not match the request")
    _refuse_replay(f"{client_id}:{nonce}", window)
    g.wallet_client_id = client_id


def _refuse_replay(nonce: str, window: int) -> None:
    """Record the nonce in a transaction of its own, committed at once: a request that is refused and
    rolled back has still used its nonce, so it cannot be sent again."""
    try:
        with get_database().write_transaction() as session:
            cutoff = utcnow() - timedelta(seconds=2 * window)
            session.execute(delete(ApiRequestSeen).where(ApiRequestSeen.created_at < cutoff))
            session.add(ApiRequestSeen(nonce=nonce))
    except IntegrityError as error:
        raise ApiError(401, "replayed_request", "this signed request was already received") from error


def _service():
    return wallet_service(get_session(), client=f"api:{g.wallet_client_id}")


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    if forbidden_text(data):
        raise ApiError(
            400, "invalid_characters", "text in the body holds control characters or lone surrogates"
        )
    return data


def _key() -> str:
    key = request.headers.get(signing.IDEMPOTENCY_HEADER, "")
    if not (8 <= len(key) <= 128 and key.isascii() and key.isprintable()):
        raise ApiError(
            400,
            "idempotency_key_required",
            "mutating requests need an Idempotency-Key of 8-128 printable characters",
        )
    return key


def _text(data: dict[str, Any], name: str, *, limit: int = 200, required: bool = False) -> str:
    value = data.get(name)
    value = "" if value is None else value
    if not isinstance(value, str) or len(value) > limit or "\x00" in value or (required and not value):
        raise ApiError(400, "bad_request", f"{name} must be text of at most {limit} characters")
    return value


@bp.url_value_preprocessor
def _check_path_values(_endpoint, values) -> None:
    for name in ("owner", "reference"):
        if values and name in values and not OWNER_PATTERN.match(values[name]):
            raise ApiError(400, "bad_request", f"{name} is not a valid ledger name")


def _legs(data: dict[str, Any]) -> list[PaymentLeg]:
    legs = data.get("legs")
    if not isinstance(legs, list) or not all(isinstance(leg, dict) for leg in legs):
        raise ApiError(400, "bad_request", "legs must be a list of {agency, amount_fen}")
    if not 1 <= len(legs) <= 20:
        raise ApiError(400, "bad_request", "a payment has 1 to 20 legs")
    return [
        PaymentLeg(agency=_text(leg, "agency", limit=64, required=True), amount_fen=leg.get("amount_fen"))
        for leg in legs
    ]


def _ok(value, status: int = 200):
    return jsonify(to_json(value)), status


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(wallet_openapi())


@bp.post("/wallets")
def open_wallet():
    data = _body()
    owner, tier = _text(data, "owner", limit=64, required=True), _text(data, "tier", limit=20) or "basic"
    if not OWNER_PATTERN.match(owner) or tier not in current_app.config["WALLET_LIMITS"]:
        raise ApiError(400, "bad_request", "owner must be a ledger name and tier a known tier")
    return _ok(_service().open_wallet(owner, tier), 201)


@bp.post("/agencies")
def open_agency_account():
    code = _text(_body(), "agency_code", limit=32, required=True)
    if not OWNER_PATTERN.match(code):
        raise ApiError(400, "bad_request", "agency_code must be letters, digits, dots, dashes or underscores")
    _service().open_agency_account(code)
    return jsonify(status="ok"), 201


@bp.get("/wallets/<owner>/balance")
def balance(owner: str):
    return _ok(_service().balance(owner))


@bp.put("/wallets/<owner>/tier")
def set_tier(owner: str):
    tier = _text(_body(), "tier", limit=20)
    if tier not in current_app.config["WALLET_LIMITS"]:
        raise ApiError(400, "bad_request", "unknown tier")
    return _ok(_service().set_tier(owner, tier))


@bp.put("/wallets/<owner>/frozen")
def set_frozen(owner: str):
    frozen = _body().get("frozen")
    if not isinstance(frozen, bool):
        raise ApiError(400, "bad_request", "frozen must be true or false")
    return _ok(_service().set_frozen(owner, frozen))


@bp.post("/wallets/<owner>/cards")
def link_card(owner: str):
    return _ok(_service().link_card(owner, _text(_body(), "card_number", limit=40)), 201)


@bp.get("/wallets/<owner>/cards")
def cards(owner: str):
    return _ok(_service().cards(owner))


@bp.post("/wallets/<owner>/top-ups")
def top_up(owner: str):
    data = _body()
    return _ok(
        _service().top_up(
            owner, data.get("amount_fen"), card=_text(data, "card", limit=64), idempotency_key=_key()
        )
    )


@bp.post("/wallets/<owner>/withdrawals")
def withdraw(owner: str):
    data = _body()
    return _ok(
        _service().withdraw(
            owner, data.get("amount_fen"), card=_text(data, "card", limit=64), idempotency_key=_key()
        )
    )


@bp.post("/wallets/<owner>/payments")
def pay(owner: str):
    data = _body()
    description = _text(data, "description")
    return _ok(_service().pay(owner, _legs(data), idempotency_key=_key(), description=description))


@bp.post("/payments/<reference>/refunds")
def refund(reference: str):
    data = _body()
    agency = _text(data, "agency", limit=64) or None
    return _ok(_service().refund(reference, data.get("amount_fen"), idempotency_key=_key(), agency=agency))


@bp.post("/wallets/<owner>/holds")
def hold(owner: str):
    data = _body()
    ttl = data.get("ttl_seconds")
    if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= 7 * 86400):
        raise ApiError(400, "bad_request", "ttl_seconds must be a whole number of seconds up to 7 days")
    return _ok(_service().hold(owner, data.get("amount_fen"), idempotency_key=_key(), ttl_seconds=ttl))


@bp.post("/holds/<reference>/capture")
def capture(reference: str):
    return _ok(_service().capture(reference, _legs(_body()), idempotency_key=_key()))


@bp.post("/holds/<reference>/release")
def release(reference: str):
    return _ok(_service().release(reference, idempotency_key=_key()))


@bp.get("/wallets/<owner>/statement")
def statement(owner: str):
    args = request.args
    try:
        page = _service().statement(
            owner,
            page=int(args.get("page", 1)),
            per_page=int(args.get("per_page", 20)),
            kind=args.get("kind") or None,
            date_from=date.fromisoformat(args["date_from"]) if args.get("date_from") else None,
            date_to=date.fromisoformat(args["date_to"]) if args.get("date_to") else None,
        )
    except ValueError as exc:
        raise ApiError(400, "bad_request", "page, per_page, kind or dates are not valid") from exc
    return _ok(page)

"""The OpenAPI 3.1 document of the wallet's JSON API, served at /wallet/api/v1/openapi.json.

Response schemas come from the dataclasses the API returns (portal.wallet.types) through pydantic, so a
field added there shows here; request bodies are written out beside the routes' rules below. A test
checks the document against the blueprint's routes and fuzzes every operation with schemathesis
(tests/wallet/test_openapi.py).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import TypeAdapter

from portal.wallet import signing
from portal.wallet.types import Balance, CardList, CardView, HoldResult, StatementPage, TransferResult

REF = "#/components/schemas/{model}"
OWNER = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$", "examples": ["user:1"]}
AMOUNT = {"type": "integer", "description": "whole fen; floats, strings and booleans are refused"}
TIER = {"type": "string", "enum": ["basic", "id_verified", "id_and_card"]}
LEGS = {
    "type": "array",
    "minItems": 1,
    "maxItems": 20,
    "items": {
        "type": "object",
        "required": ["agency", "amount_fen"],
        "properties": {"agency": {"type": "string", "maxLength": 64}, "amount_fen": AMOUNT},
    },
}
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "params"],
            "properties": {
                "code": {"type": "string", "description": "stable; see docs/wallet-api.md"},
                "message": {"type": "string", "description": "in the reader's language"},
                "params": {"type": "object"},
                "field": {"type": ["string", "null"]},
            },
        }
    },
}


def _body(required: list[str], **properties: dict) -> dict:
    schema = {"type": "object", "required": required, "properties": properties}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _answer(model: str | None, status: str = "200", schema: dict | None = None) -> dict:
    content = schema or {"$ref": REF.format(model=model)}
    return {
        status: {"description": "done", "content": {"application/json": {"schema": content}}},
        "default": {
            "description": "an error with a stable code (400, 401, 404, 409, 422 or 503)",
            "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
        },
    }


def _operation(operation_id: str, summary: str, responses: dict, body: dict | None = None, **extra) -> dict:
    operation = {"operationId": operation_id, "summary": summary, "responses": responses, **extra}
    if body is not None:
        operation["requestBody"] = body
    return operation


_PATH_OWNER = {"name": "owner", "in": "path", "required": True, "schema": OWNER}
_PATH_REFERENCE = {"name": "reference", "in": "path", "required": True, "schema": OWNER}
_KEY = {"$ref": "#/components/parameters/IdempotencyKey"}
_TEXT = {"type": "string", "maxLength": 200}


def _paths() -> dict[str, dict]:
    owner, reference = [_PATH_OWNER], [_PATH_REFERENCE]
    money = _body(["amount_fen", "card"], amount_fen=AMOUNT, card={"type": "string", "maxLength": 64})
    return {
        "/wallets": {
            "post": _operation(
                "openWallet",
                "Open a wallet (opening twice is harmless)",
                _answer("Balance", "201"),
                _body(["owner"], owner=OWNER, tier=TIER),
            )
        },
        "/agencies": {
            "post": _operation(
                "openAgencyAccount",
                "Open an agency's account",
                _answer(None, "201", {"type": "object", "properties": {"status": {"const": "ok"}}}),
                _body(["agency_code"], agency_code={**OWNER, "maxLength": 32}),
            )
        },
        "/wallets/{owner}/balance": {
            "get": _operation(
                "balance", "A wallet's balance and limits", _answer("Balance"), parameters=owner
            )
        },
        "/wallets/{owner}/tier": {
            "put": _operation(
                "setTier",
                "Set the verification tier",
                _answer("Balance"),
                _body(["tier"], tier=TIER),
                parameters=owner,
            )
        },
        "/wallets/{owner}/frozen": {
            "put": _operation(
                "setFrozen",
                "Freeze or unfreeze a wallet",
                _answer("Balance"),
                _body(["frozen"], frozen={"type": "boolean"}),
                parameters=owner,
            )
        },
        "/wallets/{owner}/cards": {
            "post": _operation(
                "linkCard",
                "Link a bank card",
                _answer("CardView", "201"),
                _body(["card_number"], card_number={"type": "string", "maxLength": 40}),
                parameters=owner,
            ),
            "get": _operation("cards", "The wallet's linked cards", _answer("CardList"), parameters=owner),
        },
        "/wallets/{owner}/top-ups": {
            "post": _operation(
                "topUp",
                "Top up from a linked card",
                _answer("TransferResult"),
                money,
                parameters=[*owner, _KEY],
            )
        },
        "/wallets/{owner}/withdrawals": {
            "post": _operation(
                "withdraw",
                "Withdraw to a linked card",
                _answer("TransferResult"),
                money,
                parameters=[*owner, _KEY],
            )
        },
        "/wallets/{owner}/payments": {
            "post": _operation(
                "pay",
                "Pay one or more agencies",
                _answer("TransferResult"),
                _body(["legs"], legs=LEGS, description=_TEXT),
                parameters=[*owner, _KEY],
            )
        },
        "/payments/{reference}/refunds": {
            "post": _operation(
                "refund",
                "Refund (part of) a payment",
                _answer("TransferResult"),
                _body(["amount_fen"], amount_fen=AMOUNT, agency={"type": "string", "maxLength": 64}),
                parameters=[*reference, _KEY],
            )
        },
        "/wallets/{owner}/holds": {
            "post": _operation(
                "hold",
                "Hold an amount for a later capture",
                _answer("HoldResult"),
                _body(
                    ["amount_fen"],
                    amount_fen=AMOUNT,
                    ttl_seconds={"type": "integer", "minimum": 1, "maximum": 7 * 86400},
                ),
                parameters=[*owner, _KEY],
            )
        },
        "/holds/{reference}/capture": {
            "post": _operation(
                "capture",
                "Pay agencies from a hold",
                _answer("TransferResult"),
                _body(["legs"], legs=LEGS),
                parameters=[*reference, _KEY],
            )
        },
        "/holds/{reference}/release": {
            "post": _operation(
                "release", "Release a hold", _answer("HoldResult"), _body([]), parameters=[*reference, _KEY]
            )
        },
        "/wallets/{owner}/statement": {
            "get": _operation(
                "statement",
                "A page of the wallet's statement (dates are Asia/Shanghai days, inclusive)",
                _answer("StatementPage"),
                parameters=[
                    *owner,
                    _query("page", {"type": "integer", "minimum": 1}),
                    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100}),
                    _query("kind", {"type": "string", "maxLength": 20}),
                    _query("date_from", {"type": "string", "format": "date"}),
                    _query("date_to", {"type": "string", "format": "date"}),
                ],
            )
        },
    }


def _query(name: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _components() -> dict[str, Any]:
    types = (Balance, TransferResult, HoldResult, StatementPage, CardView, CardList)
    _, definitions = TypeAdapter.json_schemas(
        [(kind, "serialization", TypeAdapter(kind)) for kind in types], ref_template=REF
    )
    schemas = {**definitions["$defs"], "Error": ERROR}
    headers = {
        name: {"type": "apiKey", "in": "header", "name": header}
        for name, header in (
            ("Client", signing.CLIENT_HEADER),
            ("Timestamp", signing.TIMESTAMP_HEADER),
            ("Nonce", signing.NONCE_HEADER),
            ("Signature", signing.SIGNATURE_HEADER),
        )
    }
    key = {
        "name": signing.IDEMPOTENCY_HEADER,
        "in": "header",
        "required": True,
        "schema": {"type": "string", "minLength": 8, "maxLength": 128, "pattern": "^[!-~]+$"},
        "description": "the same key with the same request returns the stored result; otherwise 409",
    }
    return {"schemas": schemas, "securitySchemes": headers, "parameters": {"IdempotencyKey": key}}


@cache
def wallet_openapi() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "City bill portal wallet API",
            "version": "1",
            "description": "Every request is signed (HMAC-SHA256 over method, path, query, timestamp, nonce, "
            "idempotency key and body hash; see docs/wallet-api.md). Amounts are integers of fen.",
        },
        "servers": [{"url": "/wallet/api/v1"}],
        "security": [{"Client": [], "Timestamp": [], "Nonce": [], "Signature": []}],
        "paths": _paths(),
        "components": _components(),
    }

"""The OpenAPI 3.1 document of the agency protocol (docs/agency-protocol.md): what an agency's server
answers to the portal's `http` adapter. The portal serves it at /agencies/protocol/openapi.json for
agencies that build a server, and the sandbox agency at /v1/openapi.json. A test fuzzes the sandbox
against it and checks every request the adapter sends (tests/agencies/test_protocol_openapi.py).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from portal.agencies.http import SIGNATURE_HEADER, TIMESTAMP_HEADER

REF = "#/components/schemas/{}"
FEN = {"type": "integer", "minimum": 0, "description": "whole fen"}
TEXT = {"type": "string", "maxLength": 200}


def _object(required: list[str], **properties: dict) -> dict:
    return {"type": "object", "required": required, "properties": properties}


SCHEMAS: dict[str, dict] = {
    "LookupRequest": _object(
        ["agency", "query"],
        agency={"type": "string", "maxLength": 32, "examples": ["traffic"]},
        query={
            "type": "object",
            "additionalProperties": {"type": "string", "maxLength": 64},
            "description": "the query fields the portal's settings declare for the agency",
            "examples": [{"plate": "渝A12345", "notice_no": "5001012026000123"}],
        },
    ),
    "Bill": _object(
        ["bill_id", "amount_due_fen"],
        bill_id={"type": "string", "maxLength": 64},
        account_reference={"type": "string", "maxLength": 64},
        payer_name={"type": "string", "maxLength": 100},
        description=TEXT,
        period={"type": "string", "maxLength": 20},
        amount_due_fen={**FEN, "minimum": 1},
        late_fee_fen=FEN,
        due_date={"type": ["string", "null"], "format": "date"},
        status={"enum": ["unpaid", "overdue", "paid", "cancelled"]},
    ),
    "LookupAnswer": _object(["bills"], bills={"type": "array", "items": {"$ref": REF.format("Bill")}}),
    "Confirmation": _object(
        ["payment_id", "agency", "bill_id", "amount_fen", "paid_at"],
        payment_id={"type": "string", "maxLength": 40, "description": "payment reference and line: P…-17"},
        agency={"type": "string", "maxLength": 32},
        bill_id={"type": "string", "maxLength": 64},
        amount_fen={**FEN, "minimum": 1},
        paid_at={"type": "string", "format": "date-time"},
    ),
    "ConfirmationAnswer": _object(
        ["payment_id", "accepted"],
        payment_id={"type": "string"},
        accepted={"type": "boolean"},
        agency_reference={"type": "string"},
        amount_fen={**FEN, "description": "what the agency recorded, if it says"},
    ),
    "RefundNotice": _object(
        ["refund_id", "payment_id", "agency", "bill_id", "amount_fen", "refunded_at", "reason"],
        refund_id={"type": "string", "maxLength": 40},
        payment_id={"type": "string", "maxLength": 40},
        agency={"type": "string", "maxLength": 32},
        bill_id={"type": "string", "maxLength": 64},
        amount_fen={**FEN, "minimum": 1},
        refunded_at={"type": "string", "format": "date-time"},
        reason=TEXT,
    ),
    "RefundAnswer": _object(
        ["payment_id", "accepted"],
        payment_id={"type": "string"},
        accepted={"type": "boolean"},
        agency_reference={"type": "string"},
    ),
    "Error": _object(["error"], error={"type": "string"}),
}
SIGNED_HEADERS = {
    TIMESTAMP_HEADER: {"required": True, "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"}},
    SIGNATURE_HEADER: {"required": True, "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
}


def _json(schema: str) -> dict:
    return {"application/json": {"schema": {"$ref": REF.format(schema)}}}


def _operation(operation_id: str, summary: str, request: str, answer: str, idempotent_by: str = "") -> dict:
    signed = {"headers": SIGNED_HEADERS}
    description = (
        f"Idempotent by `{idempotent_by}`: the same request gets the same answer." if idempotent_by else ""
    )
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "requestBody": {"required": True, "content": _json(request)},
        "responses": {
            "200": {"description": "answered", "content": _json(answer), **signed},
            "default": {
                "description": "refused (400, 401, 404): the portal counts it a failure",
                "content": _json("Error"),
                **signed,
            },
        },
    }


@cache
def agency_openapi() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "City bill portal agency protocol",
            "version": "1",
            "description": "Served by an agency, called by the portal's `http` adapter. Requests and answers "
            "are signed: hex HMAC-SHA256 with the shared secret over lines joined by \\n (request: method, "
            "path, timestamp, SHA-256 of the body; answer: status, timestamp, SHA-256 of the body); "
            "timestamps more than 300 s off are refused. See docs/agency-protocol.md.",
        },
        "security": [{"Timestamp": [], "Signature": []}],
        "paths": {
            "/v1/lookup": {
                "post": _operation("lookup", "The bills for a query", "LookupRequest", "LookupAnswer")
            },
            "/v1/confirmations": {
                "post": _operation(
                    "confirm",
                    "A bill was paid at the portal",
                    "Confirmation",
                    "ConfirmationAnswer",
                    "payment_id",
                )
            },
            "/v1/refunds": {
                "post": _operation(
                    "refund",
                    "A paid bill was refunded (in part)",
                    "RefundNotice",
                    "RefundAnswer",
                    "refund_id",
                )
            },
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "Timestamp": {"type": "apiKey", "in": "header", "name": TIMESTAMP_HEADER},
                "Signature": {"type": "apiKey", "in": "header", "name": SIGNATURE_HEADER},
            },
        },
    }

"""The agency protocol's OpenAPI document stays in step with the code: the portal and the sandbox serve
it, every request the `http` adapter sends and every sandbox answer matches it, and schemathesis finds
no undocumented answer from the sandbox (on a real socket, signed as the adapter signs)."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import jsonschema_rs
import pytest
import schemathesis
from flask import request
from hypothesis import HealthCheck, settings

from portal.agencies.base import BillQuery, PaymentConfirmation, RefundNotice
from portal.agencies.http import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from portal.agencies.protocol import agency_openapi
from portal.agencies.sandbox import create_sandbox_app
from tests.agencies.test_http import TAX_FIELDS, adapter
from tests.conftest import SANDBOX_SECRET, SANDBOX_TODAY, serve, stop
from tests.openapi_checks import assert_documented

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
DOCUMENT = agency_openapi()


def _schema(name: str):
    return jsonschema_rs.validator_for({"$ref": f"#/components/schemas/{name}", **DOCUMENT})


@pytest.fixture(scope="module")
def recorded_sandbox():
    """A sandbox of its own that keeps every request body it is sent, by path."""
    app = create_sandbox_app(SANDBOX_SECRET, today=lambda: SANDBOX_TODAY)
    sent: list[tuple[str, object]] = []
    app.before_request_funcs.setdefault(None, []).insert(
        0, lambda: sent.append((request.path, request.get_json(silent=True)))
    )
    server, url = serve(app)
    yield url, sent
    stop(server)


def test_the_portal_and_the_sandbox_serve_the_document(client, recorded_sandbox):
    url, _sent = recorded_sandbox

    from_portal = client.get("/agencies/protocol/openapi.json")  # public: no login
    from_sandbox = httpx.get(url + "/v1/openapi.json", timeout=10)  # no signature

    assert from_portal.status_code == 200 and from_portal.get_json() == json.loads(json.dumps(DOCUMENT))
    assert from_sandbox.status_code == 200 and from_sandbox.json() == from_portal.get_json()


def test_the_document_lists_exactly_the_sandbox_routes():
    app = create_sandbox_app(SANDBOX_SECRET)
    routes = {
        (method.lower(), rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in ("static", "openapi_document", "records", "set_faults")  # chaos runs
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }

    assert routes == {(method, path) for path, item in DOCUMENT["paths"].items() for method in item}


def test_every_request_of_the_adapter_and_every_answer_matches_the_document(app, recorded_sandbox):
    url, sent = recorded_sandbox
    sent.clear()
    now = datetime.now(UTC)
    traffic, tax = adapter(url), adapter(url, code="tax", fields=TAX_FIELDS)
    with app.test_request_context():
        fines = traffic.lookup(
            BillQuery("traffic", (("plate", "渝A12345"), ("notice_no", "5001012026000123")))
        )
        taxes = tax.lookup(BillQuery("tax", (("taxpayer_id", "91500000MA5U7Q2X1W"),)))
        ack = traffic.confirm_payment(PaymentConfirmation("PDOC-1", "traffic", fines[0].bill_id, 23_000, now))
        refund = traffic.notify_refund(
            RefundNotice("RDOC-1", "PDOC-1", "traffic", fines[0].bill_id, 3_000, now, "paid twice")
        )
    assert fines and taxes and ack.accepted and refund.accepted
    requests = {
        "/v1/lookup": "LookupRequest",
        "/v1/confirmations": "Confirmation",
        "/v1/refunds": "RefundNotice",
    }
    for path, body in sent:
        _schema(requests[path]).validate(body)
    assert [path for path, _ in sent] == ["/v1/lookup", "/v1/lookup", "/v1/confirmations", "/v1/refunds"]
    answer = _signed_post(
        url, "/v1/lookup", {"agency": "tax", "query": {"taxpayer_id": "91500000MA5U7Q2X1W"}}
    )
    _schema("LookupAnswer").validate(answer.json())


def _signed_post(url: str, path: str, body: dict) -> httpx.Response:
    content = json.dumps(body, ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: signature(SANDBOX_SECRET, "POST", path, stamp, content),
    }
    return httpx.post(url + path, content=content, headers=headers, timeout=10)


schema = schemathesis.openapi.from_dict(DOCUMENT)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_no_undocumented_sandbox_answer(case, recorded_sandbox):
    url, _sent = recorded_sandbox
    sent = case.as_transport_kwargs(base_url=url)
    body = (
        json.dumps(sent["json"], ensure_ascii=False).encode() if "json" in sent else sent.get("data") or b""
    )
    body = body.encode() if isinstance(body, str) else body
    path = urlsplit(sent["url"]).path
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: signature(SANDBOX_SECRET, case.method, path, stamp, body),
    }
    response = httpx.request(case.method, url + path, content=body, headers=headers, timeout=10)

    assert_documented(case, response)

"""The wallet API's OpenAPI document stays in step with the code: it lists exactly the blueprint's routes,
every answer of a real session matches its schema, and schemathesis finds no undocumented answer."""

from __future__ import annotations

import json
import os
import re
import secrets
import time
import uuid
from urllib.parse import urlencode, urlsplit

import httpx
import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from portal.wallet import signing
from portal.wallet.openapi import wallet_openapi
from tests.openapi_checks import assert_documented
from tests.wallet.conftest import API_CLIENT, API_SECRET, CARD
from tests.wallet.test_api_security import signed

PREFIX = "/wallet/api/v1"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def document(wallet_server):
    _app, base_url = wallet_server
    response = httpx.get(base_url + PREFIX + "/openapi.json", timeout=10)  # no signature: it is public
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    return response.json()


def test_the_document_lists_exactly_the_routes_of_the_api(app, document):
    routes = {
        (method.lower(), re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix(PREFIX)))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(PREFIX + "/") and rule.endpoint != "wallet_api.openapi_document"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(method, path) for path, item in document["paths"].items() for method in item}

    assert documented == routes
    assert document == json.loads(json.dumps(wallet_openapi()))
    assert document["servers"] == [{"url": PREFIX}]


def _validator(document: dict, path: str, method: str, status: int):
    """A validator of the schema the document gives for this answer (with the document's components)."""
    responses = document["paths"][path][method]["responses"]
    schema = responses.get(str(status), responses["default"])["content"]["application/json"]["schema"]
    return jsonschema_rs.validator_for({**schema, "components": document["components"]})


def test_every_answer_of_a_real_session_matches_its_schema(wallet_server, document):
    _app, base_url = wallet_server
    owner, agency = f"user:oa-{uuid.uuid4().hex[:10]}", f"oa-{uuid.uuid4().hex[:8]}"
    legs = [{"agency": f"agency:{agency}", "amount_fen": 1_000}]
    with httpx.Client(base_url=base_url, timeout=10) as api:

        def run(method, template, body=None, status=200, *, keyed=False, **names):
            path = template.format(owner=owner, **names)
            response = api.request(**signed(method, path, body, key=uuid.uuid4().hex if keyed else None))
            assert response.status_code == status, response.text
            _validator(document, template, method.lower(), status).validate(response.json())
            return response.json()

        run("POST", "/wallets", {"owner": owner, "tier": "basic"}, 201)
        run("POST", "/agencies", {"agency_code": agency}, 201)
        run("PUT", "/wallets/{owner}/tier", {"tier": "id_verified"})
        run("POST", "/wallets/{owner}/cards", {"card_number": CARD}, 201)
        card = run("GET", "/wallets/{owner}/cards")["cards"][0]["reference"]
        run("POST", "/wallets/{owner}/top-ups", {"amount_fen": 50_000, "card": card}, keyed=True)
        paid = run("POST", "/wallets/{owner}/payments", {"legs": legs}, keyed=True)
        run(
            "POST",
            "/payments/{reference}/refunds",
            {"amount_fen": 400},
            keyed=True,
            reference=paid["reference"],
        )
        hold = run("POST", "/wallets/{owner}/holds", {"amount_fen": 2_000}, keyed=True)
        run("POST", "/holds/{reference}/capture", {"legs": legs}, keyed=True, reference=hold["reference"])
        other = run("POST", "/wallets/{owner}/holds", {"amount_fen": 500}, keyed=True)
        run("POST", "/holds/{reference}/release", {}, keyed=True, reference=other["reference"])
        run("POST", "/wallets/{owner}/withdrawals", {"amount_fen": 1_000, "card": card}, keyed=True)
        statement = run("GET", "/wallets/{owner}/statement")
        run("PUT", "/wallets/{owner}/frozen", {"frozen": True})
        balance = run("GET", "/wallets/{owner}/balance")
        refused = run("POST", "/wallets/{owner}/payments", {"legs": legs}, 422, keyed=True)

    assert statement["total"] == 5  # top-up, payment, refund, capture, withdrawal (holds post nothing)
    assert balance["frozen"] is True and refused["error"]["code"] == "wallet_frozen"


schema = schemathesis.openapi.from_dict(wallet_openapi())  # the served document, as the first test shows


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_no_undocumented_answer(case, wallet_server):
    """Generated requests, signed as a real client signs them, over a socket: never a 500, and every
    answer (success or error) has a documented status, content type and shape."""
    _app, base_url = wallet_server
    with httpx.Client(timeout=10) as client:
        response = client.send(_signed_request(case, base_url))

    assert_documented(case, response)


def _signed_request(case, base_url: str) -> httpx.Request:
    """The generated request as bytes on the wire, signed over exactly those bytes."""
    sent = case.as_transport_kwargs(base_url=base_url + PREFIX)
    body = json.dumps(sent["json"]).encode() if "json" in sent else sent.get("data") or b""
    body = body.encode() if isinstance(body, str) else body
    path, query = urlsplit(sent["url"]).path, urlencode(sent.get("params") or {}, doseq=True)
    headers = {name: str(value).encode() for name, value in (sent.get("headers") or {}).items()}
    key = headers.get(signing.IDEMPOTENCY_HEADER, b"").decode("latin-1")  # as the server will read it
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    headers |= {
        signing.CLIENT_HEADER: API_CLIENT.encode(),
        signing.TIMESTAMP_HEADER: timestamp.encode(),
        signing.NONCE_HEADER: nonce.encode(),
        signing.SIGNATURE_HEADER: signing.sign(
            API_SECRET, case.method, path, query, timestamp, nonce, key, body
        ).encode(),
    }
    url = f"{base_url}{path}?{query}" if query else f"{base_url}{path}"
    return httpx.Request(case.method, url, content=body, headers=headers)

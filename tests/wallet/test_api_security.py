"""The wallet API over a real socket: tampered, stale, replayed or malformed requests are refused with a
JSON error and move nothing."""

from __future__ import annotations

import json
import secrets
import time
import uuid

import httpx
import pytest

from portal.wallet import signing
from tests.wallet.conftest import API_CLIENT, API_SECRET, CARD


def signed(method, path, body=None, *, key=None, secret=API_SECRET, timestamp=None, nonce=None):
    content = json.dumps(body).encode() if body is not None else b""
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or secrets.token_hex(16)
    full = "/wallet/api/v1" + path
    headers = {
        signing.CLIENT_HEADER: API_CLIENT,
        signing.TIMESTAMP_HEADER: timestamp,
        signing.NONCE_HEADER: nonce,
        signing.SIGNATURE_HEADER: signing.sign(
            secret, method, full, "", timestamp, nonce, key or "", content
        ),
        "Content-Type": "application/json",
    }
    if key:
        headers[signing.IDEMPOTENCY_HEADER] = key
    return {"method": method, "url": full, "content": content, "headers": headers}


@pytest.fixture
def api(wallet_server):
    _app, base_url = wallet_server
    with httpx.Client(base_url=base_url, timeout=10) as client:
        yield client


@pytest.fixture
def funded_owner(api):
    owner = f"user:sec-{uuid.uuid4().hex[:10]}"
    api.request(**signed("POST", "/wallets", {"owner": owner, "tier": "basic"}))
    api.request(**signed("POST", "/agencies", {"agency_code": "sec-water"}))
    card = api.request(**signed("POST", f"/wallets/{owner}/cards", {"card_number": CARD})).json()["reference"]
    api.request(
        **signed(
            "POST", f"/wallets/{owner}/top-ups", {"amount_fen": 10_000, "card": card}, key=uuid.uuid4().hex
        )
    )
    return owner


def balance(api, owner):
    return api.request(**signed("GET", f"/wallets/{owner}/balance")).json()["posted_fen"]


def pay_request(owner, amount=1_000, **kwargs):
    body = {"legs": [{"agency": "agency:sec-water", "amount_fen": amount}]}
    return signed(
        "POST", f"/wallets/{owner}/payments", body, key=kwargs.pop("key", uuid.uuid4().hex), **kwargs
    )


def test_a_signed_payment_goes_through(api, funded_owner):
    response = api.request(**pay_request(funded_owner))

    assert response.status_code == 200 and response.json()["kind"] == "payment"
    assert balance(api, funded_owner) == 9_000


def test_tampered_body_is_refused(api, funded_owner):
    request = pay_request(funded_owner, 1_000)
    request["content"] = request["content"].replace(b"1000", b"9000")

    response = api.request(**request)

    assert response.status_code == 401 and response.json()["error"]["code"] == "bad_signature"
    assert balance(api, funded_owner) == 10_000


def test_wrong_secret_and_swapped_idempotency_key_are_refused(api, funded_owner):
    wrong_secret = api.request(**pay_request(funded_owner, secret="not-the-secret-at-all-0000"))
    swapped = pay_request(funded_owner)
    swapped["headers"][signing.IDEMPOTENCY_HEADER] = uuid.uuid4().hex

    assert wrong_secret.json()["error"]["code"] == "bad_signature"
    assert api.request(**swapped).json()["error"]["code"] == "bad_signature"
    assert balance(api, funded_owner) == 10_000


def test_replayed_request_is_refused_even_when_the_first_was_refused(api, funded_owner):
    too_much = pay_request(funded_owner, 200_001)
    first = api.request(**too_much)
    again = api.request(**too_much)
    done = pay_request(funded_owner)
    api.request(**done)
    replayed = api.request(**done)

    assert first.status_code == 422 and first.json()["error"]["code"] == "per_payment_limit"
    assert again.status_code == 401 and again.json()["error"]["code"] == "replayed_request"
    assert replayed.status_code == 401 and replayed.json()["error"]["code"] == "replayed_request"
    assert balance(api, funded_owner) == 9_000


def test_stale_timestamp_is_refused(api, funded_owner):
    response = api.request(**pay_request(funded_owner, timestamp=str(int(time.time()) - 3600)))

    assert response.status_code == 401 and response.json()["error"]["code"] == "stale_request"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {signing.CLIENT_HEADER: "stranger"},
        {signing.TIMESTAMP_HEADER: "²".encode()},
        {signing.TIMESTAMP_HEADER: "9" * 400},
    ],
)
def test_malformed_authentication_gets_a_json_401(api, funded_owner, headers):
    request = pay_request(funded_owner)
    if not headers:
        request["headers"] = {"Content-Type": "application/json"}
    request["headers"].update(headers)

    response = api.request(**request)

    assert response.status_code == 401 and "error" in response.json()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/wallets", {"owner": "user:x", "tier": "platinum"}),
        ("POST", "/wallets", {"owner": "", "tier": "basic"}),
        ("POST", "/wallets", {"owner": "x" * 200}),
        ("PUT", "/wallets/{owner}/frozen", {"frozen": "false"}),
        ("POST", "/wallets/{owner}/payments", {"legs": "all of it"}),
        (
            "POST",
            "/wallets/{owner}/payments",
            {"legs": [{"agency": "agency:sec-water\x00", "amount_fen": 1}]},
        ),
        ("POST", "/wallets/{owner}/cards", {"card_number": "²" * 16}),
        ("POST", "/wallets/{owner}/payments", None),
    ],
)
def test_bad_requests_get_a_clear_json_error_not_a_500(api, funded_owner, method, path, body):
    key = uuid.uuid4().hex if method == "POST" and "payments" in path else None
    response = api.request(**signed(method, path.format(owner=funded_owner), body, key=key))

    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["code"]
    assert balance(api, funded_owner) == 10_000
    assert api.request(**signed("GET", f"/wallets/{funded_owner}/balance")).json()["frozen"] is False


def test_missing_idempotency_key_is_refused(api, funded_owner):
    body = {"legs": [{"agency": "agency:sec-water", "amount_fen": 1_000}]}
    response = api.request(**signed("POST", f"/wallets/{funded_owner}/payments", body))

    assert response.status_code == 400 and response.json()["error"]["code"] == "idempotency_key_required"

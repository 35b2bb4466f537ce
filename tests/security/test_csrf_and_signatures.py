"""Every form post without its CSRF token is refused with 400 and changes nothing; the wallet's JSON API,
exempt from CSRF, refuses any call that is not signed by a known client."""

from __future__ import annotations

import json
import secrets
import time

import pytest
from sqlalchemy import func, select

from portal.accounts.models import LoginSession
from portal.bills.models import SavedAccount
from portal.wallet import signing
from portal.wallet.models import LedgerAccount
from tests.security.conftest import API_CLIENT, API_SECRET
from tests.security.helpers import body, call
from tests.security.routes import ROLES, ROUTES

CSRF_MESSAGE = "Your form expired or was sent from another site."
REFUSED = {"login", "403", "404", "401"}


def _allowed_role(key) -> str:
    """A role the route lets through, so the 400 can only come from the missing token."""
    statuses = ROUTES[key].statuses()
    return next(role for role in ROLES if statuses[role] not in REFUSED)


FORM_POSTS = sorted(key for key in ROUTES if key[1] == "POST" and not key[0].startswith("wallet_api."))


@pytest.mark.parametrize("key", FORM_POSTS, ids=lambda key: key[0])
def test_a_form_post_without_its_token_is_refused(world, db, key):
    route, role = ROUTES[key], _allowed_role(key)
    path = route.path.format(**world.ids)
    data = {name: value.format(**world.ids) for name, value in route.data.items()}

    without = call(world, role, "POST", path, data, csrf=False)
    forged = call(
        world, role, "POST", path, {**data, "csrf_token": "forged-" + world.csrf[role][7:]}, csrf=False
    )

    assert without.status_code == 400 and CSRF_MESSAGE in body(without), (role, path)
    assert forged.status_code == 400 and CSRF_MESSAGE in body(forged), (role, path)


def test_every_form_post_is_in_the_csrf_list():
    posts = {key for key in ROUTES if key[1] in ("POST", "PUT", "PATCH", "DELETE")}
    assert posts - set(FORM_POSTS) == {key for key in posts if key[0].startswith("wallet_api.")}


def test_a_refused_post_changes_nothing(world, db):
    accounts = db.scalar(select(func.count()).select_from(SavedAccount))

    deleted = call(world, "res", "POST", f"/bills/mine/{world.ids['account']}/delete", csrf=False)
    logged_out = call(world, "res", "POST", "/account/logout", csrf=False)

    assert deleted.status_code == logged_out.status_code == 400
    assert db.scalar(select(func.count()).select_from(SavedAccount)) == accounts
    assert call(world, "res", "GET", "/account/").status_code == 200  # still logged in
    assert (
        db.scalar(select(func.count()).select_from(LoginSession).where(LoginSession.ended_at.is_not(None)))
        == 0
    )


def _signed(
    path: str, method: str = "GET", payload=None, *, secret: str = API_SECRET, timestamp: str | None = None
):
    content = json.dumps(payload).encode() if payload is not None else b""
    timestamp = timestamp or str(int(time.time()))
    nonce = secrets.token_hex(16)
    headers = {
        signing.CLIENT_HEADER: API_CLIENT,
        signing.TIMESTAMP_HEADER: timestamp,
        signing.NONCE_HEADER: nonce,
        signing.SIGNATURE_HEADER: signing.sign(secret, method, path, "", timestamp, nonce, "", content),
        "Content-Type": "application/json",
    }
    return {"path": path, "method": method, "data": content, "headers": headers}


def _balance(world) -> int:
    path = f"/wallet/api/v1/wallets/{world.ids['owner']}/balance"
    response = world.app.test_client().open(**_signed(path))
    assert response.status_code == 200, body(response)
    return response.get_json()["posted_fen"]


def test_the_api_answers_a_signed_call(world, db):
    assert _balance(world) > 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {signing.CLIENT_HEADER: "someone"},
        "wrong secret",
        "stale",
    ],
    ids=["unsigned", "unknown client", "wrong secret", "stale"],
)
def test_the_api_refuses_a_call_not_signed_by_a_known_client(world, db, headers):
    path = f"/wallet/api/v1/wallets/{world.ids['owner']}/frozen"
    request = _signed(path, "PUT", {"frozen": True})
    if headers == "wrong secret":
        request = _signed(path, "PUT", {"frozen": True}, secret="not-the-secret-0123456789")
    elif headers == "stale":
        request = _signed(path, "PUT", {"frozen": True}, timestamp=str(int(time.time()) - 3600))
    else:
        request["headers"] = {"Content-Type": "application/json", **headers}
    before = _balance(world)

    # A resident's browser, with its session cookie, is no better.
    response = world.clients["res"].open(**request)

    assert response.status_code == 401 and response.is_json
    assert response.get_json()["error"]["code"] in {"unauthorized", "bad_signature", "stale_request"}
    assert _balance(world) == before
    assert (
        db.scalar(select(LedgerAccount.is_frozen).where(LedgerAccount.owner_ref == world.ids["owner"]))
        is False
    )


def test_an_unsigned_api_payment_moves_nothing(world, db):
    before = _balance(world)
    payload = {"legs": [{"agency": "agency:sec-water", "amount_fen": 1_000}]}

    response = world.clients["res"].post(
        f"/wallet/api/v1/wallets/{world.ids['owner']}/payments",
        json=payload,
        headers={signing.IDEMPOTENCY_HEADER: "unsigned-payment-0001"},
    )

    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"
    assert _balance(world) == before

"""Requests as a given role that leave the role's browser as it was (the matrix runs hundreds)."""

from __future__ import annotations

import secrets
import time

from portal.wallet import signing
from tests.security.conftest import API_CLIENT, API_SECRET, World

FIXED_REQUEST_ID = "security-matrix-0001"  # error pages show the request id: fixed, two pages compare


def call(world: World, role: str, method: str, path: str, data: dict | None = None, *, csrf: bool = True):
    """One request as ``role``, with the role's CSRF token on a form post unless ``csrf`` is False; the
    browser's session cookie is put back afterwards (a logout or a flash message must not carry over)."""
    client = world.clients[role]
    name = world.cookie_name
    before = client.get_cookie(name)
    form = None
    if method in ("POST", "PUT"):
        form = dict(data or {})
        if csrf and not path.startswith("/wallet/api/"):
            form["csrf_token"] = world.csrf[role]
    try:
        return client.open(path, method=method, data=form, headers={"X-Request-ID": FIXED_REQUEST_ID})
    finally:
        if before is None:
            client.delete_cookie(name)
        else:
            client.set_cookie(name, before.value)


def isolated(db, request, *args, **kwargs):
    """Runs ``request(*args, **kwargs)`` and undoes what it wrote, so the next role finds the same world."""
    savepoint = db.info["connection"].begin_nested()
    try:
        return request(*args, **kwargs)
    finally:
        savepoint.rollback()


def outcome(response) -> str:
    """The status as the route table writes it: `login` for a redirect to the login page."""
    if response.status_code == 302 and response.headers["Location"].startswith("/account/login"):
        return "login"
    return str(response.status_code)


def body(response) -> str:
    return response.get_data(as_text=True)


def api_headers(method: str, path: str, query: str, body: bytes) -> dict[str, str]:
    """Headers of a wallet API call signed as the world's API client, with a fresh idempotency key."""
    timestamp, nonce, key = str(int(time.time())), secrets.token_hex(16), secrets.token_hex(8)
    return {
        signing.CLIENT_HEADER: API_CLIENT,
        signing.TIMESTAMP_HEADER: timestamp,
        signing.NONCE_HEADER: nonce,
        signing.IDEMPOTENCY_HEADER: key,
        signing.SIGNATURE_HEADER: signing.sign(API_SECRET, method, path, query, timestamp, nonce, key, body),
        "Content-Type": "application/json",
    }

"""Wallet fixtures: the service on the test transaction, and a live wallet API on a real socket."""

from __future__ import annotations

import uuid

import pytest

from portal import create_app
from portal.wallet.factory import wallet_service
from portal.wallet.http_client import HttpWalletClient
from tests.conftest import make_config, serve, stop

API_CLIENT, API_SECRET = "contract-tests", "contract-secret-0123456789"
CARD = "6222020000000000018"


@pytest.fixture
def wallet(app, db):
    """WalletService on the rolled-back test transaction, inside a request context (for messages)."""
    with app.test_request_context():
        yield wallet_service(db)


@pytest.fixture(scope="session")
def wallet_server(make_database):
    """A separate portal process-alike serving the wallet API on 127.0.0.1, with its own database."""
    url = make_database()
    app = create_app(make_config(url, WALLET_API_CLIENTS={API_CLIENT: API_SECRET}))
    server, base_url = serve(app)
    yield app, base_url
    stop(server)
    app.extensions["portal.db"].dispose()


@pytest.fixture(params=["in_process", "http"])
def wallet_client(request, app):
    """ONE contract suite, two implementations: the service itself and the HTTP client."""
    if request.param == "in_process":
        db = request.getfixturevalue("db")
        with app.test_request_context():
            yield wallet_service(db)
        return
    _server_app, base_url = request.getfixturevalue("wallet_server")
    client = HttpWalletClient(base_url, API_CLIENT, API_SECRET)
    with app.test_request_context():
        yield client
    client.close()


def unique(prefix: str) -> str:
    return f"{prefix}:{uuid.uuid4().hex[:12]}"


def key() -> str:
    return uuid.uuid4().hex

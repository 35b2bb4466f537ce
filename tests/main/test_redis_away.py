"""Redis away (the rate limits' shared storage): pages still answer, limited in memory per process,
never a 500."""

from __future__ import annotations

import socket

from portal import create_app
from tests.conftest import csrf_token_from, make_config


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when this returns: nothing listens there


def test_rate_limited_pages_answer_while_redis_is_away(db, app):
    url = app.config["DATABASE_URL"]
    redis_away = f"redis://127.0.0.1:{closed_port()}/0"
    away = create_app(make_config(url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=redis_away))
    client = away.test_client()

    page = client.get("/account/login")
    tries = [
        client.post(
            "/account/login",
            data={
                "identifier": "13800000000",
                "password": "not the password",
                "csrf_token": csrf_token_from(page.get_data(as_text=True)),
            },
        ).status_code
        for _ in range(3)
    ]

    assert page.status_code == 200
    assert 500 not in tries and set(tries) <= {200, 400, 429}
    away.extensions["portal.db"].dispose()

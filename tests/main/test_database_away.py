"""A database that is down, restarted or that dropped the connection gives a clear 503 page (never a
500), and the next request works again by itself once it is back."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import make_url

from portal import create_app
from tests.conftest import make_config


def test_a_database_that_cannot_be_reached_gives_503_with_a_retry_message(tmp_path):
    app = create_app(make_config(f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite3'}"))

    response = app.test_client().get("/")

    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "服务暂时不可用" in response.get_data(as_text=True)  # Chinese first: the visitor chose no language
    app.extensions["portal.db"].dispose()


@pytest.fixture
def committed_postgres(request, make_database):
    if request.config.getoption("--db") != "postgresql":
        pytest.skip("only PostgreSQL can drop a connection under the app (SQLite has none)")
    app = create_app(make_config(make_database(), RATELIMIT_ENABLED=False))
    yield app
    app.extensions["portal.db"].dispose()


def test_connections_dropped_by_the_server_give_503_then_the_portal_recovers(committed_postgres, caplog):
    app = committed_postgres
    client = app.test_client()
    assert client.get("/").status_code == 200  # the pool now holds a connection
    dsn = make_url(app.config["DATABASE_URL"]).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(dsn, autocommit=True) as other:  # outside the app's pool
        other.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )

    statuses = [client.get("/").status_code for _ in range(3)]

    assert statuses == [503, 200, 200]  # the dropped connection is discarded, the next one is new
    assert not [r for r in caplog.records if r.levelname == "ERROR"]

"""Fixtures: a migrated database per run (SQLite or PostgreSQL), an app per test, each test in a
transaction that is rolled back, and helpers to submit forms the way a browser does (with CSRF)."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date

# hypothesis is imported before any browser test: importing it late, after Playwright's greenlets have
# run, trips CPython 3.11's AST recursion check in hypothesis' summary hook.
import hypothesis  # noqa: F401
import pyotp
import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from config import TestingConfig
from portal import create_app, migrate
from portal.agencies.sandbox import create_sandbox_app
from tests import factories

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("sqlite", "postgresql"),
        default=os.environ.get("TEST_DB", "sqlite"),
        help="database backend for this run (make test runs both)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"database backend: {config.getoption('--db')}"


def _create_postgres_database(server_url: str) -> tuple[str, str]:
    """A database of this run's own on the server; returns (url, name)."""
    name = f"portal_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(server_url).set(database=name)
    return url.render_as_string(hide_password=False), name


def _drop_postgres_database(server_url: str, name: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def backend(pytestconfig: pytest.Config) -> str:
    return pytestconfig.getoption("--db")


@pytest.fixture(scope="session")
def make_database(backend: str, tmp_path_factory: pytest.TempPathFactory):
    """Creates empty databases of the run's backend; every one is dropped at the end of the run."""
    server_url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL
    created: list[str] = []

    def make() -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('db') / 'portal.sqlite3'}"
        url, name = _create_postgres_database(server_url)
        created.append(name)
        return url

    yield make
    for name in created:
        _drop_postgres_database(server_url, name)


@pytest.fixture(scope="session")
def database_url(make_database) -> str:
    """The run's database, migrated to head by the real migrations."""
    url = make_database()
    migrate.upgrade(url)
    return url


def make_config(database_url: str, **overrides) -> TestingConfig:
    config = TestingConfig(environ={"DATABASE_URL": database_url})
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


@pytest.fixture
def app(database_url: str):
    app = create_app(make_config(database_url))
    yield app
    app.extensions["portal.db"].dispose()


@pytest.fixture
def db(app) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test; requests join it."""
    database = app.extensions["portal.db"]
    connection = database.engine.connect()
    transaction = connection.begin()
    database.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    factories.bind(session, app)
    yield session
    session.close()
    transaction.rollback()
    connection.close()
    forget_codes(app.config["DATABASE_URL"])


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def runner(app, db):
    return app.test_cli_runner()


def csrf_token_from(html: str) -> str:
    match = _CSRF_INPUT.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


def submit(client, path: str, data: dict, page: str | None = None, **kwargs):
    """GET the page that holds the form, then POST it with its CSRF token, as a browser would."""
    html = client.get(page or path).get_data(as_text=True)
    return client.post(path, data={**data, "csrf_token": csrf_token_from(html)}, **kwargs)


# The last step each login used, by (database, who): the portal refuses a step it has accepted before.
_used_steps: dict[tuple[str | None, str], int] = {}


def totp_code(secret: str, who: str, database: str | None = None) -> str:
    """The authenticator's code for ``who``, as a person would type it: never one the portal has already
    accepted. The portal also takes the step after its own, so a second login within a step may use the
    next step's code; a third waits for a new step, like a person waiting for the app's next code. (The
    step before is accepted too, but a step may end between computing the code and checking it.)
    ``database`` is where the portal remembers the step; what a rolled-back test wrote is forgotten with
    it (see ``forget_codes``), so the next test need not wait for a new step."""
    totp = pyotp.TOTP(secret)
    key = (database, who)
    step = max(totp.timecode(time.time()), _used_steps.get(key, -1) + 1)
    while step > totp.timecode(time.time()) + 1:
        time.sleep(0.5)
    _used_steps[key] = step
    return totp.generate_otp(step)


def forget_codes(database: str) -> None:
    """The test transaction on ``database`` was rolled back: so were the steps its logins recorded."""
    for key in [key for key in _used_steps if key[0] == database]:
        del _used_steps[key]


def login(
    client,
    identifier: str,
    password: str = factories.DEFAULT_PASSWORD,
    totp_secret: str = factories.TOTP_SECRET,
):
    """Logs in as a browser would; staff (and residents with two-factor) also give the code of their
    authenticator, computed from ``totp_secret``. Stops at the set-up page of someone not enrolled."""
    response = submit(client, "/account/login", {"identifier": identifier, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    if response.headers["Location"] == "/account/two-factor":
        code = totp_code(totp_secret, identifier, client.application.config["DATABASE_URL"])
        response = submit(client, "/account/two-factor", {"code": code})
        assert response.status_code == 302, response.get_data(as_text=True)
    return response


def logout(client):
    return submit(client, "/account/logout", {}, page="/")


SANDBOX_SECRET = "sandbox-secret-for-tests-0001"
SANDBOX_TODAY = date(2026, 3, 21)


def serve(app: Flask):
    """Serve a WSGI app on a free port of 127.0.0.1 in a thread; returns (server, base URL)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def stop(server) -> None:
    """Stop serving and wait for every request thread, so none holds a database connection after."""
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def sandbox():
    """The sandbox agency server on a real socket."""
    server, url = serve(create_sandbox_app(SANDBOX_SECRET, today=lambda: SANDBOX_TODAY))
    yield url
    stop(server)


@pytest.fixture
def fresh_sandbox():
    """A sandbox agency server of the test's own, for tests that pay or refund there (it remembers)."""
    server, url = serve(create_sandbox_app(SANDBOX_SECRET, today=lambda: SANDBOX_TODAY))
    yield url
    stop(server)

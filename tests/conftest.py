"""Fixtures: a migrated database per run (SQLite or PostgreSQL), an app per test, each test in a
transaction that is rolled back, and helpers to submit forms the way a browser does (with CSRF)."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from datetime import date

# hypothesis is imported before any browser test: importing it late, after Playwright's greenlets have
# run, trips CPython 3.11's AST recursion check in hypothesis' summary hook.
import hypothesis  # noqa: F401
import pyotp
import pytest
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from config import TestingConfig
from portal import create_app
from portal.agencies.sandbox import create_sandbox_app
from tests import databases, factories

_TEMPLATE = pytest.StashKey["databases.Template"]()
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


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the controller built the template
        return
    config.stash[_TEMPLATE] = databases.Template.build(config.getoption("--db"))


def pytest_unconfigure(config: pytest.Config) -> None:
    template = config.stash.get(_TEMPLATE, None)
    if template is not None:
        template.drop()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist: every worker copies the one template the controller migrated."""
    node.workerinput["portal_template_url"] = node.config.stash[_TEMPLATE].url


def _template(config: pytest.Config) -> databases.Template:
    if hasattr(config, "workerinput"):
        return databases.Template(config.getoption("--db"), config.workerinput["portal_template_url"])
    return config.stash[_TEMPLATE]


@pytest.fixture(scope="session")
def backend(pytestconfig: pytest.Config) -> str:
    return pytestconfig.getoption("--db")


@pytest.fixture(scope="session")
def make_database(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory):
    """``make_database()`` gives a new database at the newest migration (a copy of the run's migrated
    template); ``make_database(migrated=False)`` an empty one. Every one is dropped at the end."""
    made = databases.Databases(_template(pytestconfig), tmp_path_factory.mktemp("db"))
    yield made.make
    made.drop_all()


@pytest.fixture(scope="session")
def database_url(make_database) -> str:
    """The database most tests share, each in a transaction rolled back at its end."""
    return make_database()


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

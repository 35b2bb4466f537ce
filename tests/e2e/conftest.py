"""A live portal on a real socket (its own database) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import pytest

from config import DEFAULT_AGENCY_ADAPTERS, sandbox_agencies
from portal import create_app, demo
from portal.wallet.factory import wallet_service
from tests.conftest import SANDBOX_SECRET, make_config, serve, stop

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def live_server(make_database, sandbox):
    """The portal with the demo data, its traffic police and tax bureau on the sandbox agency server."""
    url = make_database()
    adapters = {**DEFAULT_AGENCY_ADAPTERS, **sandbox_agencies(sandbox, SANDBOX_SECRET)}
    app = create_app(make_config(url, AGENCY_ADAPTERS=adapters))
    with app.app_context(), app.extensions["portal.db"].write_transaction() as session:
        demo.seed(session, wallet_service(session))
    server, base_url = serve(app)
    yield base_url
    stop(server)
    app.extensions["portal.db"].dispose()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(params=[(1280, 900), (390, 844)], ids=["desktop", "phone"])
def page(browser, request):
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    yield page
    context.close()

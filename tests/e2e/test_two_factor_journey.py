"""A new finance officer logs in for the first time, must set up two-factor (scans the QR code or types
the key shown beside it), saves the recovery codes, then logs in again with a code from the app and
once with a recovery code. In Chromium, with an axe-core scan of each page. Set SCREENSHOT_DIR to keep
screenshots (two-factor-setup.png, two-factor-codes.png, two-factor-verify.png)."""

from __future__ import annotations

import itertools

import pytest
from playwright.sync_api import expect

from portal import create_app
from portal.accounts.models import User
from portal.authz import Role
from tests.conftest import make_config, serve, stop, totp_code
from tests.e2e.test_account_journey import PASSWORD, assert_accessible
from tests.e2e.test_payment_journey import screenshot
from tests.factories import password_hash

pytestmark = pytest.mark.e2e

_numbers = itertools.count(1)


def enter_security_code(page, secret: str, who: str) -> None:
    """The second step of a staff login, in whatever language the page is in."""
    expect(page.locator("#code")).to_have_attribute("autocomplete", "one-time-code")
    page.locator("#code").fill(totp_code(secret, who))
    page.locator("main form button[type=submit]").click()


@pytest.fixture(scope="module")
def two_factor_portal(make_database):
    """(app, base URL): an empty portal on a real socket."""
    url = make_database()
    app = create_app(make_config(url))
    server, base_url = serve(app)
    yield app, base_url
    stop(server)
    app.extensions["portal.db"].dispose()


@pytest.fixture
def new_finance(two_factor_portal):
    """The e-mail address of a finance officer who has never logged in (no two-factor yet)."""
    app, _ = two_factor_portal
    email = f"new-finance{next(_numbers)}@city.example.cn"
    with app.app_context(), app.extensions["portal.db"].write_transaction() as session:
        session.add(User(role=Role.FINANCE, email=email, password_hash=password_hash(PASSWORD)))
    return email


def log_in_with_password(page, base_url: str, email: str) -> None:
    page.goto(base_url + "/language/en?next=/account/login")
    page.get_by_label("Mobile number or e-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()


def test_staff_enrols_at_first_login_then_logs_in_with_a_code(page, two_factor_portal, new_finance):
    _, base_url = two_factor_portal
    log_in_with_password(page, base_url, new_finance)

    expect(page).to_have_url(base_url + "/account/two-factor/setup")
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor authentication")
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "two-factor-setup")
    secret = page.locator(".secret-key").inner_text().replace(" ", "")
    assert len(secret) == 32

    page.get_by_label("Security code").fill("12345")
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.get_by_role("alert")).to_be_focused()
    expect(page.get_by_role("alert")).to_contain_text("6 digits")
    assert_accessible(page)

    page.get_by_label("Security code").fill(totp_code(secret, new_finance))
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Save your recovery codes")
    codes = page.locator(".recovery-codes li")
    expect(codes).to_have_count(10)
    recovery_code = codes.first.inner_text()
    assert_accessible(page)
    screenshot(page, "two-factor-codes")
    page.get_by_role("link", name="I have saved my recovery codes").click()
    expect(page).to_have_url(base_url + "/agencies/")

    page.get_by_role("button", name="Log out").click()
    log_in_with_password(page, base_url, new_finance)
    expect(page).to_have_url(base_url + "/account/two-factor")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your security code")
    assert_accessible(page)
    screenshot(page, "two-factor-verify")
    enter_security_code(page, secret, new_finance)
    expect(page).to_have_url(base_url + "/agencies/")

    page.get_by_role("button", name="Log out").click()
    log_in_with_password(page, base_url, new_finance)
    page.get_by_role("link", name="Use a recovery code instead").click()
    assert_accessible(page)
    page.get_by_label("Recovery code").fill(recovery_code)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(base_url + "/agencies/")

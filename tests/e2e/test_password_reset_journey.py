"""A resident who forgot the password gets a link through the development outbox and sets a new one,
in Chromium, with an axe-core scan of each page."""

from __future__ import annotations

import itertools

import pytest
from playwright.sync_api import expect

from tests.e2e.test_account_journey import assert_accessible

pytestmark = pytest.mark.e2e

_numbers = itertools.count(1)
OLD_PASSWORD = "spring river mountain lantern"
NEW_PASSWORD = "violet harbour lantern 42"


def register(page, live_server, mobile: str) -> None:
    page.goto(live_server + "/account/register")
    page.get_by_label("Mobile number or e-mail address").fill(mobile)
    page.get_by_label("Create a password").fill(OLD_PASSWORD)
    page.get_by_label("Confirm password").fill(OLD_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("button", name="Log out").click()


def test_forgotten_password_through_the_development_outbox(page, live_server):
    mobile = f"1371{next(_numbers):07d}"
    page.goto(live_server + "/language/en")
    register(page, live_server, mobile)

    page.goto(live_server + "/account/login")
    page.get_by_role("link", name="Forgot your password?").click()
    assert_accessible(page)
    page.get_by_label("Mobile number or e-mail address").fill(mobile)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your messages")
    assert_accessible(page)

    page.goto(live_server + "/dev/outbox")
    expect(page.get_by_text("For development only")).to_be_visible()
    assert_accessible(page)
    link = page.get_by_role("row").filter(has_text=mobile).get_by_role("link").first.get_attribute("href")
    # The link names PORTAL_BASE_URL (never the request's Host header); this server listens elsewhere.
    page.goto(live_server + "/account/reset-password/" + link.rsplit("/", 1)[1])

    expect(page.get_by_role("heading", level=1)).to_have_text("Set a new password")
    assert_accessible(page)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page).to_have_url(live_server + "/account/login")

    page.get_by_label("Mobile number or e-mail address").fill(mobile)
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).to_have_url(live_server + "/account/")

"""An admin reviews a risk flag raised by a real top-up check, takes a note and clears it, in Chromium
with axe-core scans. Set SCREENSHOT_DIR to keep risk-queue.png and risk-case.png."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal import create_app, migrate
from portal.accounts.models import Role, User, VerificationTier
from portal.db import utcnow
from portal.risk.checks import check
from portal.risk.rules import TOP_UP
from tests.conftest import make_config, serve, stop
from tests.e2e.test_account_journey import PASSWORD, assert_accessible
from tests.e2e.test_payment_journey import screenshot
from tests.e2e.test_two_factor_journey import enter_security_code
from tests.factories import TOTP_SECRET, password_hash

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def risk_portal(make_database):
    """(base URL, admin e-mails): one flag per viewport, raised by the single-amount rule on a top-up."""
    url = make_database()
    migrate.upgrade(url)
    app = create_app(make_config(url))
    admins = []
    with app.test_request_context(), app.extensions["portal.db"].write_transaction() as session:
        resident = User(
            role=Role.RESIDENT,
            phone="13700000009",
            real_name="王小明",
            password_hash=password_hash(PASSWORD),
            verification_tier=VerificationTier.ID_AND_CARD,
            created_at=utcnow() - timedelta(days=400),  # not a new account: one rule trips, not two
        )
        session.add(resident)
        for n in range(2):
            admins.append(f"risk-admin{n}@city.example.cn")
            session.add(
                User(
                    role=Role.ADMIN,
                    email=admins[-1],
                    password_hash=password_hash(PASSWORD),
                    totp_secret=TOTP_SECRET,
                    totp_enabled_at=utcnow(),
                )
            )
        session.flush()  # the resident's id names the flags
        for _ in admins:
            check(session, resident, TOP_UP, 600_000)  # ¥6,000: over the default ¥5,000 threshold
    server, base_url = serve(app)
    yield base_url, admins
    stop(server)
    app.extensions["portal.db"].dispose()


def test_an_admin_reviews_and_clears_a_flag(page, risk_portal):
    base_url, admins = risk_portal
    admin = admins[0] if page.viewport_size["width"] >= 1280 else admins[1]
    page.goto(base_url + "/language/en")
    page.goto(base_url + "/account/login")
    page.get_by_label("Mobile number or e-mail").fill(admin)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    enter_security_code(page, TOTP_SECRET, admin)

    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Risk review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Risk review")
    flags = page.get_by_role("table").first.locator("tbody tr")
    expect(flags.first).to_contain_text("Single large amount")
    expect(flags.first).to_contain_text("¥6,000.00")
    assert_accessible(page)
    screenshot(page, "risk-queue")

    flags.first.get_by_role("link").click()
    expect(page.get_by_text("王*明")).to_be_visible()  # masked
    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_text("Assigned to you.")).to_be_visible()
    page.get_by_label("Note").fill("Salary paid in; documents seen.")
    page.get_by_role("button", name="Add the note").click()
    expect(page.get_by_text("Salary paid in; documents seen.")).to_be_visible()
    page.get_by_label("Cleared: nothing suspicious").check()
    assert_accessible(page)
    screenshot(page, "risk-case")
    page.get_by_role("button", name="Close the flag").click()
    expect(page.get_by_text("The flag is closed.")).to_be_visible()
    status = page.locator(".summary-list__row").filter(has=page.get_by_text("Status", exact=True))
    expect(status.locator("dd")).to_contain_text("Cleared")
    expect(page.get_by_role("button", name="Close the flag")).to_have_count(0)

"""An admin reviews a risk flag raised by a real top-up check (one flag for the two rules it trips), takes
a note and clears it; the audit log and the menu stay readable at desktop and phone widths. In Chromium
with axe-core scans. Set SCREENSHOT_DIR to keep risk-queue.png, risk-case.png and audit-log.png."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal import create_app
from portal.accounts.models import User, VerificationTier
from portal.authz import Role
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
    """(base URL, admin e-mails): one flag per viewport, raised by a top-up that trips two rules (a large
    amount, by a new account); an admin of its own for each test and viewport (a code is used once)."""
    url = make_database()
    app = create_app(make_config(url))
    admins = []
    with app.test_request_context(), app.extensions["portal.db"].write_transaction() as session:
        resident = User(
            role=Role.RESIDENT,
            phone="13700000009",
            real_name="王小明",
            password_hash=password_hash(PASSWORD),
            verification_tier=VerificationTier.ID_AND_CARD,
            created_at=utcnow() - timedelta(days=2),  # a new account: two rules trip, one flag
        )
        session.add(resident)
        for n in range(4):
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
        for _ in range(2):
            check(session, resident, TOP_UP, 600_000)  # ¥6,000: over ¥5,000, and over ¥2,000 when new
    server, base_url = serve(app)
    yield base_url, admins
    stop(server)
    app.extensions["portal.db"].dispose()


def _log_in(page, base_url: str, admin: str) -> None:
    page.goto(base_url + "/language/en")
    page.goto(base_url + "/account/login")
    page.get_by_label("Mobile number or e-mail").fill(admin)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    enter_security_code(page, TOTP_SECRET, admin)


def _desktop(page) -> bool:
    return page.viewport_size["width"] >= 1280


def test_an_admin_reviews_and_clears_a_flag(page, risk_portal):
    base_url, admins = risk_portal
    _log_in(page, base_url, admins[0] if _desktop(page) else admins[1])

    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Risk review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Risk review")
    flags = page.get_by_role("table").first.locator("tbody tr")
    expect(flags.first).to_contain_text("Single large amount")
    both = flags.filter(has_text="Single large amount").filter(has_text="Large top-up by a new account")
    expect(both).to_have_count(flags.count())  # every row is one top-up with both of the rules it tripped
    expect(flags.first).to_contain_text("¥6,000.00 in one operation, at or over the threshold of ¥5,000.00.")
    assert_accessible(page)
    screenshot(page, "risk-queue")

    flags.first.get_by_role("link").click()
    expect(page.get_by_text("王*明")).to_be_visible()  # masked
    expect(page.get_by_text("Top-up of ¥6,000.00 by an account 2 days old.")).to_be_visible()
    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_text("Assigned to you.")).to_be_visible()
    page.get_by_label("Note").fill("Salary paid in; documents seen.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Salary paid in; documents seen.")).to_be_visible()
    page.get_by_label("Cleared: nothing suspicious").check()
    assert_accessible(page)
    screenshot(page, "risk-case")
    page.get_by_role("button", name="Close the flag").click()
    expect(page.get_by_text("The flag is closed.")).to_be_visible()
    status = page.locator(".summary-list__row").filter(has=page.get_by_text("Status", exact=True))
    expect(status.locator("dd")).to_contain_text("Cleared")
    expect(page.get_by_role("button", name="Close the flag")).to_have_count(0)


def test_the_audit_log_and_the_menu_stay_readable(page, risk_portal):
    base_url, admins = risk_portal
    _log_in(page, base_url, admins[2] if _desktop(page) else admins[3])
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")

    # No menu item breaks inside itself ("Log out" on two lines), and "Log out" keeps its place at the top
    # rather than falling below the links, at this width and every narrower one down to the phone's.
    items = page.locator(".site-nav__links a, .site-nav .link-button")
    assert items.count() >= 8
    size = page.viewport_size
    for width in range(size["width"], 380, -20):
        page.set_viewport_size({"width": width, "height": size["height"]})
        assert _lines(items) == [1] * items.count(), (width, items.all_inner_texts())
        assert abs(items.first.bounding_box()["y"] - items.last.bounding_box()["y"]) < 4, width
    page.set_viewport_size(size)
    # Entry numbers, times and event codes stay on one line; the table scrolls in its own focusable region
    # instead of squeezing.
    region = page.get_by_role("region", name="Audit log")
    expect(region).to_have_attribute("tabindex", "0")
    expect(region.get_by_role("table")).to_contain_text("risk.flagged")
    references = region.locator("td.ref, td code.muted")
    assert references.count() >= 4
    assert _lines(references) == [1] * references.count(), references.all_inner_texts()
    assert_accessible(page)
    screenshot(page, "audit-log")


def _lines(locator) -> list[int]:
    """How many line boxes each element's text takes (1 when it does not wrap)."""
    return locator.evaluate_all(
        """elements => elements.map(element => {
            const range = document.createRange();
            range.selectNodeContents(element);
            return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size;
        })"""
    )

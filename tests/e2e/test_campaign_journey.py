"""A wallet campaign from proposal to receipt, in Chromium with axe-core scans: one admin proposes a
¥5 discount on water bills, a second admin approves it (funding its budget), a resident sees the
discount on the review page, pays ¥15.00 of a ¥20.00 bill from the wallet and downloads a receipt that
shows what the campaign paid. Set SCREENSHOT_DIR to keep campaign.png and campaign-review.png."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal import create_app
from portal.accounts.models import User
from portal.agencies.models import Agency, AgencyCategory
from portal.authz import Role
from portal.bills.models import Bill
from portal.clock import business_day
from portal.db import utcnow
from portal.wallet.factory import wallet_service
from portal.wallet.owners import wallet_owner
from tests.conftest import make_config, serve, stop
from tests.e2e.test_account_journey import PASSWORD, assert_accessible
from tests.e2e.test_payment_journey import CARD, pdf_text, screenshot
from tests.e2e.test_two_factor_journey import enter_security_code
from tests.factories import TOTP_SECRET, password_hash

pytestmark = pytest.mark.e2e

_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def campaign_portal(make_database):
    url = make_database()
    # Six staff and resident logins a viewport from one address: more than the login rate limit allows.
    config = make_config(url, AGENCY_ADAPTERS={"promo-water": {"adapter": "local"}}, RATELIMIT_ENABLED=False)
    app = create_app(config)
    with app.app_context(), app.extensions["portal.db"].write_transaction() as session:
        session.add(
            Agency(
                code="promo-water", name_zh="惠民水务", name_en="Promo Water", category=AgencyCategory.WATER
            )
        )
    server, base_url = serve(app)
    yield app, base_url
    stop(server)
    app.extensions["portal.db"].dispose()


@pytest.fixture
def people(campaign_portal):
    """(maker, checker, resident mobile, household, bill number): new ones for each test."""
    app, _ = campaign_portal
    n = next(_numbers)
    maker, checker = f"maker{n}@city.example.cn", f"checker{n}@city.example.cn"
    mobile, household = f"1375{n:07d}", f"88{n:08d}"
    with app.app_context(), app.extensions["portal.db"].write_transaction() as session:
        for email in (maker, checker):
            session.add(
                User(
                    role=Role.ADMIN,
                    email=email,
                    password_hash=password_hash(PASSWORD),
                    totp_secret=TOTP_SECRET,
                    totp_enabled_at=utcnow(),
                )
            )
        agency = session.query(Agency).filter_by(code="promo-water").one()
        session.add(
            Bill(
                agency=agency,
                bill_no=f"PW{n}",
                account_reference=household,
                payer_name="张小三",
                amount_fen=2_000,
            )
        )
        user = User(role=Role.RESIDENT, phone=mobile, password_hash=password_hash(PASSWORD))
        session.add(user)
        session.flush()  # the resident's id names the wallet
        wallet = wallet_service(session)
        owner = wallet_owner(user)
        wallet.open_wallet(owner, user.verification_tier.value)
        card = wallet.link_card(owner, CARD).reference
        wallet.top_up(owner, 50_000, card=card, idempotency_key=f"fund-{owner}")
    return maker, checker, mobile, household, f"PW{n}"


def _log_in(page, base_url: str, who: str, staff: bool = True) -> None:
    # Log the previous person out as they would (clearing cookies races the responses still setting
    # the session cookie: one CI run came back to the login page still logged in).
    log_out = page.get_by_role("button", name="Log out")
    if log_out.count():
        log_out.click()
        expect(page.get_by_role("navigation").get_by_role("link", name="Log in")).to_be_visible()
    page.goto(base_url + "/language/en?next=/account/login")
    page.get_by_label("Mobile number or e-mail").fill(who)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    if staff:
        enter_security_code(page, TOTP_SECRET, who)


def test_a_campaign_from_proposal_to_the_residents_receipt(page, campaign_portal, people):
    _app, base_url = campaign_portal
    maker, checker, mobile, household, bill_no = people
    today = business_day(utcnow())
    name = f"Water saver {bill_no}"

    _log_in(page, base_url, maker)
    page.get_by_role("navigation").get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="Propose a campaign").click()
    page.get_by_label("Name in Chinese").fill("节水立减")
    page.get_by_label("Name in English").fill(name)
    page.get_by_label("First day (Beijing)").fill(today.isoformat())
    page.get_by_label("Last day (Beijing)").fill((today + timedelta(days=7)).isoformat())
    page.get_by_label("Promo Water").check()
    page.get_by_label("A fixed amount off each payment").check()
    page.get_by_label("Amount off (yuan)").fill("5")
    page.get_by_label("Budget (yuan)").fill("1000")
    assert_accessible(page)
    page.get_by_role("button", name="Propose the campaign").click()
    expect(page.get_by_text("A second admin must approve it before it starts")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Approve"))).to_have_count(0)

    _log_in(page, base_url, checker)
    page.goto(base_url + "/admin/campaigns/")
    page.get_by_role("link", name=name).click()
    page.get_by_role("button", name="Approve and fund ¥1,000.00").click()
    expect(page.get_by_text("Approved: the budget is funded")).to_be_visible()
    expect(page.get_by_text("Running")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "campaign")

    _log_in(page, base_url, mobile, staff=False)
    page.goto(f"{base_url}/bills/promo-water?account_reference={household}")
    page.get_by_label(f"Pay bill {bill_no}").check()
    page.get_by_role("button", name="Pay the ticked bills").click()
    # (the phone run finds the desktop run's campaign too: the older of two equal offers applies)
    expect(page.get_by_role("status").filter(has_text="Wallet promotion")).to_contain_text("pays ¥5.00")
    expect(page.get_by_role("table")).to_contain_text("−¥5.00")
    expect(page.get_by_role("table")).to_contain_text("¥15.00")
    assert_accessible(page)
    screenshot(page, "campaign-review")
    page.get_by_role("button", name="Confirm and pay from my wallet").click()
    expect(page.get_by_text("¥15.00 left your wallet")).to_be_visible()

    link = page.get_by_role("link", name=re.compile(r"^Payment receipt \S+ \(PDF\)$"))
    with page.expect_download() as download_info:
        link.click()
    text = pdf_text(download_info.value.path())
    assert "活动补贴" in text and "¥5.00" in text and "¥15.00" in text and "节水立减" in text

"""A resident turns on auto-pay for a saved account, the worker reminds and then pays, and the
resident reads the notices in the inbox and marks them read, in Chromium, with an axe-core scan."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal import create_app, worker
from portal.accounts.models import User
from portal.agencies.models import Agency, AgencyCategory
from portal.bills.models import Bill
from portal.bills.services import save_account
from portal.clock import business_day
from portal.db import utcnow
from portal.wallet.factory import wallet_service
from portal.wallet.owners import wallet_owner
from tests.conftest import make_config, serve, stop
from tests.e2e.test_account_journey import PASSWORD, assert_accessible
from tests.factories import password_hash

pytestmark = pytest.mark.e2e

CARD = "6222020000000000018"


@pytest.fixture(scope="module")
def autopay_portal(make_database):
    url = make_database()
    # the worker pays on its next pass after the reminder (no hour of notice: the test has no hour)
    config = make_config(url, AGENCY_ADAPTERS={"auto-water": {"adapter": "local"}}, AUTOPAY_NOTICE_MINUTES=0)
    app = create_app(config)
    yield app
    app.extensions["portal.db"].dispose()


def resident_with_account(app, mobile: str) -> None:
    with app.app_context(), app.extensions["portal.db"].write_transaction() as session:
        agency = Agency(
            code="auto-water", name_zh="自动水务", name_en="Auto Water", category=AgencyCategory.WATER
        )
        session.add(agency)
        user = User(phone=mobile, password_hash=password_hash(PASSWORD))
        session.add(user)
        session.add(
            Bill(
                agency=agency,
                bill_no="AUTO-1",
                account_reference="7100200300",
                payer_name="赵六",
                amount_fen=2_500,
                due_date=business_day(utcnow()) + timedelta(days=1),
            )
        )
        session.flush()  # the user's id names the wallet and the saved account
        save_account(session, user, agency, {"account_reference": "7100200300"}, "Home")
        wallet = wallet_service(session)
        wallet.open_wallet(wallet_owner(user), "basic")
        card = wallet.link_card(wallet_owner(user), CARD).reference
        wallet.top_up(wallet_owner(user), 10_000, card=card, idempotency_key="e2e-autopay-fund-0001")


def run_worker(app) -> None:
    with app.app_context():
        worker.run(app.extensions["portal.db"], once=True)


def test_turn_on_auto_pay_and_read_the_notices(page, autopay_portal):
    app = autopay_portal
    if "ran" in app.config:
        pytest.skip("one journey per portal: the phone layout is checked by the other journeys")
    app.config["ran"] = True
    mobile = "13800009901"
    resident_with_account(app, mobile)
    server, base = serve(app)
    try:
        page.goto(base + "/language/en")
        page.goto(base + "/account/login")
        page.get_by_label("Mobile number or e-mail address").fill(mobile)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in", exact=True).click()

        page.goto(base + "/bills/mine")
        page.get_by_role("link", name="Change auto-pay for Home").click()
        assert_accessible(page)
        page.get_by_label("Pay this account's bills automatically").check()
        page.get_by_label("Monthly cap (yuan)").fill("200")
        page.get_by_role("button", name="Save auto-pay").click()
        expect(page.get_by_text("Auto-pay is on, up to ¥200.00 a month.")).to_be_visible()
        assert_accessible(page)

        run_worker(app)  # the reminder
        run_worker(app)  # the payment, after the reminder
        page.goto(base + "/notices/")
        expect(page.get_by_text("You have 2 unread notices.")).to_be_visible()
        expect(page.get_by_role("heading", name="Unread Auto-pay paid a bill")).to_be_visible()
        expect(page.get_by_role("heading", name="Unread A bill is due soon")).to_be_visible()
        assert_accessible(page)
        page.get_by_role("button", name="Mark every notice as read").click()
        expect(page.get_by_text("You have 0 unread notices.")).to_be_visible()
        assert_accessible(page)
        page.get_by_role("link", name="Choose which notices you get and how").click()
        assert_accessible(page)
    finally:
        stop(server)

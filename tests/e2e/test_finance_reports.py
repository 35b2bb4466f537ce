"""A finance officer reads the dashboard, narrows the collections report, downloads it as CSV, settles
an agency's day and reconciles, in Chromium with an axe-core scan of each page. Set SCREENSHOT_DIR to
keep screenshots (reports-dashboard.png, reports-collections.png, reports-settlement.png)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from portal import create_app
from portal.accounts.models import User
from portal.agencies.models import Agency, AgencyCategory
from portal.authz import Role
from portal.bills.models import Bill
from portal.bills.selection import Selection
from portal.db import get_session, utcnow
from portal.payments import checkout, services
from portal.wallet.funding import GATEWAYS
from portal.wallet.owners import wallet_owner
from portal.wallet.services import WalletService
from tests.conftest import make_config, serve, stop
from tests.e2e.test_account_journey import PASSWORD, assert_accessible
from tests.e2e.test_payment_journey import screenshot
from tests.e2e.test_two_factor_journey import enter_security_code
from tests.factories import TOTP_SECRET, password_hash

pytestmark = pytest.mark.e2e

FINANCE = "reports-finance@city.example.cn"
PAID = [  # (agency, fen, moment): March 2026, Beijing days 3 and 4
    ("water-rep", 4_680, datetime(2026, 3, 3, 2, tzinfo=UTC)),
    ("water-rep", 2_000, datetime(2026, 3, 3, 15, 59, 59, tzinfo=UTC)),  # 23:59:59 on the 3rd
    ("gas-rep", 9_900, datetime(2026, 3, 3, 16, 0, tzinfo=UTC)),  # 00:00:00 on the 4th
]


def _wallet(app, session, moment: datetime) -> WalletService:
    return WalletService(
        session, limits=app.config["WALLET_LIMITS"], gateway=GATEWAYS["sandbox"](), clock=lambda: moment
    )


def _seed(app) -> None:
    database = app.extensions["portal.db"]
    with app.app_context(), database.write_transaction() as session:
        session.add(
            Agency(
                code="water-rep", name_zh="报表水务", name_en="Report Water", category=AgencyCategory.WATER
            )
        )
        session.add(
            Agency(code="gas-rep", name_zh="报表燃气", name_en="Report Gas", category=AgencyCategory.GAS)
        )
        session.add(
            User(
                role=Role.FINANCE,
                email=FINANCE,
                password_hash=password_hash(PASSWORD),
                totp_secret=TOTP_SECRET,
                totp_enabled_at=utcnow(),
            )
        )
        payer = User(role=Role.RESIDENT, phone="13600000001", password_hash=password_hash(PASSWORD))
        session.add(payer)
        session.flush()  # the payer's id names the wallet
        wallet = _wallet(app, session, PAID[0][2])
        wallet.open_wallet(wallet_owner(payer), "id_and_card")
        card = wallet.link_card(wallet_owner(payer), "6222020000000000018").reference
        wallet.top_up(wallet_owner(payer), 100_000, card=card, idempotency_key="reports-e2e-fund")
        payer_id = payer.id
    for number, (code, fen, moment) in enumerate(PAID):
        with app.test_request_context():
            session = get_session()
            agency = session.query(Agency).filter_by(code=code).one()
            session.add(
                Bill(
                    agency=agency,
                    bill_no=f"R-{number}",
                    account_reference="3100200300",
                    payer_name="张三",
                    amount_fen=fen,
                    late_fee_fen=0,
                    description="居民生活用水",
                    period="2026-02",
                )
            )
            selection = Selection(code, (("account_reference", "3100200300"),), f"R-{number}")
            quote = checkout.quote(session, [selection], "en")
            services.pay(session, _wallet(app, session, moment), session.get(User, payer_id), quote, [fen])
            session.commit()


@pytest.fixture(scope="module")
def reports_portal(make_database):
    url = make_database()
    adapters = {"water-rep": {"adapter": "local"}, "gas-rep": {"adapter": "local"}}
    app = create_app(make_config(url, AGENCY_ADAPTERS=adapters))
    _seed(app)
    server, base_url = serve(app)
    yield base_url
    stop(server)
    app.extensions["portal.db"].dispose()


def test_finance_reads_exports_settles_and_reconciles(page, reports_portal):
    base_url = reports_portal
    page.goto(base_url + "/language/en")
    page.goto(base_url + "/account/login")
    page.get_by_label("Mobile number or e-mail").fill(FINANCE)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    enter_security_code(page, TOTP_SECRET, FINANCE)

    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Finance dashboard")
    assert_accessible(page)
    screenshot(page, "reports-dashboard")

    page.get_by_role("navigation", name="Reports").get_by_role("link", name="Collections").click()
    page.get_by_label("From (Beijing date)").fill("2026-03-01")
    page.get_by_label("To (Beijing date)").fill("2026-03-31")
    page.get_by_role("button", name="Show").click()
    totals = page.locator(".balance-grid")
    expect(totals).to_contain_text("¥165.80")  # 46.80 + 20.00 + 99.00
    by_day = page.get_by_role("table").nth(1)
    expect(by_day.get_by_role("row", name="2026-03-03")).to_contain_text(
        "¥66.80"
    )  # 23:59:59 stays on the 3rd
    expect(by_day.get_by_role("row", name="2026-03-04")).to_contain_text("¥99.00")
    expect(page.get_by_role("img", name="Net collections per day")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "reports-collections")

    page.get_by_label("Agency", exact=True).select_option(label="Report Water")
    page.get_by_role("button", name="Show").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV", exact=True).click()
    assert download.value.suggested_filename == "collections_2026-03-01_2026-03-31_water-rep.csv"
    with open(download.value.path(), encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))
    assert [row[9] for row in rows[1:]] == ["46.80", "20.00"]

    # Each viewport settles a day of its own: the server (and its settlements) is shared.
    phone = page.viewport_size["width"] < 1280
    day, agency, owed = (
        ("2026-03-04", "Report Gas", "¥99.00") if phone else ("2026-03-03", "Report Water", "¥66.80")
    )
    page.get_by_role("link", name="Daily settlement").click()
    page.get_by_label("Business day (Beijing)").fill(day)
    page.get_by_role("button", name="Show").click()
    row = page.get_by_role("row").filter(has_text=agency)
    expect(row).to_contain_text(owed)
    row.get_by_role("button", name="Settle").click()
    expect(page.locator(".notice--success")).to_contain_text("Settled")
    expect(
        page.get_by_role("row").filter(has_text=agency).get_by_role("link", name="Statement (PDF)")
    ).to_be_visible()
    assert_accessible(page)
    screenshot(page, "reports-settlement")

    page.get_by_role("link", name="Reconciliation").click()
    page.get_by_label("From (Beijing date)").fill("2026-03-01")
    page.get_by_label("To (Beijing date)").fill("2026-03-31")
    page.get_by_role("button", name="Reconcile").click()
    # No worker runs here: the agencies never heard of the three payments.
    found = page.get_by_role("table", name="What does not match")
    expect(found.locator("tbody tr")).to_have_count(3)
    expect(found).to_contain_text("Missing agency confirmation")
    expect(page.get_by_role("table", name="By channel")).to_contain_text("Portal")  # the three, by channel
    assert_accessible(page)

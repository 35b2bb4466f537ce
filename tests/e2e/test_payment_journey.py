"""A resident with a funded wallet looks up a water bill, ticks it, reviews and pays it from the wallet,
downloads the receipt PDF and checks it with the verification link printed on it, in Chromium, with an
axe-core scan of the review, payment and verification pages.

The portal runs on a server of this module's own: the receipt prints its verification link from
PORTAL_BASE_URL, which must be this server's address for the printed link to work, and the water
agency is a local-adapter one enabled through AGENCY_ADAPTERS. Set SCREENSHOT_DIR to keep full-page
screenshots of the review and payment pages (review.png, payment.png at 1280 wide; -phone otherwise).
"""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from portal import create_app
from portal.accounts.models import User
from portal.agencies.models import Agency, AgencyCategory
from portal.authz import Role
from portal.bills.models import Bill
from portal.receipts.rendering import verify_url
from portal.wallet.factory import wallet_service
from portal.wallet.owners import wallet_owner
from tests.conftest import make_config, serve, stop
from tests.e2e.test_account_journey import PASSWORD, assert_accessible
from tests.factories import password_hash

pytestmark = pytest.mark.e2e

AGENCY_CODE = "water-pay"
AGENCY_NAME = "Test Water"
CARD = "6222020000000000018"  # the sandbox bank's test card
WALLET_FEN = 50_000
BILL_FEN = 2_000  # ¥20.00, 贰拾元整
OTHER_BILL_FEN = 4_680
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def payment_portal(make_database):
    """(app, base URL): the portal on a real socket, its receipts printing links to that socket."""
    url = make_database()
    app = create_app(make_config(url, AGENCY_ADAPTERS={AGENCY_CODE: {"adapter": "local"}}))
    with app.app_context(), app.extensions["portal.db"].write_transaction() as session:
        session.add(
            Agency(code=AGENCY_CODE, name_zh="测试水务", name_en=AGENCY_NAME, category=AgencyCategory.WATER)
        )
    server, base_url = serve(app)
    app.config["PORTAL_BASE_URL"] = base_url  # read when a receipt is rendered, not at start-up
    yield app, base_url
    stop(server)
    app.extensions["portal.db"].dispose()


@pytest.fixture
def resident(payment_portal):
    """(mobile, household account number, bill to pay): a resident whose wallet holds ¥500.00 and a
    household with two unpaid water bills, the one to pay of ¥20.00; new ones for each test."""
    app, _ = payment_portal
    number = next(_numbers)
    mobile, household = f"1372{number:07d}", f"77{number:08d}"
    with app.app_context(), app.extensions["portal.db"].write_transaction() as session:
        agency = session.query(Agency).filter_by(code=AGENCY_CODE).one()
        for suffix, description, period, amount_fen in (
            ("1", "居民生活用水 12 吨", "2026-10", OTHER_BILL_FEN),
            ("2", "居民生活用水 5 吨", "2026-11", BILL_FEN),
        ):
            session.add(
                Bill(
                    agency=agency,
                    bill_no=f"W{number}-{suffix}",
                    account_reference=household,
                    payer_name="张小三",
                    description=description,
                    period=period,
                    amount_fen=amount_fen,
                )
            )
        user = User(role=Role.RESIDENT, phone=mobile, password_hash=password_hash(PASSWORD))
        session.add(user)
        session.flush()
        wallet = wallet_service(session)  # as tests/payments/conftest.py fund() does
        owner = wallet_owner(user)
        wallet.open_wallet(owner, user.verification_tier.value)
        card = wallet.link_card(owner, CARD).reference
        wallet.top_up(owner, WALLET_FEN, card=card, idempotency_key=f"fund-{owner}")
    return mobile, household, f"W{number}-2"


def screenshot(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        suffix = "" if page.viewport_size["width"] >= 1280 else "-phone"
        page.screenshot(path=str(Path(folder) / f"{name}{suffix}.png"), full_page=True)


def pdf_text(path: str) -> str:
    """The text of every page, whitespace removed (WeasyPrint wraps long lines anywhere)."""
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(path).pages))


def test_pay_a_water_bill_from_the_wallet_and_verify_the_receipt(page, browser, payment_portal, resident):
    app, base_url = payment_portal
    mobile, household, bill_no = resident

    page.goto(base_url + "/language/en?next=/account/login")
    page.get_by_label("Mobile number or e-mail address").fill(mobile)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).to_have_url(base_url + "/account/")

    page.get_by_role("navigation").get_by_role("link", name="Look up a bill").click()
    page.get_by_role("link", name=AGENCY_NAME).click()
    page.get_by_label("Household account number").fill(household)
    page.get_by_role("button", name="Find bills").click()
    expect(page.locator("table tbody tr")).to_have_count(2)

    page.get_by_label(f"Pay bill {bill_no}").check()
    page.get_by_role("button", name="Pay the ticked bills").click()
    expect(page).to_have_url(base_url + "/payments/review")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check and pay")
    review = page.get_by_role("table")
    expect(review.locator("tbody tr")).to_have_count(1)
    expect(review).to_contain_text(bill_no)
    expect(review.locator("tfoot")).to_contain_text("¥20.00")
    assert_accessible(page)
    screenshot(page, "review")

    page.get_by_role("button", name="Confirm and pay from my wallet").click()
    expect(page).to_have_url(re.compile(re.escape(base_url) + r"/payments/P[0-9A-Z]{15}$"))
    reference = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text(reference)
    expect(page.locator(".summary-list")).to_contain_text("¥20.00")
    expect(page.get_by_role("table")).to_contain_text(bill_no)
    link = page.get_by_role("link", name=re.compile(r"^Payment receipt \S+ \(PDF\)$"))
    expect(link).to_have_count(1)
    assert_accessible(page)
    screenshot(page, "payment")

    number = re.fullmatch(r"Payment receipt (\S+) \(PDF\)", link.inner_text().strip()).group(1)
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == f"receipt-{number}.pdf"
    path = download.path()
    assert Path(path).read_bytes().startswith(b"%PDF")
    text = pdf_text(path)
    assert "贰拾元整" in text and "¥20.00" in text
    assert number in text and reference in text
    with app.app_context():
        link_url = verify_url(number)
    assert link_url.startswith(base_url + "/receipts/verify/")
    assert link_url in text, "the receipt does not print its verification link"

    # Anyone (not logged in) opens the printed link; an edited one is refused.
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    stranger = browser.new_context(viewport={"width": width, "height": height})
    try:
        visitor = stranger.new_page()
        visitor.goto(base_url + "/language/en?next=" + link_url.removeprefix(base_url))
        expect(visitor).to_have_url(link_url)
        expect(visitor.get_by_role("status")).to_contain_text("This receipt is genuine")
        expect(visitor.locator(".summary-list")).to_contain_text(number)
        expect(visitor.locator(".summary-list")).to_contain_text("¥20.00")
        expect(visitor.locator(".summary-list")).to_contain_text("贰拾元整")
        assert_accessible(visitor)

        payload, signature = link_url.rsplit(".", 1)
        changed = "A" if signature[0] != "A" else "B"  # not the last character: its low bits are padding
        response = visitor.goto(f"{payload}.{changed}{signature[1:]}")
        assert response.status == 404
        expect(visitor.get_by_role("alert")).to_contain_text("could not be verified")
        expect(visitor.get_by_text("This receipt is genuine")).to_have_count(0)
        assert_accessible(visitor)
    finally:
        stranger.close()

    page.goto(base_url + "/wallet/")
    expect(page.locator(".balance-figure")).to_have_text("¥480.00")
    page.goto(f"{base_url}/bills/{AGENCY_CODE}?account_reference={household}")
    expect(page.get_by_label(f"Pay bill {bill_no}")).to_have_count(0)  # paid: no box to tick
    expect(page.get_by_label(f"Pay bill {bill_no[:-1]}1")).to_have_count(1)  # the other one still open

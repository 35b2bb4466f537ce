"""An agency clerk uploads a bill file saved in GBK (as Excel on Chinese Windows saves a CSV), checks the
preview and loads it; a resident then finds the bill with the Chinese payer name intact. A file with a
bad row is previewed with its error by line and column and cannot be loaded. In Chromium, with an
axe-core scan of both previews.

The portal runs on a server of this module's own, so that AGENCY_ADAPTERS can enable the local-adapter
water agency the batches load into. Set SCREENSHOT_DIR to keep full-page screenshots of both previews and
the batches page (batch-preview.png, batch-errors.png, batches.png at 1280 wide; -phone otherwise).
"""

from __future__ import annotations

import itertools
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from portal import create_app
from portal.accounts.models import User
from portal.agencies.models import Agency, AgencyCategory
from portal.authz import Role
from portal.db import utcnow
from tests.conftest import make_config, serve, stop
from tests.e2e.test_account_journey import PASSWORD, assert_accessible
from tests.e2e.test_payment_journey import screenshot
from tests.e2e.test_two_factor_journey import enter_security_code
from tests.factories import TOTP_SECRET, password_hash

pytestmark = pytest.mark.e2e

AGENCY_CODE = "water-batch"
AGENCY_NAME = "Batch Water"
HEADER = "账单号,户号,缴费人,金额,滞纳金,缴费截止日,账期,说明"
AMOUNT_ERROR = "abc is not an amount in yuan (for example 46.80)."
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def batch_portal(make_database):
    """(app, base URL): the portal on a real socket with a local-adapter water agency."""
    url = make_database()
    app = create_app(make_config(url, AGENCY_ADAPTERS={AGENCY_CODE: {"adapter": "local"}}))
    with app.app_context(), app.extensions["portal.db"].write_transaction() as session:
        session.add(
            Agency(code=AGENCY_CODE, name_zh="批量水务", name_en=AGENCY_NAME, category=AgencyCategory.WATER)
        )
    server, base_url = serve(app)
    yield app, base_url
    stop(server)
    app.extensions["portal.db"].dispose()


@pytest.fixture
def clerk(batch_portal):
    """The e-mail address of a new clerk of the water agency, whose password is PASSWORD and whose
    authenticator has TOTP_SECRET."""
    app, _ = batch_portal
    email = f"batch-clerk{next(_numbers)}@agency.example.cn"
    with app.app_context(), app.extensions["portal.db"].write_transaction() as session:
        agency = session.query(Agency).filter_by(code=AGENCY_CODE).one()
        session.add(
            User(
                role=Role.CLERK,
                agency=agency,
                email=email,
                password_hash=password_hash(PASSWORD),
                totp_secret=TOTP_SECRET,
                totp_enabled_at=utcnow(),
            )
        )
    return email


def csv_file(name: str, *rows: str) -> dict:
    """A file payload for set_input_files: the CSV encoded in GBK, as Excel on Chinese Windows saves it."""
    text = "\r\n".join((HEADER, *rows)) + "\r\n"
    return {"name": name, "mimeType": "text/csv", "buffer": text.encode("gbk")}


def upload(page, payload: dict) -> None:
    page.get_by_label("Bill file (.csv or .xlsx)").set_input_files(payload)
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(payload["name"])


def summary(page, term: str):
    """The value of one row of the preview's summary list."""
    row = page.locator(".summary-list__row").filter(has=page.get_by_text(term, exact=True))
    return row.locator("dd")


def history_row(page, file_name: str):
    """The row of the batches page's history that lists the file of that name."""
    rows = page.get_by_role("table", name="History").locator("tbody tr")
    return rows.filter(has=page.get_by_text(file_name, exact=True))  # a cell's name has its phone label


def test_clerk_loads_a_gbk_bill_file_and_a_resident_finds_the_bill(page, browser, batch_portal, clerk):
    _, base_url = batch_portal
    number = next(_numbers)
    first, second = f"31002{number:03d}00", f"31002{number:03d}01"  # household account numbers
    good = csv_file(
        f"水费-{number}.csv",
        f"B{number}-1,{first},张小三,46.80,1.40,2026-12-15,2026-11,居民生活用水",
        f'B{number}-2,{second},李四,"1,234.50",,2026年12月20日,2026-11,',
    )

    page.goto(base_url + "/account/login")
    page.get_by_label("手机号码或电子邮箱").fill(clerk)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    enter_security_code(page, TOTP_SECRET, clerk)
    expect(page).to_have_url(f"{base_url}/agencies/{AGENCY_CODE}/")
    page.goto(base_url + "/language/en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("navigation").get_by_role("link", name="Bill batches").click()
    expect(page).to_have_url(f"{base_url}/agencies/{AGENCY_CODE}/batches/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bill batches")

    upload(page, good)
    expect(summary(page, "New bills")).to_have_text("2")
    expect(summary(page, "Changed bills")).to_have_text("0")
    expect(summary(page, "Rows with errors")).to_have_text("0")
    expect(summary(page, "File")).to_contain_text("GBK / GB18030")
    expect(page.get_by_role("heading", name="Rows with errors")).to_have_count(0)
    expect(page.get_by_role("alert")).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "batch-preview")

    page.get_by_role("button", name="Load these bills").click()
    expect(page.get_by_role("alert")).to_contain_text("The bills are loaded.")
    expect(page.get_by_role("button", name="Load these bills")).to_have_count(0)
    page.get_by_role("link", name="All batches").click()
    row = history_row(page, good["name"])  # the Chinese file name intact
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(2)).to_have_text("2")
    expect(row.locator("td").nth(5)).to_have_text("Loaded")
    assert_accessible(page)

    # A file with a bad amount: the preview names the line and the column, and nothing can be loaded.
    bad = csv_file(f"水费-{number}-错误.csv", f"B{number}-3,{first},张小三,abc,,,2026-11,")
    upload(page, bad)
    expect(summary(page, "Rows with errors")).to_have_text("1")
    expect(page.get_by_role("heading", name="Rows with errors")).to_be_visible()
    errors = page.get_by_role("table", name="Rows with errors").locator("tbody tr")
    expect(errors).to_have_count(1)
    expect(errors.locator("td")).to_have_text(["2", "金额", AMOUNT_ERROR])  # line 2 (the header is line 1)
    expect(page.get_by_text("Correct the rows with errors in your file and upload it again.")).to_be_visible()
    expect(page.get_by_role("button", name="Load these bills")).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "batch-errors")

    page.get_by_role("link", name="All batches").click()
    expect(history_row(page, bad["name"]).locator("td").nth(5)).to_have_text("Checked, not loaded")
    expect(history_row(page, good["name"]).locator("td").nth(5)).to_have_text("Loaded")
    screenshot(page, "batches")

    # Anyone (not logged in) looks up the household: the payer's name is masked, not garbled.
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    stranger = browser.new_context(viewport={"width": width, "height": height})
    try:
        visitor = stranger.new_page()
        lookup = f"/bills/{AGENCY_CODE}?account_reference={first}"
        visitor.goto(f"{base_url}/language/en?next={quote(lookup, safe='/')}")
        expect(visitor).to_have_url(base_url + lookup)
        bills = visitor.get_by_role("table")
        expect(bills.locator("tbody tr")).to_have_count(1)
        expect(bills).to_contain_text(f"B{number}-1")
        expect(bills).to_contain_text("张*三")
        expect(bills).to_contain_text("¥46.80")
        expect(bills).not_to_contain_text(f"B{number}-3")  # the file with an error loaded nothing
        assert_accessible(visitor)
    finally:
        stranger.close()

"""A counter cashier's shift in Chinese, in Chromium at desktop and phone widths, with axe-core scans:
log in with two-factor, open a shift, find a water bill, take it in cash (the change shown), take a
second by bank card, download the receipt, then cash up one yuan short and see the shortfall recorded.
Set SCREENSHOT_DIR to keep counter-take.png, counter-paid.png and counter-closed.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from portal import create_app
from portal.counter.models import HallCashier, ServiceHall
from portal.db import get_session
from tests import factories
from tests.conftest import make_config, serve, stop
from tests.e2e.test_account_journey import assert_accessible
from tests.e2e.test_dispute_journey import VIEWPORTS, _browser_of
from tests.e2e.test_payment_journey import screenshot

pytestmark = pytest.mark.e2e

CARD = "6222 0200 0000 0000 018"


@pytest.fixture(scope="module")
def counter_portal(make_database):
    """(base URL, cashier by viewport): a hall serving the water company, a cashier per viewport and a
    household with two unpaid bills per viewport."""
    url = make_database()
    app = create_app(make_config(url, AGENCY_ADAPTERS={"water-pay": {"adapter": "local"}}))
    cashiers = {}
    with app.test_request_context():
        session = get_session()
        factories.bind(session)
        water = factories.AgencyFactory(code="water-pay", name_zh="测试水务", name_en="Test Water")
        hall = ServiceHall(code="east", name_zh="东区服务大厅", name_en="East Service Hall", agencies=[water])
        session.add(hall)
        session.flush()  # the cashiers' bindings name the hall's id
        for n, name in enumerate(VIEWPORTS.values()):
            cashier = factories.CashierFactory(email=f"cashier-{name}@hall.example.cn")
            session.add(HallCashier(user_id=cashier.id, hall_id=hall.id))
            for m, amount in enumerate((4_680, 2_000)):
                factories.BillFactory(
                    agency=water,
                    account_reference=f"310020060{n}",
                    bill_no=f"C-{n}-{m}",
                    amount_fen=amount,
                    payer_name="赵小六",
                )
            cashiers[name] = (cashier.email, f"310020060{n}")
        session.commit()
    server, base_url = serve(app)
    yield base_url, cashiers
    stop(server)
    app.extensions["portal.db"].dispose()


def _find(own, household: str) -> None:
    own.get_by_role("link", name="测试水务").click()
    own.locator("#account_reference").fill(household)
    own.get_by_role("button", name="查询账单").click()
    expect(own.get_by_text("赵*六").first).to_be_visible()  # the payer's name masked at the counter


def test_a_cashier_takes_cash_and_card_and_cashes_up_short(page, browser, counter_portal):
    base_url, cashiers = counter_portal
    n = 0 if page.viewport_size["width"] >= 1280 else 1
    email, household = cashiers[VIEWPORTS[page.viewport_size["width"]]]
    own = _browser_of(page, browser, base_url, email, staff=True)
    expect(own.get_by_role("heading", level=1)).to_have_text("收费窗口")  # the cashier's home
    own.get_by_role("button", name="开始班次").click()
    expect(own.locator("main")).to_contain_text("东区服务大厅")

    _find(own, household)
    own.get_by_role("button", name=f"收款 C-{n}-0").click()
    expect(own.locator("main")).to_contain_text("¥46.80")
    own.get_by_label("现金", exact=True).check()
    own.locator("#tendered").fill("50")
    assert_accessible(own)
    screenshot(own, "counter-take")
    own.get_by_role("button", name="收款 ¥46.80").click()
    expect(own.get_by_role("heading", level=1)).to_have_text("已支付：¥46.80")
    expect(own.locator(".change-due")).to_have_text("¥3.20")
    assert_accessible(own)
    screenshot(own, "counter-paid")
    with own.expect_download() as download:
        own.get_by_role("link", name="缴费凭证").first.click()
    text = PdfReader(download.value.path()).pages[0].extract_text()
    assert "服务大厅窗口缴费" in text and "¥46.80" in text

    own.get_by_role("link", name="下一位缴费人").click()
    _find(own, household)
    own.get_by_role("button", name=f"收款 C-{n}-1").click()
    own.get_by_label("银行卡（POS 机）").check()
    own.locator("#card_number").fill(CARD)
    own.get_by_role("button", name="收款 ¥20.00").click()
    expect(own.get_by_role("heading", level=1)).to_have_text("已支付：¥20.00")

    own.get_by_role("link", name="下一位缴费人").click()
    own.get_by_role("link", name="结束班次（轧账）").click()
    own.locator("#counted").fill("45.80")
    own.get_by_role("button", name="继续").click()
    expect(own.locator("main")).to_contain_text("钱箱短款 ¥1.00")
    own.get_by_role("button", name="是，结束班次").click()
    expect(own.locator(".cash-difference")).to_have_text("短款 ¥1.00")
    expect(own.locator("main")).to_contain_text("¥20.00")  # by card: not in the till
    assert_accessible(own)
    screenshot(own, "counter-closed")
    own.context.close()

"""A visitor with no portal account pays a relative's water bill from the relative's e-CNY wallet, in
Chinese, in Chromium at desktop and phone widths, with axe-core scans: the lookup's button, the wallet's
mobile, the code the owner received (read here from the development outbox) and the receipt. Set
SCREENSHOT_DIR to keep guest-wallet.png, guest-code.png and guest-done.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal import create_app
from portal.db import get_session
from portal.wallet.factory import wallet_service
from portal.wallet.owners import wallet_owner
from tests import factories
from tests.conftest import make_config, serve, stop
from tests.e2e.test_account_journey import assert_accessible
from tests.e2e.test_payment_journey import screenshot

pytestmark = pytest.mark.e2e

CARD = "6222020000000000018"


@pytest.fixture(scope="module")
def guest_portal(make_database):
    """(base URL): a water company with one bill per viewport, and the relative's funded wallet."""
    url = make_database()
    app = create_app(make_config(url, AGENCY_ADAPTERS={"water-pay": {"adapter": "local"}}))
    with app.test_request_context():
        session = get_session()
        factories.bind(session)
        water = factories.AgencyFactory(code="water-pay", name_zh="测试水务", name_en="Test Water")
        owner = factories.UserFactory(phone="13700002001", real_name="李秀英", locale="zh_CN")
        wallet = wallet_service(session)
        wallet.open_wallet(wallet_owner(owner), owner.verification_tier.value)
        card = wallet.link_card(wallet_owner(owner), CARD).reference
        wallet.top_up(wallet_owner(owner), 50_000, card=card, idempotency_key="guest-e2e")
        for n in range(2):
            factories.BillFactory(
                agency=water,
                account_reference="3100200500",
                bill_no=f"G-{n}",
                amount_fen=3_150,
                payer_name="李秀英",
            )
        session.commit()
    server, base_url = serve(app)
    yield base_url
    stop(server)
    app.extensions["portal.db"].dispose()


def test_a_visitor_pays_a_bill_from_a_relatives_wallet(page, browser, guest_portal):
    base_url = guest_portal
    bill = "G-0" if page.viewport_size["width"] >= 1280 else "G-1"
    page.goto(f"{base_url}/bills/water-pay?account_reference=3100200500")
    expect(page.get_by_text("李*英").first).to_be_visible()  # masked on the lookup
    page.get_by_role("button", name=f"用数字人民币钱包缴纳账单 {bill}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("用数字人民币钱包缴费")
    expect(page.locator("main")).to_contain_text("¥31.50")
    page.locator("#wallet").fill("137 0000 2001")
    assert_accessible(page)
    screenshot(page, "guest-wallet")
    page.get_by_role("button", name="发送验证码").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("输入验证码")
    owner_phone = browser.new_context().new_page()  # what the owner's phone shows: the development outbox
    owner_phone.goto(f"{base_url}/dev/outbox")
    text = owner_phone.locator("tbody tr").filter(has_text=bill).first.inner_text()
    code = re.search(r"请把验证码告诉对方：(\d{6})", text).group(1)
    owner_phone.context.close()
    page.locator("#code").fill(f"{(int(code) + 1) % 1_000_000:06d}")
    page.get_by_role("button", name="支付 ¥31.50").click()
    expect(page.get_by_text("验证码不正确，还可尝试 2 次。").first).to_be_visible()
    page.locator("#code").fill(code)
    assert_accessible(page)
    screenshot(page, "guest-code")
    page.get_by_role("button", name="支付 ¥31.50").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("已支付：¥31.50")
    assert_accessible(page)
    screenshot(page, "guest-done")
    page.get_by_role("link", name="查看并核验凭证").click()
    expect(page.locator("main")).to_contain_text("¥31.50")
    page.goto(f"{base_url}/bills/water-pay?account_reference=3100200500")
    expect(page.locator("main")).not_to_contain_text("李秀英")  # later lookups: still masked

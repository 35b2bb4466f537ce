"""A dispute in Chinese, in Chromium at desktop and phone widths, with axe-core scans: a resident raises
one on a paid water bill with a photo, finance sends it to the water company, its clerk answers,
finance refunds the bill from the dispute and the resident accepts. Each person has a browser of their
own. Set SCREENSHOT_DIR to keep dispute-new.png, dispute-case.png and dispute-closed.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal import create_app
from portal.bills.selection import Selection
from portal.db import get_session
from portal.payments import checkout
from portal.payments import services as payments
from portal.wallet.factory import wallet_service
from portal.wallet.owners import wallet_owner
from tests import factories
from tests.conftest import make_config, serve, stop
from tests.disputes.files import image
from tests.e2e.test_account_journey import assert_accessible
from tests.e2e.test_payment_journey import screenshot
from tests.e2e.test_two_factor_journey import enter_security_code

pytestmark = pytest.mark.e2e

CARD = "6222020000000000018"
VIEWPORTS = {1280: "desktop", 390: "phone"}


@pytest.fixture(scope="module")
def dispute_portal(make_database):
    """(base URL, people by viewport): per viewport a resident with one paid water bill, a finance
    officer and a clerk of the water company (a security code is used once per person)."""
    url = make_database()
    app = create_app(make_config(url, AGENCY_ADAPTERS={"water-pay": {"adapter": "local"}}))
    people = {}
    with app.test_request_context():
        session = get_session()
        factories.bind(session)
        water = factories.AgencyFactory(code="water-pay", name_zh="测试水务", name_en="Test Water")
        for n, name in enumerate(VIEWPORTS.values()):
            resident = factories.UserFactory(phone=f"1370000100{n}", real_name="张小三", locale="zh_CN")
            wallet = wallet_service(session)
            owner = wallet_owner(resident)
            wallet.open_wallet(owner, resident.verification_tier.value)
            card = wallet.link_card(owner, CARD).reference
            wallet.top_up(owner, 50_000, card=card, idempotency_key=f"dispute-e2e-{n}")
            household = f"310020040{n}"
            factories.BillFactory(
                agency=water, account_reference=household, bill_no=f"W-{n}", amount_fen=4_680
            )
            quote = checkout.quote(
                session, [Selection("water-pay", (("account_reference", household),), f"W-{n}")], "zh_CN"
            )
            payment = payments.pay(session, wallet, resident, quote, payments.chosen_amounts(quote, {}))
            people[name] = {
                "resident": resident.phone,
                "payment": payment.reference,
                "finance": factories.FinanceFactory(email=f"finance-{name}@city.example.cn").email,
                "clerk": factories.ClerkFactory(email=f"clerk-{name}@water.example.cn", agency=water).email,
            }
        session.commit()
    server, base_url = serve(app)
    yield base_url, people
    stop(server)
    app.extensions["portal.db"].dispose()


def _browser_of(page, browser, base_url: str, who: str, staff: bool):
    """A browser of this person's own at the page's width, logged in (in Chinese, the default)."""
    context = browser.new_context(viewport=page.viewport_size)
    own = context.new_page()
    own.goto(base_url + "/account/login")
    own.locator("#identifier").fill(who)
    own.locator("#password").fill(factories.DEFAULT_PASSWORD)
    own.locator("main form button[type=submit]").click()
    if staff:
        enter_security_code(own, factories.TOTP_SECRET, who)
    expect(own.locator("html")).to_have_attribute("lang", "zh-CN")
    return own


def test_a_resident_disputes_a_bill_and_finance_refunds_it(page, browser, dispute_portal):
    base_url, people = dispute_portal
    mine = people[VIEWPORTS[page.viewport_size["width"]]]
    resident = _browser_of(page, browser, base_url, mine["resident"], staff=False)

    resident.goto(f"{base_url}/payments/{mine['payment']}")
    resident.get_by_role("link", name="有问题？就这笔缴费提交争议").click()
    expect(resident.get_by_role("heading", level=1)).to_contain_text("提交争议")
    resident.get_by_label("已缴费，但机构仍显示未缴").check()
    resident.locator("#description").fill("我已缴费，但水务公司仍显示账单未缴。")
    resident.locator("#attachment").set_input_files(
        files=[{"name": "付款截图.png", "mimeType": "image/png", "buffer": image()}]
    )
    assert_accessible(resident)
    screenshot(resident, "dispute-new")
    resident.get_by_role("button", name="提交争议", exact=True).click()
    expect(resident.get_by_text(re.compile(r"争议 D\w+ 已提交"))).to_be_visible()
    reference = resident.url.rsplit("/", 1)[1]
    expect(resident.get_by_text("平台财务处正在查看您的争议。")).to_be_visible()

    finance = _browser_of(page, browser, base_url, mine["finance"], staff=True)
    finance.get_by_role("navigation", name="主菜单").get_by_role("link", name="争议").click()
    finance.get_by_role("link", name=reference).click()
    finance.locator("#note").fill("请核对该账单的缴费记录。")
    finance.get_by_role("button", name="转交机构").click()
    expect(finance.get_by_text("已转交机构。")).to_be_visible()

    clerk = _browser_of(page, browser, base_url, mine["clerk"], staff=True)
    clerk.get_by_role("navigation", name="主菜单").get_by_role("link", name="争议").click()
    clerk.get_by_role("link", name=reference).click()
    expect(clerk.get_by_role("link", name="居民上传的文件：付款截图.png")).to_be_visible()
    clerk.locator("#text").fill("系统漏记了这笔缴费，现已补录。")
    clerk.get_by_role("button", name="发送答复").click()
    expect(clerk.get_by_text("答复已发送。")).to_be_visible()

    finance.reload()
    finance.locator("input[name=outcome][value=refunded]").check()
    expect(finance.locator("#amount")).to_have_value("46.80")
    finance.locator("#reason").fill("机构补录期间先行退款。")
    assert_accessible(finance)
    screenshot(finance, "dispute-case")
    finance.get_by_role("button", name="处理争议").click()
    expect(finance.get_by_text("争议已处理。", exact=True)).to_be_visible()

    resident.reload()
    answer = resident.locator(".summary-list__row").filter(has=resident.get_by_text("机构答复", exact=True))
    expect(answer.locator("dd")).to_have_text("系统漏记了这笔缴费，现已补录。")
    decision = resident.locator(".summary-list__row").filter(has=resident.get_by_text("处理结果", exact=True))
    expect(decision.locator("dd")).to_contain_text("机构补录期间先行退款。")
    resident.get_by_role("button", name="我接受：关闭争议").click()
    expect(resident.get_by_text("争议已关闭，谢谢。")).to_be_visible()
    assert_accessible(resident)
    screenshot(resident, "dispute-closed")
    resident.goto(f"{base_url}/wallet/")
    expect(resident.locator("main")).to_contain_text("¥500.00")  # the ¥46.80 came back
    for other in (resident, finance, clerk):
        other.context.close()

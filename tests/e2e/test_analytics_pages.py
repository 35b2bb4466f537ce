"""A finance officer reads the analytics pages in Chinese, in Chromium at both widths, with an axe-core
scan: the adoption table, the channel mix with its chart, "<10" for the counter's two payers, and a CSV
of the same figures. Set SCREENSHOT_DIR to keep analytics-adoption.png and analytics-behaviour.png."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal import create_app
from portal.accounts.models import User
from portal.agencies.models import Agency, AgencyCategory
from portal.analytics import rollup
from portal.authz import Role
from portal.clock import business_day
from portal.db import utcnow
from portal.payments.models import PaymentChannel
from tests.analytics.conftest import beijing, pay
from tests.conftest import make_config, serve, stop
from tests.e2e.test_account_journey import PASSWORD, assert_accessible
from tests.e2e.test_payment_journey import screenshot
from tests.e2e.test_two_factor_journey import enter_security_code
from tests.factories import TOTP_SECRET, password_hash

pytestmark = pytest.mark.e2e

FINANCE = "analytics-finance@city.example.cn"


def _seed(app, day) -> None:
    with app.app_context(), app.extensions["portal.db"].write_transaction() as session:
        water = Agency(
            code="water-an", name_zh="分析水务", name_en="Analytics Water", category=AgencyCategory.WATER
        )
        session.add(water)
        session.add(
            User(
                role=Role.FINANCE,
                email=FINANCE,
                password_hash=password_hash(PASSWORD),
                totp_secret=TOTP_SECRET,
                totp_enabled_at=utcnow(),
            )
        )
        residents = [User(role=Role.RESIDENT, phone=f"1361000{n:04d}", password_hash="x") for n in range(14)]
        session.add_all(residents)
        session.flush()
        for hour, person in enumerate(residents, start=7):
            pay(session, person, beijing(day, hour % 24), [(water, 2_500, 0, day)])
        for _ in range(2):
            pay(session, None, beijing(day, 10), [(water, 800, 0, None)], channel=PaymentChannel.COUNTER)
        rollup.roll_up_day(session, day)


@pytest.fixture(scope="module")
def analytics_portal(make_database):
    url = make_database()
    app = create_app(make_config(url, AGENCY_ADAPTERS={"water-an": {"adapter": "local"}}))
    day = business_day(utcnow())
    _seed(app, day)
    server, base_url = serve(app)
    yield base_url, day, app
    stop(server)
    app.extensions["portal.db"].dispose()


def log_in(page, base_url: str) -> None:
    page.goto(base_url + "/account/login")
    page.get_by_label("手机号码或电子邮箱").fill(FINANCE)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    enter_security_code(page, TOTP_SECRET, FINANCE)


def test_finance_reads_the_analytics_pages_in_chinese(page, analytics_portal):
    base_url, day, _app = analytics_portal
    log_in(page, base_url)

    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="报表").click()
    page.get_by_role("navigation", name="报表").get_by_role("link", name="数据分析").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("数据分析：使用情况")
    today = page.get_by_role("row", name=day.isoformat())
    expect(today).to_contain_text("¥350.00")  # 14 payments of ¥25 by residents
    expect(today).to_contain_text("14")
    assert_accessible(page)
    screenshot(page, "analytics-adoption")

    page.get_by_role("navigation", name="数据分析").get_by_role("link", name="缴费行为").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("数据分析：缴费行为")
    mix = page.get_by_role("table", name="渠道构成")
    expect(mix.get_by_role("row", name="平台")).to_contain_text("14")
    expect(mix.get_by_role("row", name="服务大厅窗口")).to_contain_text("<10")  # two counter payers
    expect(page.get_by_role("img", name="各渠道缴费笔数").first).to_be_visible()
    assert_accessible(page)
    screenshot(page, "analytics-behaviour")

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV", exact=True).first.click()
    with open(download.value.path(), encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))
    assert rows[0][0] == "渠道" and [row[1] for row in rows[1:]] == ["14", "<10"]

    page.get_by_role("navigation", name="数据分析").get_by_role("link", name="活动成效").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("数据分析：活动成效")
    cohort = page.get_by_role("table", name="按首次缴费月份划分的群组").get_by_role(
        "row", name=day.strftime("%Y-%m")
    )
    expect(cohort).to_contain_text("14")  # this month's first-time payers
    assert_accessible(page)
    screenshot(page, "analytics-promotions")


def test_the_live_page_receives_a_new_payment_without_a_reload(page, analytics_portal):
    base_url, _day, app = analytics_portal
    log_in(page, base_url)
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="报表").click()
    page.get_by_role("navigation", name="报表").get_by_role("link", name="数据分析").click()
    page.get_by_role("navigation", name="数据分析").get_by_role("link", name="实时").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("数据分析：实时概况")
    last_five_minutes = page.locator("[data-live-panel] tbody tr").first.locator("td").first
    before = last_five_minutes.inner_text()
    assert_accessible(page)
    page.evaluate("window.liveMarker = 1")  # gone if the page reloads

    now = utcnow()
    with app.app_context(), app.extensions["portal.db"].write_transaction() as session:
        water = session.scalar(select(Agency).where(Agency.code == "water-an"))
        for n in range(10):
            person = User(
                role=Role.RESIDENT,
                phone=f"1362{1 if page.viewport_size['width'] >= 1280 else 2}{n:06d}",
                password_hash="x",
            )
            session.add(person)
            session.flush()
            pay(session, person, now, [(water, 1_234, 0, None)])

    expect(last_five_minutes).not_to_have_text(before, timeout=15_000)
    # Ten new payers (and the other width's, the server being shared): at least 10, so shown.
    expect(last_five_minutes).to_have_text(re.compile(r"^[1-9]\d+$"))
    assert page.evaluate("window.liveMarker") == 1
    screenshot(page, "analytics-live")

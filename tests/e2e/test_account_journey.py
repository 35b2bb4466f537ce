"""A resident registers, logs out, logs in, switches language and logs out, in a real browser.
Every page visited is scanned with axe-core; serious and critical violations fail the test."""

from __future__ import annotations

import itertools

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

AXE = Axe()
_numbers = itertools.count(1)
PASSWORD = "spring river mountain lantern"


def assert_accessible(page) -> None:
    results = AXE.run(page)
    serious = [
        f"{violation['id']}: {violation['help']} at {[node['target'] for node in violation['nodes']]}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == [], f"{page.url}: {serious}"


def test_register_login_switch_language_logout(page, live_server):
    mobile = f"1370{next(_numbers):07d}"

    page.goto(live_server + "/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("在线缴纳城市各类账单")
    assert_accessible(page)

    page.get_by_role("navigation").get_by_role("link", name="注册").click()
    expect(page).to_have_url(live_server + "/account/register")
    assert_accessible(page)

    # Bad input first: the error summary takes focus and links to the field.
    page.get_by_label("手机号码或电子邮箱").fill("12345")
    page.get_by_label("设置密码").fill("short")
    page.get_by_label("确认密码").fill("short")
    page.get_by_role("button", name="注册", exact=True).click()
    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("密码")
    assert_accessible(page)

    page.get_by_label("手机号码或电子邮箱").fill(mobile)
    page.get_by_label("设置密码").fill(PASSWORD)
    page.get_by_label("确认密码").fill(PASSWORD)
    page.get_by_role("button", name="注册", exact=True).click()
    expect(page).to_have_url(live_server + "/account/")
    expect(page.get_by_role("alert")).to_contain_text("注册")
    expect(page.get_by_text(mobile[:3] + "****" + mobile[-4:])).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("navigation").get_by_role("link", name="登录")).to_be_visible()

    page.get_by_role("navigation").get_by_role("link", name="登录").click()
    assert_accessible(page)
    page.get_by_label("手机号码或电子邮箱").fill(mobile)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(live_server + "/account/")

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")
    assert_accessible(page)

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("alert")).to_contain_text("You have logged out")
    expect(page.get_by_role("navigation").get_by_role("link", name="Log in")).to_be_visible()
    page.goto(live_server + "/account/")
    expect(page).to_have_url(live_server + "/account/login?next=%2Faccount%2F")
    assert_accessible(page)

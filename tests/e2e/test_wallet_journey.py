"""A resident links a sandbox card, tops up (double-clicking), withdraws and downloads the statement,
in Chromium, with an axe-core scan of every wallet page."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.test_account_journey import PASSWORD, assert_accessible

pytestmark = pytest.mark.e2e


def register(page, live_server, mobile):
    page.goto(live_server + "/language/en?next=/account/register")
    page.get_by_label("Mobile number or e-mail address").fill(mobile)
    page.get_by_label("Create a password").fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(live_server + "/account/")


def test_link_card_top_up_withdraw_and_statement(page, live_server, request):
    mobile = "1371" + str(abs(hash(request.node.name)) % 10**7).zfill(7)
    register(page, live_server, mobile)

    page.get_by_role("link", name="My wallet", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My wallet")
    expect(page.get_by_text("no real money moves")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Top up", exact=True).click()
    expect(page).to_have_url(live_server + "/wallet/cards/new")
    page.get_by_label("Bank card number").fill("6222 0200 0000 0000 019")
    page.get_by_role("button", name="Link card").click()
    expect(page.get_by_role("alert").first).to_contain_text("not valid")
    assert_accessible(page)
    page.get_by_label("Bank card number").fill("6222 0200 0000 0000 018")
    page.get_by_role("button", name="Link card").click()
    expect(page.get_by_role("alert")).to_contain_text("**** 0018")

    page.get_by_role("link", name="Top up", exact=True).click()
    assert_accessible(page)
    page.get_by_label("Amount (yuan)").fill("１,２３4.50")
    page.get_by_role("button", name="Top up").dblclick()
    expect(page).to_have_url(live_server + "/wallet/")
    expect(page.locator(".balance-figure")).to_have_text("¥1,234.50")

    page.get_by_role("link", name="Withdraw to bank card").click()
    page.get_by_label("Amount (yuan)").fill("2000")
    page.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_role("alert").first).to_contain_text("is not enough")
    assert_accessible(page)
    page.get_by_label("Amount (yuan)").fill("34.50")
    page.get_by_role("button", name="Withdraw").click()
    expect(page.locator(".balance-figure")).to_have_text("¥1,200.00")

    page.get_by_role("link", name="Statement").click()
    expect(page.get_by_text("2 entries")).to_be_visible()
    assert_accessible(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download as CSV").click()
    content = Path(download_info.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert len(content) == 3 and content[1].split(",")[2:4] == ["-34.50", "1200.00"]

"""Anyone looks up a water bill and a traffic fine in Chromium, with an axe-core scan of each page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_account_journey import assert_accessible

pytestmark = pytest.mark.e2e


def test_look_up_a_water_bill_and_a_traffic_fine(page, live_server):
    page.goto(live_server + "/language/en?next=/")
    page.get_by_role("navigation").get_by_role("link", name="Look up a bill").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Look up a bill")
    assert_accessible(page)

    page.get_by_role("link", name="City Water Company").click()
    page.get_by_label("Household account number").fill("12")
    page.get_by_role("button", name="Find bills").click()
    expect(page.get_by_role("alert")).to_contain_text("household account number")
    assert_accessible(page)
    page.get_by_label("Household account number").fill("3100200300")
    page.get_by_role("button", name="Find bills").click()
    expect(page.locator("table tbody tr")).to_have_count(2)
    expect(page.get_by_role("table")).to_contain_text("¥46.80")
    expect(page.get_by_role("table")).to_contain_text("张*三")
    assert_accessible(page)

    page.get_by_role("link", name="Choose another agency").click()
    page.get_by_role("link", name="City Traffic Police").click()
    page.get_by_label("Licence plate").fill("渝A12345")
    page.get_by_label("Penalty notice number").fill("5001012026000123")
    page.get_by_role("button", name="Find bills").click()
    table = page.get_by_role("table")
    expect(table).to_contain_text("¥200.00")
    expect(table).to_contain_text("¥30.00")  # the late fee, 5 days after the 15 allowed
    expect(table).to_contain_text("Overdue")
    assert_accessible(page)

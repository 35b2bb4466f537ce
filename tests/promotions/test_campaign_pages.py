"""Campaign pages and checkout through HTTP: the review page shows the discount before confirmation,
the confirmation pays it, admins propose and a second admin approves, finance downloads the report."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.clock import business_day
from portal.db import utcnow
from portal.notify.models import Notification
from portal.notify.services import save_preferences
from portal.payments.models import Payment
from portal.promotions.models import Campaign, CampaignState
from tests.conftest import csrf_token_from, login, logout
from tests.factories import AdminFactory, FinanceFactory, UserFactory
from tests.payments import conftest as payment_fixtures
from tests.payments.conftest import confirm_form, fund, review
from tests.promotions.campaign_helpers import running_campaign

TODAY = business_day(utcnow())
water = payment_fixtures.water  # the water agency with bills W-1 and W-2


@pytest.fixture
def shopper(app, client, db, water):
    user = UserFactory(phone="13900000077")
    fund(app, db, user, 50_000)
    client.get("/language/en")
    login(client, "13900000077")
    return user


def test_review_shows_the_discount_and_confirming_pays_it(app, client, db, water, shopper):
    with app.app_context():
        running_campaign(db, amount_off_fen=500, name_en="Winter saver")

    page = review(client, ["W-2"]).get_data(as_text=True)
    assert "Winter saver" in page
    assert "−¥5.00" in page and "¥15.00" in page  # ¥20.00 bill, ¥5.00 from the campaign

    response = client.post("/payments/confirm", data=confirm_form(page))

    assert response.status_code == 302
    payment = db.scalar(select(Payment).where(Payment.user_id == shopper.id))
    assert (payment.total_fen, payment.discount_fen) == (2_000, 500)
    detail = client.get(response.location).get_data(as_text=True)
    assert "¥15.00 left your wallet" in detail
    assert "Paid from the wallet</dt><dd>¥15.00" in detail
    assert "Paid by a wallet campaign</dt><dd>¥5.00 · Winter saver" in detail


def test_a_spent_budget_between_review_and_confirm_shows_the_new_amounts_and_pays_nothing(
    app, client, db, water, shopper
):
    with app.app_context():
        campaign = running_campaign(db, amount_off_fen=500, budget_fen=600)
    page = review(client, ["W-2"]).get_data(as_text=True)
    campaign.spent_fen = 400  # somebody else's payment took most of it meanwhile
    db.flush()  # the confirmation reads the campaign row from the database

    response = client.post("/payments/confirm", data=confirm_form(page))

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "changed to ¥2.00" in html and "−¥2.00" in html
    assert db.scalar(select(Payment).where(Payment.user_id == shopper.id)) is None


def test_an_admin_proposes_and_a_second_admin_approves(app, client, db):
    AdminFactory(email="maker@city.example.cn")
    AdminFactory(email="checker@city.example.cn")
    resident = UserFactory(phone="13900000088")
    save_preferences(db, resident, reminders=True, sms=False, email=False, campaigns=True)
    client.get("/language/en")
    login(client, "maker@city.example.cn")
    form_page = client.get("/admin/campaigns/new").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token_from(form_page),
        "name_zh": "春季立减",
        "name_en": "Spring saver",
        "first_day": (TODAY + timedelta(days=4)).isoformat(),
        "last_day": (TODAY + timedelta(days=34)).isoformat(),
        "categories": ["water", "gas"],
        "rule": "percent_off",
        "percent": "12.5",
        "cap": "10",
        "per_resident_uses": "2",
        "budget": "5,000",
    }

    response = client.post("/admin/campaigns/new", data=data)

    assert response.status_code == 302
    campaign = db.scalar(select(Campaign).where(Campaign.name_en == "Spring saver"))
    assert (campaign.percent_bp, campaign.cap_fen, campaign.budget_fen) == (1_250, 1_000, 500_000)
    assert campaign.categories == "gas water"
    own_page = client.get(response.location).get_data(as_text=True)
    assert "a second admin must approve" in own_page and "Approve and fund" not in own_page

    logout(client)
    login(client, "checker@city.example.cn")
    page = client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    client.post(f"/admin/campaigns/{campaign.id}/approve", data={"csrf_token": csrf_token_from(page)})

    db.expire_all()
    assert campaign.state is CampaignState.ACTIVE
    news = db.scalar(select(Notification).where(Notification.user_id == resident.id))
    assert news.kind == "campaign" and "Spring saver" in news.params_json

    detail = client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    end = f"/admin/campaigns/{campaign.id}/end"
    asked = client.post(end, data={"csrf_token": csrf_token_from(detail)})
    db.expire_all()
    assert asked.status_code == 200 and "End “Spring saver” now?" in asked.get_data(as_text=True)
    assert campaign.state is CampaignState.ACTIVE  # asked once more, nothing done yet
    client.post(end, data={"csrf_token": csrf_token_from(detail), "confirmed": "yes"})
    db.expire_all()
    assert campaign.state is CampaignState.ENDED


def test_bad_campaign_input_is_explained_on_the_page(app, client, db):
    AdminFactory(email="maker@city.example.cn")
    client.get("/language/en")
    login(client, "maker@city.example.cn")
    page = client.get("/admin/campaigns/new").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token_from(page),
        "name_zh": "满减",
        "name_en": "Spend more",
        "first_day": (TODAY + timedelta(days=34)).isoformat(),
        "last_day": (TODAY + timedelta(days=4)).isoformat(),
        "rule": "spend_over",
        "amount_off": "10",
        "threshold": "5",
        "per_resident_uses": "1",
        "budget": "100",
    }
    response = client.post("/admin/campaigns/new", data=data)
    assert response.status_code == 200
    assert "The last day must be on or after the first day." in response.get_data(as_text=True)
    data["first_day"] = data["last_day"] = (TODAY - timedelta(days=1)).isoformat()
    html = client.post("/admin/campaigns/new", data=data).get_data(as_text=True)
    assert "The last day has passed" in html
    data["first_day"], data["last_day"] = TODAY.isoformat(), (TODAY + timedelta(days=30)).isoformat()
    html = client.post("/admin/campaigns/new", data=data).get_data(as_text=True)
    assert "The amount to spend must be more than the amount taken off." in html
    data["threshold"] = ""
    html = client.post("/admin/campaigns/new", data=data).get_data(as_text=True)
    assert "Enter the amount the bills must come to." in html
    assert db.scalar(select(Campaign)) is None


def test_finance_downloads_the_campaign_report(app, client, db, water, shopper):
    with app.app_context():
        campaign = running_campaign(db, amount_off_fen=500, name_en="=cmd|' /C calc'!A0")
    page = review(client, ["W-2"]).get_data(as_text=True)
    client.post("/payments/confirm", data=confirm_form(page))
    logout(client)
    FinanceFactory(email="finance@city.example.cn")
    login(client, "finance@city.example.cn")

    response = client.get(f"/reports/campaigns/{campaign.id}.csv")

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    figures = {row[0]: row[1:] for row in rows if row}
    assert figures["Uses"] == ["1"] and figures["Residents reached"] == ["1"]
    assert figures["Spent (yuan)"] == ["5.00"] and figures["Budget left (yuan)"] == ["995.00"]
    assert rows[0][3].startswith("'=")  # a formula in a name stays text in a spreadsheet
    day_rows = [row for row in rows if row and re.fullmatch(r"\d{4}-\d{2}-\d{2}", row[0])]
    assert [row[1:] for row in day_rows] == [["water-pay", "Test Water", "1", "5.00", "0.00"]]

"""A campaign against the same days before it, the new payers it brought, what each cost and how many
kept paying, and the cohort table by month of first payment: every figure computed by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal.agencies.models import AgencyCategory
from portal.analytics import campaigns, figures
from portal.analytics.figures import Span
from portal.analytics.models import CampaignFigures
from portal.clock import business_day, day_bounds
from portal.db import utcnow
from portal.promotions.models import Campaign, CampaignRule, CampaignState, CampaignUse
from tests.analytics.conftest import beijing, pay
from tests.conftest import login
from tests.factories import AdminFactory, AgencyFactory, UserFactory


def months_back(day: date, n: int) -> date:
    month = day.replace(day=1)
    for _ in range(n):
        month = (month - timedelta(days=1)).replace(day=1)
    return month


def months_on(month: date, n: int) -> date:
    for _ in range(n):
        month = (month + timedelta(days=32)).replace(day=1)
    return month


@pytest.fixture
def promoted(app, db):
    """A 10-day campaign four months ago: 12 residents' first payments, 2 of 3 earlier payers discounted."""
    m0 = months_back(business_day(utcnow()), 4)
    water = AgencyFactory(code="promo-water", category=AgencyCategory.WATER)
    admin = AdminFactory()
    campaign = Campaign(
        code="AN-PROMO",
        name_zh="新用户立减",
        name_en="New payers' discount",
        starts_at=day_bounds(m0 + timedelta(days=5))[0],
        ends_at=day_bounds(m0 + timedelta(days=14))[1],
        rule=CampaignRule.FIRST_PAYMENT,
        amount_off_fen=200,
        budget_fen=100_000,
        state=CampaignState.ACTIVE,
        created_by_id=admin.id,
    )
    db.add(campaign)
    db.flush()

    def discounted(person, day):
        payment = pay(db, person, beijing(day, 10), [(water, 1_000, 0, None)])
        db.add(
            CampaignUse(campaign_id=campaign.id, user_id=person.id, payment_id=payment.id, discount_fen=200)
        )

    new = [UserFactory() for _ in range(12)]
    for index, person in enumerate(new):
        discounted(person, m0 + timedelta(days=6))
        if index < 11:
            pay(db, person, beijing(months_on(m0, 1) + timedelta(days=3), 10), [(water, 1_000, 0, None)])
        if index < 5:
            pay(db, person, beijing(months_on(m0, 2) + timedelta(days=3), 10), [(water, 1_000, 0, None)])
    old = [UserFactory() for _ in range(3)]
    for index, person in enumerate(old):
        pay(db, person, beijing(m0 + timedelta(days=1), 10), [(water, 1_000, 0, None)])  # before it
        if index < 2:
            discounted(person, m0 + timedelta(days=7))
        else:
            pay(db, person, beijing(m0 + timedelta(days=7), 10), [(water, 1_000, 0, None)])
    db.flush()
    with app.app_context():
        for n in range(5):
            campaigns.write_cohorts(db, months_on(m0, n))
        campaigns.roll_up_campaign(db, campaign, utcnow())
    return campaign, m0


def test_a_campaign_against_the_days_before_it_with_its_new_payers(app, db, promoted):
    campaign, m0 = promoted
    row = db.get(CampaignFigures, campaign.id)
    assert row.days == 10
    assert (row.payments_during, row.payers_during, row.amount_during_fen) == (15, 15, 15_000)
    assert (row.payments_before, row.payers_before, row.amount_before_fen) == (3, 3, 3_000)
    assert (row.uses, row.users, row.cost_fen, row.new_payers) == (14, 14, 2_800, 12)
    assert (row.kept_month_1, row.kept_month_2, row.kept_month_3) == (11, 5, 0)

    span = Span.of(m0, months_on(m0, 1), "month")
    [shown] = figures.campaign_rows(db, span, "en")
    assert shown.name == "New payers' discount" and shown.cost_per_new_payer_fen.value == 233  # ¥28 / 12
    assert shown.payers_before.cell() == "<10" and shown.kept[1].cell() == "<10" and shown.kept[2].cell() == 0
    assert shown.new_payers.cell() == 12 and shown.kept[0].cell() == 11


def test_the_cohort_table_by_month_of_first_payment(app, db, promoted):
    _campaign, m0 = promoted
    [first, *_later] = figures.cohorts(db, Span.of(m0, m0, "month"), business_day(utcnow()))
    assert first.month == m0 and first.first_payers.value == 15  # the 12 new and the 3 earlier payers
    assert [cell.cell() for cell in first.kept[:3]] == [11, "<10", 0]
    assert first.kept[3].cell() == 0 and first.kept[4] is None  # this month; next month has not come


def test_the_promotions_page_and_its_exports(app, db, promoted):
    _campaign, m0 = promoted
    client = app.test_client()
    client.get("/language/en")
    login(client, AdminFactory().email)
    query = f"date_from={m0.isoformat()}&date_to={months_on(m0, 1).isoformat()}&grain=month"
    page = client.get(f"/analytics/promotions?{query}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "New payers&#39; discount" in html and "¥2.33" in html and "¥28.00" in html
    cohorts = client.get(f"/analytics/cohorts.csv?{query}").get_data(as_text=True).splitlines()
    assert cohorts[1].startswith(f"{m0.isoformat()},15,11,<10,0")
    assert client.get(f"/analytics/campaigns.xlsx?{query}").status_code == 200


def test_campaigns_are_followed_for_three_months_after_their_end(app, db, promoted):
    campaign, _m0 = promoted
    assert campaign in campaigns.campaigns_due(db, campaign.ends_at + timedelta(days=90))
    assert campaign not in campaigns.campaigns_due(db, campaign.ends_at + timedelta(days=130))
    assert campaign not in campaigns.campaigns_due(db, campaign.starts_at - timedelta(days=1))

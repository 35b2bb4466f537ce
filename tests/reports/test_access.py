"""Who sees which report: finance and admin everything, a clerk their agency's collections, residents
nothing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from tests.conftest import login, logout
from tests.factories import AdminFactory, ClerkFactory, UserFactory
from tests.reports.conftest import local_agency

MOMENT = datetime(2026, 3, 5, 2, tzinfo=UTC)
RANGE = "date_from=2026-03-01&date_to=2026-03-31"
FINANCE_ONLY = [
    "/reports/",
    "/reports/settlements?day=2026-03-05",
    f"/reports/reconciliation?{RANGE}",
]
COLLECTIONS = [
    f"/reports/collections?{RANGE}",
    f"/reports/collections.csv?{RANGE}",
    f"/reports/collections.xlsx?{RANGE}",
    f"/reports/collections.pdf?{RANGE}",
]


@pytest.fixture
def two_agencies(app, db, payments):
    mine = local_agency(app, "water-a", name_en="Water A")
    theirs = local_agency(app, "gas-a", name_en="Gas A")
    payments.pay(mine, 1_000, MOMENT)
    payments.pay(theirs, 9_000, MOMENT)
    return mine, theirs


@pytest.mark.parametrize("path", FINANCE_ONLY + COLLECTIONS)
def test_residents_see_no_report(client, db, path):
    UserFactory(phone="13900000555")
    login(client, "13900000555")
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", FINANCE_ONLY + COLLECTIONS)
def test_anonymous_visitors_are_sent_to_log_in(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


@pytest.mark.parametrize("path", FINANCE_ONLY[1:])
def test_clerks_see_no_settlement_or_reconciliation(client, db, two_agencies, path):
    clerk = ClerkFactory(agency=two_agencies[0])
    login(client, clerk.email)
    assert client.get(path).status_code == 403


def test_a_clerk_sees_only_their_agency_whatever_the_query_says(client, db, two_agencies):
    clerk = ClerkFactory(agency=two_agencies[0])
    client.get("/language/en")
    login(client, clerk.email)

    page = client.get(f"/reports/collections?{RANGE}&agency=gas-a").get_data(as_text=True)
    export = client.get(f"/reports/collections.csv?{RANGE}&agency=gas-a").get_data().decode("utf-8-sig")

    assert "Water A" in page and "Gas A" not in page and "¥90.00" not in page
    rows = list(csv.reader(io.StringIO(export)))[1:]
    assert [row[3] for row in rows] == ["water-a"]
    assert client.get("/reports/").headers["Location"].endswith("/reports/collections")


def test_finance_and_admin_see_everything_but_only_finance_settles(client, db, two_agencies, finance):
    admin = AdminFactory()
    for user in (finance, admin):
        login(client, user.email)
        for path in FINANCE_ONLY + COLLECTIONS:
            assert client.get(path).status_code == 200, (user.role, path)
        logout(client)
    login(client, admin.email)
    page = client.get("/reports/settlements?day=2026-03-05").get_data(as_text=True)
    assert 'action="/reports/settlements"' not in page


@pytest.mark.parametrize("path", ["/reports/collections", "/reports/settlements", "/reports/reconciliation"])
def test_report_pages_open_on_their_default_days(client, db, finance, path):
    login(client, finance.email)
    page = client.get(path)
    assert page.status_code == 200
    assert 'type="date"' in page.get_data(as_text=True)

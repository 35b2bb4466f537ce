"""Bill lookups ask agencies' systems, so each client may only ask so often (RATELIMIT_LOOKUP)."""

import pytest

from tests.conftest import csrf_token_from, login
from tests.factories import AgencyFactory, BillFactory, UserFactory


@pytest.fixture
def water(app, db):
    app.config["AGENCY_ADAPTERS"] = {"water-limit": {"adapter": "local"}}
    app.config["RATELIMIT_LOOKUP"] = "3 per minute"
    agency = AgencyFactory(code="water-limit", name_en="Test Water")
    BillFactory(agency=agency, account_reference="3100200300", bill_no="W-1", amount_fen=4_680)
    return agency


def test_lookup_beyond_the_limit_gets_the_friendly_429_page(client, water):
    client.get("/language/en")
    path = "/bills/water-limit?account_reference=3100200300"

    statuses = [client.get(path).status_code for _ in range(4)]
    page = client.get(path)

    assert statuses == [200, 200, 200, 429]
    text = page.get_data(as_text=True)
    assert page.status_code == 429 and "Too many requests" in text and "Wait a minute" in text
    assert "Retry-After" in page.headers


def test_saved_accounts_dashboard_is_limited_per_resident(client, water):
    UserFactory(phone="13900000077")
    client.get("/language/en")
    login(client, "13900000077")

    statuses = [client.get("/bills/mine").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_saving_an_account_counts_as_a_lookup(client, water):
    """Saving with no nickname looks the bills up again, so it may not go round the lookup limit."""
    UserFactory(phone="13900000078")
    login(client, "13900000078")
    page = client.get("/bills/water-limit?account_reference=3100200300").get_data(as_text=True)
    data = {"account_reference": "3100200300", "nickname": "", "csrf_token": csrf_token_from(page)}

    statuses = [client.post("/bills/water-limit/save", data=data).status_code for _ in range(4)]

    assert statuses == [400, 400, 400, 429]


def test_switching_rate_limiting_off_lifts_the_limit(database_url, water):
    from portal import create_app
    from tests.conftest import make_config

    app = create_app(make_config(database_url, RATELIMIT_ENABLED=False, RATELIMIT_LOOKUP="1 per minute"))
    client = app.test_client()
    statuses = [client.get("/bills/nowhere").status_code for _ in range(3)]
    app.extensions["portal.db"].dispose()

    assert statuses == [404, 404, 404]

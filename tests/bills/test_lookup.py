import pytest

from config import sandbox_agencies
from portal.agencies.models import AgencyCategory
from portal.bills.local_agency import LocalAdapter
from portal.bills.models import StoredBillStatus
from tests.conftest import SANDBOX_SECRET
from tests.factories import AgencyFactory, BillFactory


@pytest.fixture
def water(app, db):
    app.config["AGENCY_ADAPTERS"] = {"water-test": {"adapter": "local"}}
    agency = AgencyFactory(code="water-test", name_en="Test Water")
    BillFactory(
        agency=agency,
        account_reference="3100200300",
        bill_no="W-1",
        payer_name="张小三",
        description="<script>alert(1)</script>",
        amount_fen=4_680,
        late_fee_fen=140,
    )
    return agency


def english(client):
    client.get("/language/en")


def test_lookup_lists_only_agencies_with_an_adapter(client, water):
    AgencyFactory(code="no-adapter", name_en="Offline Agency")
    english(client)

    page = client.get("/bills/").get_data(as_text=True)

    assert "Test Water" in page and "Offline Agency" not in page
    assert client.get("/bills/no-adapter").status_code == 404


def test_lookup_shows_bills_with_the_payer_masked_and_descriptions_as_text(client, water):
    english(client)

    page = client.get("/bills/water-test?account_reference=3100200300").get_data(as_text=True)

    assert "W-1" in page and "¥46.80" in page and "¥1.40" in page
    assert "张*三" in page and "张小三" not in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_malformed_reference_gets_a_message_next_to_the_field(client, water):
    english(client)

    page = client.get("/bills/water-test?account_reference=12-ab").get_data(as_text=True)

    assert 'href="#account_reference"' in page and "not in the form this agency uses" in page
    assert "Check the household account number:" in page  # the label in lower case inside a sentence
    empty = client.get("/bills/water-test?account_reference=").get_data(as_text=True)
    assert "Enter the household account number." in empty


def test_unknown_reference_says_no_bills_found(client, water):
    english(client)

    page = client.get("/bills/water-test?account_reference=999999999").get_data(as_text=True)

    assert "No bills were found" in page
    assert '<h2 id="results-title">No bills found</h2>' in page and "Bills found" not in page
    assert "Log in to pay" not in page


def test_paid_bills_offer_no_login_to_pay_them(client, db, water):
    english(client)
    BillFactory(agency=water, account_reference="5100200300", bill_no="PAID-1", status=StoredBillStatus.PAID)
    db.flush()

    page = client.get("/bills/water-test?account_reference=5100200300").get_data(as_text=True)

    assert "PAID-1" in page and "Log in to pay" not in page
    BillFactory(agency=water, account_reference="5100200300", bill_no="DUE-1")
    db.flush()
    assert "Log in to pay" in client.get("/bills/water-test?account_reference=5100200300").get_data(
        as_text=True
    )


def test_the_lookup_form_is_chinese_first(client, water):
    page = client.get("/bills/water-test").get_data(as_text=True)

    assert "户号" in page


def test_an_agency_that_fails_shows_a_clear_message_not_an_error_page(app, client, db):
    app.extensions["portal.agency_adapters"]["local-down"] = DownAdapter
    app.config["AGENCY_ADAPTERS"] = {"down-test": {"adapter": "local-down"}}
    AgencyFactory(code="down-test")
    english(client)

    response = client.get("/bills/down-test?account_reference=3100200300")

    assert response.status_code == 200
    assert "temporarily unavailable" in response.get_data(as_text=True)


class DownAdapter(LocalAdapter):
    """An agency whose system is down: it declares the local fields, but every lookup fails."""

    adapter_name = "local-down"

    def lookup(self, query):
        raise ConnectionError("connection refused by agency host")


@pytest.fixture
def traffic(app, db, sandbox):
    app.config["AGENCY_ADAPTERS"] = sandbox_agencies(sandbox, SANDBOX_SECRET)
    return AgencyFactory(code="traffic", name_en="Traffic Police", category=AgencyCategory.TRAFFIC)


def test_traffic_fine_from_the_sandbox_agency_with_its_late_fee(client, traffic):
    english(client)

    page = client.get("/bills/traffic?plate=渝a12345&notice_no=5001012026000123").get_data(as_text=True)

    assert "5001012026000123" in page and "¥200.00" in page and "¥30.00" in page
    assert "李*" in page and "Overdue" in page


def test_traffic_lookup_checks_both_fields(client, traffic):
    english(client)

    page = client.get("/bills/traffic?plate=ABC&notice_no=").get_data(as_text=True)

    assert 'href="#plate"' in page and 'href="#notice_no"' in page


def test_a_dead_agency_does_not_break_the_page(app, client, traffic):
    app.config["AGENCY_ADAPTERS"] = sandbox_agencies("http://127.0.0.1:9", SANDBOX_SECRET)
    english(client)

    response = client.get("/bills/traffic?plate=渝A12345&notice_no=5001012026000123")

    assert response.status_code == 200 and "temporarily unavailable" in response.get_data(as_text=True)
